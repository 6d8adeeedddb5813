import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { ControlPlane } from "../../control-plane/server.js";
import { WorkflowTemplate } from "../../entities/index.js";
import { errorBodySchema, nextCursorSchema, templateViewSchema, workflowViewSchema, type TemplateView } from "../../runtime/protocol/index.js";
import { api, createTestOrg, login, startTestControlPlane, type TestOrg } from "../support/harness.js";

const templateOf = (body: unknown) => z.object({ template: templateViewSchema }).parse(body).template;
const workflowOf = (body: unknown) => z.object({ workflow: workflowViewSchema }).parse(body).workflow;
const templatePage = z.object({ templates: z.array(templateViewSchema), nextCursor: nextCursorSchema });
const errorOf = (body: unknown) => errorBodySchema.parse(body).error;

const graph = {
  nodes: [
    { id: "in", type: "input", position: { x: 0, y: 0 }, data: { label: "In" } },
    { id: "out", type: "output", position: { x: 0, y: 100 }, data: { label: "Out" } },
  ],
  edges: [{ id: "in-out", source: "in", target: "out" }],
};

describe("workflow templates over HTTP", () => {
  let cp: ControlPlane;
  let org: TestOrg;
  let other: TestOrg;
  let cookie: string;
  let otherCookie: string;
  /** A system template (organization null), seeded the only way one can be: by the system role. */
  let system: TemplateView;
  const base = () => `/api/orgs/${org.orgId}`;
  const otherBase = () => `/api/orgs/${other.orgId}`;
  type Options = { method?: string; body?: unknown };
  const call = (path: string, options: Options = {}) => api(cp.url, path, { cookie, ...options });
  const callOther = (path: string, options: Options = {}) => api(cp.url, path, { cookie: otherCookie, ...options });

  async function createTemplate(body: Record<string, unknown>): Promise<TemplateView> {
    const response = await call(`${base()}/templates`, { body: { name: `tpl ${randomUUID()}`, category: "SALES", ...body } });
    expect(response.status).toBe(201);
    return templateOf(response.body);
  }

  async function seedSystemTemplate(fields: { name: string; description?: string; isFeatured?: boolean }): Promise<TemplateView> {
    const id = await cp.db.asSystem(null, async (em) => {
      const template = em.create(WorkflowTemplate, {
        organization: null,
        description: null,
        category: "AUTOMATION",
        difficulty: "INTERMEDIATE",
        ...graph,
        tags: ["starter"],
        isSystem: true,
        ...fields,
      });
      await em.flush();
      return template.id;
    });
    return templateOf((await call(`${base()}/templates/${id}`)).body);
  }

  const listIds = async (path: string, as = call) =>
    templatePage
      .parse((await as(path)).body)
      .templates.map((t) => t.id)
      .sort();
  const sorted = (...views: TemplateView[]) => views.map((t) => t.id).sort();

  beforeAll(async () => {
    cp = await startTestControlPlane();
    org = await createTestOrg(cp, { agents: [] });
    other = await createTestOrg(cp, { agents: [] });
    cookie = await login(cp.url, org.email, org.password);
    otherCookie = await login(cp.url, other.email, other.password);
    system = await seedSystemTemplate({ name: `System starter ${randomUUID()}` });
  });

  afterAll(async () => {
    await cp?.stop();
  });

  it("creates, reads, lists, updates and deletes the org's own template", async () => {
    const created = await createTemplate({ name: "Cold outreach", description: "emails prospects", difficulty: "ADVANCED", ...graph, tags: ["email"] });
    expect(created).toMatchObject({
      orgId: org.orgId,
      name: "Cold outreach",
      description: "emails prospects",
      category: "SALES",
      difficulty: "ADVANCED",
      tags: ["email"],
      isPublic: false,
      isSystem: false,
      isFeatured: false,
      usageCount: 0,
      rating: 0,
      ratingCount: 0,
    });
    expect(created.edges).toEqual([expect.objectContaining({ source: "in", target: "out" })]);
    const path = `${base()}/templates/${created.id}`;
    expect(templateOf((await call(path)).body)).toEqual(created);
    expect(await listIds(`${base()}/templates?scope=own&limit=100`)).toContain(created.id);

    const updated = templateOf((await call(path, { method: "PATCH", body: { name: "Warm outreach", category: "MARKETING", isPublic: true } })).body);
    expect(updated).toMatchObject({ name: "Warm outreach", category: "MARKETING", isPublic: true, difficulty: "ADVANCED" });

    expect((await call(path, { method: "DELETE" })).status).toBe(204);
    expect(await call(path)).toEqual({ status: 404, body: { error: { code: "NOT_FOUND", message: "template not found" } } });
    expect((await call(path, { method: "DELETE" })).status).toBe(404);
  });

  it("filters by scope, category, difficulty, featured and text, and pages through the list", async () => {
    const token = randomUUID().slice(0, 8);
    const own = [
      await createTemplate({ name: `${token} one`, category: "SUPPORT", difficulty: "BEGINNER" }),
      await createTemplate({ name: `${token} two`, category: "SUPPORT", difficulty: "EXPERT", isPublic: true }),
      await createTemplate({ name: "plain", description: `mentions ${token} 100%`, category: "CONTENT" }),
      await createTemplate({ name: `${token} 1000`, category: "CONTENT" }),
    ];
    const featured = await seedSystemTemplate({ name: `${token} featured`, isFeatured: true });
    const foreignPublic = templateOf(
      (await callOther(`${otherBase()}/templates`, { body: { name: `${token} theirs`, category: "SALES", isPublic: true } })).body,
    );
    const foreignPrivate = templateOf((await callOther(`${otherBase()}/templates`, { body: { name: `${token} secret`, category: "SALES" } })).body);
    const [one, two, described, thousand] = own;
    if (!one || !two || !described || !thousand) throw new Error("four templates expected");
    const q = `${base()}/templates?limit=100&search=${token}`;

    expect(await listIds(q)).toEqual(sorted(...own, featured, foreignPublic));
    expect(await listIds(`${q}&scope=all`)).toEqual(sorted(...own, featured, foreignPublic));
    expect(await listIds(`${q}&scope=own`)).toEqual(sorted(...own));
    expect(await listIds(`${q}&scope=public`)).toEqual(sorted(two, featured, foreignPublic));
    expect(await listIds(`${q}&category=SUPPORT`)).toEqual(sorted(one, two));
    expect(await listIds(`${q}&difficulty=EXPERT`)).toEqual(sorted(two));
    expect(await listIds(`${q}&featured=true`)).toEqual(sorted(featured));
    expect(await listIds(`${q}&featured=false&scope=public`)).toEqual(sorted(two, foreignPublic));
    expect(await listIds(`${base()}/templates?limit=100&search=${encodeURIComponent(`${token} 100%`)}`)).toEqual(sorted(described));
    expect(await listIds(`${base()}/templates?limit=100&search=${token.toUpperCase()}`)).toEqual(await listIds(q));
    expect(await listIds(`${q}`)).not.toContain(foreignPrivate.id);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await call(`${base()}/templates?scope=own&search=${token}&limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      const parsed = templatePage.parse(response.body);
      expect(parsed.templates.length).toBeLessThanOrEqual(3);
      seen.push(...parsed.templates.map((t) => t.id));
      cursor = parsed.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(2);
    // Newest first, each exactly once.
    expect(seen).toEqual([thousand, described, two, one].map((t) => t.id));

    for (const bad of ["scope=mine", "category=FINANCE", "featured=1", "limit=0", "cursor=bogus"]) {
      expect((await call(`${base()}/templates?${bad}`)).status, bad).toBe(400);
    }
  });

  it("rejects system-only and unknown fields, bad enums and unsound graphs with 400", async () => {
    const post = (body: Record<string, unknown>) => call(`${base()}/templates`, { body: { name: "x", category: "SALES", ...body } });
    for (const key of ["isFeatured", "isSystem", "rating", "ratingCount", "usageCount", "organizationId"]) {
      const response = await post({ [key]: key === "isFeatured" || key === "isSystem" ? true : 5 });
      expect(response.status, key).toBe(400);
      expect(errorOf(response.body).details, key).toEqual([expect.objectContaining({ code: "unrecognized_keys", message: expect.stringContaining(key) })]);
    }
    expect((await post({ category: "FINANCE" })).status).toBe(400);
    expect((await post({ difficulty: "EASY" })).status).toBe(400);
    const dangling = await post({ nodes: graph.nodes, edges: [{ id: "e", source: "in", target: "nowhere" }] });
    expect(errorOf(dangling.body).details).toEqual([expect.objectContaining({ path: "/edges/0/target", code: "custom" })]);
    const many = Array.from({ length: 501 }, (_, i) => ({ id: `n${i}`, position: { x: 0, y: i }, data: {} }));
    expect(errorOf((await post({ nodes: many })).body).details).toEqual([expect.objectContaining({ path: "/nodes", code: "too_big" })]);

    const template = await createTemplate(graph);
    const path = `${base()}/templates/${template.id}`;
    expect((await call(path, { method: "PATCH", body: {} })).status).toBe(400);
    expect((await call(path, { method: "PATCH", body: { isFeatured: true } })).status).toBe(400);
    const edgesOnly = await call(path, { method: "PATCH", body: { edges: [{ id: "e", source: "in", target: "gone" }] } });
    expect(errorOf(edgesOnly.body).details).toEqual([expect.objectContaining({ path: "/edges/0/target" })]);
    expect(templateOf((await call(path)).body)).toEqual(template);
  });

  it("lets every org read a system template, none change it, and members rate and instantiate it", async () => {
    const fresh = await seedSystemTemplate({ name: `System ${randomUUID()}` });
    const path = `/templates/${fresh.id}`;
    expect(templateOf((await callOther(`${otherBase()}${path}`)).body).id).toBe(fresh.id);
    expect(await listIds(`${otherBase()}/templates?scope=public&limit=100&search=${encodeURIComponent(fresh.name)}`, callOther)).toEqual([fresh.id]);

    const patch = await call(`${base()}${path}`, { method: "PATCH", body: { name: "mine now" } });
    expect(patch).toEqual({
      status: 403,
      body: { error: { code: "FORBIDDEN", message: "system templates and other organizations' templates are read-only" } },
    });
    expect((await call(`${base()}${path}`, { method: "DELETE" })).status).toBe(403);

    expect(templateOf((await call(`${base()}${path}/rate`, { body: { rating: 5 } })).body)).toMatchObject({ rating: 5, ratingCount: 1 });
    expect(templateOf((await callOther(`${otherBase()}${path}/rate`, { body: { rating: 4 } })).body)).toMatchObject({ rating: 4.5, ratingCount: 2 });
    for (const rating of [0, 6, 4.5, "5"]) {
      expect((await call(`${base()}${path}/rate`, { body: { rating } })).status, String(rating)).toBe(400);
    }

    const instantiated = await call(`${base()}${path}/instantiate`, { body: {} });
    expect(instantiated.status).toBe(201);
    const workflow = workflowOf(instantiated.body);
    expect(workflow).toMatchObject({ orgId: org.orgId, name: fresh.name, templateId: fresh.id, tags: ["starter"], version: 1, createdBy: org.userId });
    expect(workflow.nodes).toEqual(fresh.nodes);
    expect(workflow.edges).toEqual(fresh.edges);
    const named = workflowOf((await callOther(`${otherBase()}${path}/instantiate`, { body: { name: "Our copy", description: null } })).body);
    expect(named).toMatchObject({ orgId: other.orgId, name: "Our copy", description: null, templateId: fresh.id });
    expect((await call(`${base()}/workflows/${workflow.id}`)).status).toBe(200);

    expect(templateOf((await call(`${base()}${path}`)).body)).toMatchObject({ usageCount: 2, rating: 4.5, ratingCount: 2, name: fresh.name });
  });

  it("shares a published template with other orgs read-only, and hides it again when unpublished", async () => {
    const published = await createTemplate({ ...graph, isPublic: true });
    const theirPath = `${otherBase()}/templates/${published.id}`;
    expect(templateOf((await callOther(theirPath)).body).id).toBe(published.id);
    expect((await callOther(theirPath, { method: "PATCH", body: { name: "hijacked" } })).status).toBe(403);
    expect((await callOther(theirPath, { method: "DELETE" })).status).toBe(403);
    expect(templateOf((await callOther(`${theirPath}/rate`, { body: { rating: 3 } })).body)).toMatchObject({ rating: 3, ratingCount: 1 });
    const copy = workflowOf((await callOther(`${theirPath}/instantiate`, { body: {} })).body);
    expect(copy).toMatchObject({ orgId: other.orgId, templateId: published.id });
    expect(templateOf((await call(`${base()}/templates/${published.id}`)).body)).toMatchObject({ name: published.name, usageCount: 1, ratingCount: 1 });

    await call(`${base()}/templates/${published.id}`, { method: "PATCH", body: { isPublic: false } });
    expect((await callOther(theirPath)).status).toBe(404);
    expect((await callOther(`${theirPath}/instantiate`, { body: {} })).status).toBe(404);
  });

  it("keeps a private template from other orgs entirely (404 for every verb)", async () => {
    const hidden = await createTemplate(graph);
    const theirPath = `${otherBase()}/templates/${hidden.id}`;
    const notFound = { status: 404, body: { error: { code: "NOT_FOUND", message: "template not found" } } };
    expect(await callOther(theirPath)).toEqual(notFound);
    expect(await callOther(theirPath, { method: "PATCH", body: { name: "x" } })).toEqual(notFound);
    expect(await callOther(theirPath, { method: "DELETE" })).toEqual(notFound);
    expect(await callOther(`${theirPath}/rate`, { body: { rating: 1 } })).toEqual(notFound);
    expect(await callOther(`${theirPath}/instantiate`, { body: {} })).toEqual(notFound);
    expect(await callOther(`${otherBase()}/workflows`, { body: { name: "x", templateId: hidden.id } })).toEqual(notFound);
    // Through the owner's path the org itself is what can't be found.
    expect((await callOther(`${base()}/templates/${hidden.id}`)).status).toBe(404);
    expect(templateOf((await call(`${base()}/templates/${hidden.id}`)).body)).toEqual(hidden);
    expect((await call(`${base()}/templates/not-a-uuid`)).status).toBe(404);
  });

  it("unlinks workflows from a deleted template but keeps their graph", async () => {
    const template = await createTemplate(graph);
    const workflow = workflowOf((await call(`${base()}/templates/${template.id}/instantiate`, { body: { name: "kept" } })).body);
    expect((await call(`${base()}/templates/${template.id}`, { method: "DELETE" })).status).toBe(204);
    const after = workflowOf((await call(`${base()}/workflows/${workflow.id}`)).body);
    expect(after).toMatchObject({ name: "kept", templateId: null, nodes: workflow.nodes, edges: workflow.edges });
  });

  it("lets a VIEWER only read, and a MEMBER also rate, but neither manage nor instantiate", async () => {
    for (const role of ["VIEWER", "MEMBER"] as const) {
      const roleOrg = await createTestOrg(cp, { role, agents: [] });
      const roleCookie = await login(cp.url, roleOrg.email, roleOrg.password);
      const as = (path: string, options: Options = {}) => api(cp.url, `/api/orgs/${roleOrg.orgId}${path}`, { cookie: roleCookie, ...options });
      const ownId = await cp.db.asSystem(roleOrg.orgId, async (em) => {
        const template = em.create(WorkflowTemplate, { organization: roleOrg.orgId, name: "seeded", category: "SALES", nodes: [], edges: [], tags: [] });
        await em.flush();
        return template.id;
      });

      expect((await as("/templates")).status).toBe(200);
      expect((await as(`/templates/${system.id}`)).status).toBe(200);
      const create = await as("/templates", { body: { name: "x", category: "SALES" } });
      expect(create.status).toBe(403);
      expect(errorOf(create.body).code).toBe("FORBIDDEN");
      expect((await as(`/templates/${ownId}`, { method: "PATCH", body: { name: "y" } })).status).toBe(403);
      expect((await as(`/templates/${ownId}`, { method: "DELETE" })).status).toBe(403);
      expect((await as(`/templates/${system.id}/instantiate`, { body: {} })).status).toBe(403);
      expect((await as(`/templates/${ownId}/rate`, { body: { rating: 2 } })).status).toBe(role === "MEMBER" ? 200 : 403);
    }
  });
});
