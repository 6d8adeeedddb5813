import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { ControlPlane } from "../../control-plane/server.js";
import { Workflow, WorkflowExecution, WorkflowTemplate } from "../../entities/index.js";
import {
  errorBodySchema,
  nextCursorSchema,
  workflowExecutionViewSchema,
  workflowViewSchema,
  type WorkflowView,
} from "../../runtime/protocol/index.js";
import { api, createTestOrg, login, startTestControlPlane, type TestOrg } from "../support/harness.js";

const workflowOf = (body: unknown) => z.object({ workflow: workflowViewSchema }).parse(body).workflow;
const executionOf = (body: unknown) => z.object({ execution: workflowExecutionViewSchema }).parse(body).execution;
const workflowPage = z.object({ workflows: z.array(workflowViewSchema), nextCursor: nextCursorSchema });
const executionPage = z.object({ executions: z.array(workflowExecutionViewSchema), nextCursor: nextCursorSchema });
const errorOf = (body: unknown) => errorBodySchema.parse(body).error;

/** React Flow JSON as the console saves it, including UI fields the API keeps but doesn't check. */
const graph = {
  nodes: [
    { id: "start", type: "input", position: { x: 0, y: 0 }, data: { label: "Start" }, measured: { width: 150, height: 40 } },
    { id: "agent", type: "agent", position: { x: 0, y: 120 }, data: { prompt: "summarise" }, selected: false },
  ],
  edges: [{ id: "e1", source: "start", target: "agent", sourceHandle: null, animated: true }],
};

describe("workflows and workflow executions over HTTP", () => {
  let cp: ControlPlane;
  let org: TestOrg;
  let other: TestOrg;
  let cookie: string;
  let otherCookie: string;
  const base = () => `/api/orgs/${org.orgId}`;
  type Options = { method?: string; body?: unknown };
  const call = (path: string, options: Options = {}) => api(cp.url, path, { cookie, ...options });

  async function createWorkflow(body: Record<string, unknown>): Promise<WorkflowView> {
    const response = await call(`${base()}/workflows`, { body: { name: `wf ${randomUUID()}`, ...body } });
    expect(response.status).toBe(201);
    return workflowOf(response.body);
  }

  beforeAll(async () => {
    cp = await startTestControlPlane();
    org = await createTestOrg(cp, { agents: [] });
    other = await createTestOrg(cp, { agents: [] });
    cookie = await login(cp.url, org.email, org.password);
    otherCookie = await login(cp.url, other.email, other.password);
  });

  afterAll(async () => {
    await cp?.stop();
  });

  it("creates, reads, lists, updates (versioning graph changes) and deletes a workflow", async () => {
    const created = await createWorkflow({ name: "Lead intake", description: "qualifies leads", ...graph, settings: { retries: 2 }, tags: ["sales"] });
    expect(created).toMatchObject({
      orgId: org.orgId,
      name: "Lead intake",
      description: "qualifies leads",
      settings: { retries: 2 },
      isActive: true,
      version: 1,
      tags: ["sales"],
      templateId: null,
      createdBy: org.userId,
      executionCount: 0,
      lastExecutedAt: null,
    });
    // React Flow's own fields round-trip.
    expect(created.nodes[0]).toMatchObject({ measured: { width: 150, height: 40 } });
    expect(created.edges[0]).toMatchObject({ animated: true, sourceHandle: null });

    const path = `${base()}/workflows/${created.id}`;
    expect(workflowOf((await call(path)).body)).toEqual(created);
    expect(workflowPage.parse((await call(`${base()}/workflows`)).body).workflows.map((w) => w.id)).toContain(created.id);

    const renamed = workflowOf((await call(path, { method: "PATCH", body: { name: "Lead intake v2", isActive: false } })).body);
    expect(renamed).toMatchObject({ name: "Lead intake v2", isActive: false, version: 1 });

    const moved = { ...graph, nodes: graph.nodes.map((node) => ({ ...node, position: { x: node.position.x + 10, y: node.position.y } })) };
    const regraphed = workflowOf((await call(path, { method: "PATCH", body: { nodes: moved.nodes } })).body);
    expect(regraphed.version).toBe(2);
    expect(regraphed.nodes[0]?.position).toEqual({ x: 10, y: 0 });
    // The same graph again, keys in another order: not a new version.
    const reordered = moved.nodes.map(({ data, position, id, ...rest }) => ({ data, position, id, ...rest }));
    const same = workflowOf((await call(path, { method: "PATCH", body: { nodes: reordered, edges: graph.edges } })).body);
    expect(same.version).toBe(2);

    expect((await call(path, { method: "DELETE" })).status).toBe(204);
    expect(await call(path)).toEqual({ status: 404, body: { error: { code: "NOT_FOUND", message: "workflow not found" } } });
    expect((await call(path, { method: "DELETE" })).status).toBe(404);
    expect((await call(path, { method: "PATCH", body: { name: "x" } })).status).toBe(404);
  });

  it("filters the list by isActive, tag and name (LIKE wildcards taken literally) and pages through it", async () => {
    const token = randomUUID().slice(0, 8);
    const a = await createWorkflow({ name: `${token} 50% off`, tags: ["promo", "email"] });
    const b = await createWorkflow({ name: `${token} 500 items`, tags: ["promo"], isActive: false });
    const c = await createWorkflow({ name: `${token} a_b`, tags: ["ops"] });
    const d = await createWorkflow({ name: `${token} axb`, tags: [] });
    const e = await createWorkflow({ name: `${token.toUpperCase()} upper`, tags: ["email"] });
    const ids = async (query: string) =>
      workflowPage
        .parse((await call(`${base()}/workflows?limit=100&${query}`)).body)
        .workflows.map((w) => w.id)
        .sort();
    const sorted = (...views: WorkflowView[]) => views.map((w) => w.id).sort();

    expect(await ids(`search=${token}`)).toEqual(sorted(a, b, c, d, e));
    expect(await ids(`search=${encodeURIComponent(`${token} 50%`)}`)).toEqual(sorted(a));
    expect(await ids(`search=${encodeURIComponent(`${token} a_b`)}`)).toEqual(sorted(c));
    expect(await ids(`search=${token}&isActive=false`)).toEqual(sorted(b));
    expect(await ids(`search=${token}&isActive=true&tag=promo`)).toEqual(sorted(a));
    expect(await ids(`search=${token}&tag=email`)).toEqual(sorted(a, e));
    expect(await ids(`search=${token}&tag=${encodeURIComponent('"email"')}`)).toEqual([]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const parsed = workflowPage.parse((await call(`${base()}/workflows?search=${token}&limit=2${cursor ? `&cursor=${cursor}` : ""}`)).body);
      expect(parsed.workflows.length).toBeLessThanOrEqual(2);
      seen.push(...parsed.workflows.map((w) => w.id));
      cursor = parsed.nextCursor;
    } while (cursor);
    // Three pages, newest first, each exactly once.
    expect(seen).toEqual([e, d, c, b, a].map((w) => w.id));
  });

  it("rejects bad bodies and queries with 400 and the issues", async () => {
    const post = (body: unknown) => call(`${base()}/workflows`, { body });
    const unknownKey = await post({ name: "x", owner: "me" });
    expect(unknownKey.status).toBe(400);
    expect(errorOf(unknownKey.body)).toMatchObject({ code: "VALIDATION_FAILED", details: [expect.objectContaining({ code: "unrecognized_keys" })] });

    const dangling = await post({ name: "x", nodes: graph.nodes, edges: [{ id: "e1", source: "start", target: "ghost" }] });
    expect(dangling.status).toBe(400);
    expect(errorOf(dangling.body)).toMatchObject({
      code: "VALIDATION_FAILED",
      message: expect.stringContaining("/edges/0/target"),
      details: [{ path: "/edges/0/target", code: "custom", message: 'edge "e1" has target "ghost", which is not the id of a node' }],
    });

    const duplicate = await post({ name: "x", nodes: [graph.nodes[0], graph.nodes[0]] });
    expect(errorOf(duplicate.body).details).toEqual([expect.objectContaining({ path: "/nodes/1/id", message: 'duplicate node id "start"' })]);

    const many = Array.from({ length: 501 }, (_, i) => ({ id: `n${i}`, position: { x: i, y: 0 }, data: {} }));
    const tooMany = await post({ name: "x", nodes: many });
    expect(tooMany.status).toBe(400);
    expect(errorOf(tooMany.body).details).toEqual([expect.objectContaining({ path: "/nodes", code: "too_big" })]);

    for (const bad of [
      { name: "x", nodes: [{ id: "n", data: {} }] },
      { name: "x", nodes: [{ id: "n", position: { x: "0", y: 0 }, data: {} }] },
      { name: "x", tags: Array.from({ length: 21 }, (_, i) => `t${i}`) },
      { name: "x", tags: ["x".repeat(51)] },
      { name: "x", templateId: "not-a-uuid" },
      { name: "   " },
    ]) {
      const response = await post(bad);
      expect(response.status, JSON.stringify(bad).slice(0, 80)).toBe(400);
      expect(errorOf(response.body).details).toEqual(expect.any(Array));
    }

    const workflow = await createWorkflow(graph);
    const path = `${base()}/workflows/${workflow.id}`;
    expect((await call(path, { method: "PATCH", body: {} })).status).toBe(400);
    // One half of the graph is checked against the stored other half.
    const edgesOnly = await call(path, { method: "PATCH", body: { edges: [{ id: "e2", source: "ghost", target: "agent" }] } });
    expect(edgesOnly.status).toBe(400);
    expect(errorOf(edgesOnly.body).details).toEqual([{ path: "/edges/0/source", code: "custom", message: expect.stringContaining('"ghost"') }]);
    const nodesOnly = await call(path, { method: "PATCH", body: { nodes: [graph.nodes[0]] } });
    expect(nodesOnly.status).toBe(400);
    expect(errorOf(nodesOnly.body).details).toEqual([expect.objectContaining({ path: "/edges/0/target" })]);
    expect(workflowOf((await call(path)).body)).toEqual(workflow);

    expect((await call(`${base()}/workflows?sort=name`)).status).toBe(400);
    expect((await call(`${base()}/workflows?isActive=yes`)).status).toBe(400);
    expect((await call(`${base()}/workflow-executions?from=yesterday`)).status).toBe(400);
    expect((await call(`${base()}/workflows/not-a-uuid`)).status).toBe(404);
  });

  it("links a workflow only to a template the org can read", async () => {
    const systemTemplate = await cp.db.asSystem(null, async (em) => {
      const template = em.create(WorkflowTemplate, { organization: null, name: "System", category: "AUTOMATION", nodes: [], edges: [], tags: [], isSystem: true });
      await em.flush();
      return template.id;
    });
    const foreignPrivate = await cp.db.asSystem(other.orgId, async (em) => {
      const template = em.create(WorkflowTemplate, { organization: other.orgId, name: "Private", category: "SALES", nodes: [], edges: [], tags: [] });
      await em.flush();
      return template.id;
    });
    const linked = await createWorkflow({ templateId: systemTemplate });
    expect(linked.templateId).toBe(systemTemplate);
    for (const templateId of [foreignPrivate, randomUUID()]) {
      const response = await call(`${base()}/workflows`, { body: { name: "x", templateId } });
      expect(response).toEqual({ status: 404, body: { error: { code: "NOT_FOUND", message: "template not found" } } });
    }
    const unlinked = workflowOf((await call(`${base()}/workflows/${linked.id}`, { method: "PATCH", body: { templateId: null } })).body);
    expect(unlinked.templateId).toBeNull();
  });

  it("records runs as PENDING executions, counts them, and lists and filters them", async () => {
    const workflow = await createWorkflow(graph);
    const runs = `${base()}/workflows/${workflow.id}/executions`;
    const before = new Date();
    const first = await call(runs, { body: { input: { lead: "ACME" } } });
    expect(first.status).toBe(201);
    const execution = executionOf(first.body);
    expect(execution).toMatchObject({
      orgId: org.orgId,
      workflowId: workflow.id,
      status: "PENDING",
      input: { lead: "ACME" },
      output: null,
      error: null,
      logs: [],
      triggeredBy: org.userId,
      startedAt: null,
    });
    const second = executionOf((await call(runs, { body: {} })).body);
    expect(second.input).toEqual({});

    const counted = workflowOf((await call(`${base()}/workflows/${workflow.id}`)).body);
    expect(counted.executionCount).toBe(2);
    expect(new Date(counted.lastExecutedAt ?? 0).getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);

    // A finished run, as the executor will record it.
    await cp.db.asSystem(org.orgId, async (em) => {
      const row = await em.findOneOrFail(WorkflowExecution, { id: second.id });
      row.status = "COMPLETED";
      row.output = { ok: true };
      row.startedAt = new Date();
      row.completedAt = new Date();
      row.duration = 5;
      await em.flush();
    });

    expect(executionOf((await call(`${base()}/workflow-executions/${execution.id}`)).body)).toEqual(execution);
    const list = async (path: string) => executionPage.parse((await call(path)).body).executions.map((e) => e.id);
    expect(await list(runs)).toEqual([second.id, execution.id]);
    expect(await list(`${runs}?status=PENDING`)).toEqual([execution.id]);
    expect(await list(`${base()}/workflow-executions?workflowId=${workflow.id}&status=COMPLETED`)).toEqual([second.id]);
    const from = encodeURIComponent(new Date(before.getTime() - 60_000).toISOString());
    const future = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
    expect(await list(`${base()}/workflow-executions?workflowId=${workflow.id}&from=${from}&to=${future}`)).toEqual([second.id, execution.id]);
    expect(await list(`${base()}/workflow-executions?workflowId=${workflow.id}&from=${future}`)).toEqual([]);
    expect(await list(`${base()}/workflow-executions?workflowId=${workflow.id}&to=${from}`)).toEqual([]);

    const firstPage = executionPage.parse((await call(`${runs}?limit=1`)).body);
    expect(firstPage.executions.map((e) => e.id)).toEqual([second.id]);
    const nextPage = executionPage.parse((await call(`${runs}?limit=1&cursor=${firstPage.nextCursor}`)).body);
    expect(nextPage).toEqual({ executions: [expect.objectContaining({ id: execution.id })], nextCursor: null });

    expect((await call(runs, { body: { input: "text" } })).status).toBe(400);
    expect((await call(runs, { body: { input: {}, priority: 1 } })).status).toBe(400);
    expect((await call(`${base()}/workflow-executions/${randomUUID()}`)).status).toBe(404);
    expect((await call(`${base()}/workflow-executions/nope`)).status).toBe(404);
    expect((await call(`${base()}/workflows/${randomUUID()}/executions`, { body: {} })).status).toBe(404);
  });

  it("refuses to run an inactive workflow (409) and deletes executions with their workflow", async () => {
    const workflow = await createWorkflow({ isActive: false });
    const run = await call(`${base()}/workflows/${workflow.id}/executions`, { body: {} });
    expect(run.status).toBe(409);
    expect(errorOf(run.body).code).toBe("CONFLICT");

    const active = await createWorkflow({});
    const execution = executionOf((await call(`${base()}/workflows/${active.id}/executions`, { body: {} })).body);
    expect((await call(`${base()}/workflows/${active.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await call(`${base()}/workflow-executions/${execution.id}`)).status).toBe(404);
  });

  it("lets a VIEWER read but not create, and a MEMBER run but not edit or delete", async () => {
    for (const role of ["VIEWER", "MEMBER"] as const) {
      const roleOrg = await createTestOrg(cp, { role, agents: [] });
      const roleCookie = await login(cp.url, roleOrg.email, roleOrg.password);
      const workflowId = await cp.db.asSystem(roleOrg.orgId, async (em) => {
        const workflow = em.create(Workflow, { organization: roleOrg.orgId, name: "seeded", nodes: [], edges: [], settings: {}, tags: [] });
        await em.flush();
        return workflow.id;
      });
      const path = `/api/orgs/${roleOrg.orgId}/workflows`;
      const as = (p: string, options: Options = {}) => api(cp.url, p, { cookie: roleCookie, ...options });

      expect((await as(path)).status).toBe(200);
      expect((await as(`${path}/${workflowId}`)).status).toBe(200);
      expect((await as(`/api/orgs/${roleOrg.orgId}/workflow-executions`)).status).toBe(200);
      const forbidden = await as(path, { body: { name: "mine" } });
      expect(forbidden.status).toBe(403);
      expect(errorOf(forbidden.body).code).toBe("FORBIDDEN");
      expect((await as(`${path}/${workflowId}`, { method: "PATCH", body: { name: "renamed" } })).status).toBe(403);
      expect((await as(`${path}/${workflowId}`, { method: "DELETE" })).status).toBe(403);
      const run = await as(`${path}/${workflowId}/executions`, { body: { input: { by: role } } });
      expect(run.status).toBe(role === "MEMBER" ? 201 : 403);
      if (role === "MEMBER") expect(executionOf(run.body).triggeredBy).toBe(roleOrg.userId);
    }
  });

  it("keeps one org out of another's workflows and executions (404 either way)", async () => {
    const workflow = await createWorkflow(graph);
    const execution = executionOf((await call(`${base()}/workflows/${workflow.id}/executions`, { body: {} })).body);
    const as = (p: string, options: Options = {}) => api(cp.url, p, { cookie: otherCookie, ...options });
    const viaOwn = `/api/orgs/${other.orgId}`;

    expect(await as(`${viaOwn}/workflows/${workflow.id}`)).toEqual({ status: 404, body: { error: { code: "NOT_FOUND", message: "workflow not found" } } });
    expect((await as(`${viaOwn}/workflows/${workflow.id}`, { method: "PATCH", body: { name: "stolen" } })).status).toBe(404);
    expect((await as(`${viaOwn}/workflows/${workflow.id}`, { method: "DELETE" })).status).toBe(404);
    expect((await as(`${viaOwn}/workflows/${workflow.id}/executions`, { body: {} })).status).toBe(404);
    expect((await as(`${viaOwn}/workflows/${workflow.id}/executions`)).status).toBe(404);
    expect((await as(`${viaOwn}/workflow-executions/${execution.id}`)).status).toBe(404);
    expect(executionPage.parse((await as(`${viaOwn}/workflow-executions?workflowId=${workflow.id}`)).body).executions).toEqual([]);
    expect(workflowPage.parse((await as(`${viaOwn}/workflows?limit=100`)).body).workflows.map((w) => w.id)).not.toContain(workflow.id);

    const viaTheirs = await as(`${base()}/workflows/${workflow.id}`);
    expect(viaTheirs).toEqual({ status: 404, body: { error: { code: "NOT_FOUND", message: "organization not found" } } });
    expect((await as(`${base()}/workflows/${workflow.id}/executions`, { body: {} })).status).toBe(404);

    const unchanged = workflowOf((await call(`${base()}/workflows/${workflow.id}`)).body);
    expect(unchanged).toMatchObject({ name: workflow.name, executionCount: 1 });
  });
});
