import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../../control-plane/server.js";
import { AgentExecution, AiAgent, Organization } from "../../entities/index.js";
import { executionViewSchema, type AgentStatusChanged, type ServerFrame } from "../../runtime/protocol/index.js";
import { api, createTestOrg, eventually, login, startTestControlPlane, type TestOrg } from "../support/harness.js";
import { openFrameLog } from "../support/ws-client.js";

const isStatus = (frame: ServerFrame): frame is AgentStatusChanged => frame.type === "agent.status.changed";
const about = (id: string, status: string) => (frame: ServerFrame) =>
  isStatus(frame) && frame.execution?.executionId === id && frame.execution.status === status;

function executionOf(body: unknown) {
  if (typeof body !== "object" || body === null || !("execution" in body)) throw new Error(`no execution in ${JSON.stringify(body)}`);
  return executionViewSchema.parse(body.execution);
}

describe("cancelling an execution: HTTP → NATS → runtime worker process → Postgres → WebSocket", () => {
  let cp: ControlPlane;
  let org: TestOrg;
  let other: TestOrg;
  let cookie: string;
  let otherCookie: string;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    org = await createTestOrg(cp, {
      agents: [
        // Five seconds per answer: long enough to cancel mid-call, and the test must not wait it out.
        { name: "Slow", description: null, personality: {}, modelConfig: { provider: "simulated", model: "sim-1", simulated: { latencyMs: 5000 } }, capabilities: [] },
        { name: "Quick", description: null, personality: {}, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: [] },
      ],
    });
    other = await createTestOrg(cp);
    cookie = await login(cp.url, org.email, org.password);
    otherCookie = await login(cp.url, other.email, other.password);
  });

  afterAll(async () => {
    await cp?.stop();
  });

  const submit = async (agentId: string, prompt: string) => {
    const response = await api(cp.url, `/api/orgs/${org.orgId}/agents/${agentId}/tasks`, { cookie, body: { prompt } });
    expect(response.status).toBe(202);
    return executionOf(response.body).id;
  };
  const cancel = (orgId: string, executionId: string, as = cookie) =>
    api(cp.url, `/api/orgs/${orgId}/executions/${executionId}/cancel`, { method: "POST", cookie: as });

  it("cancels the running task (aborting its model call) and a queued one; the agent takes the next task at once", async () => {
    const agent = org.agents[0]!;
    const feed = await openFrameLog(cp.url, org.orgId, cookie);
    try {
      await feed.waitFor((f) => f.type === "hello");
      const first = await submit(agent.id, "a long question");
      const second = await submit(agent.id, "the next question");
      const third = await submit(agent.id, "a question nobody needs");
      await feed.waitFor(about(first, "RUNNING"));

      // Queued: taken out of the mailbox, never run.
      const queued = await cancel(org.orgId, third);
      expect(queued.status).toBe(202);
      const thirdCancelled = await feed.waitFor(about(third, "CANCELLED"));
      expect(thirdCancelled).toMatchObject({ status: "BUSY", queued: 1, execution: { error: { code: "CANCELLED" } } });

      // Running: the call is aborted long before its five seconds are up.
      const cancelledAt = Date.now();
      const running = await cancel(org.orgId, first);
      expect(running.status).toBe(202);
      expect(executionOf(running.body).id).toBe(first);
      const firstCancelled = await feed.waitFor(about(first, "CANCELLED"));
      expect(firstCancelled).toMatchObject({ workerId: "test-worker-1", execution: { attempt: 1, error: { code: "CANCELLED", retryable: false } } });
      await feed.waitFor(about(second, "RUNNING"));
      expect(Date.now() - cancelledAt).toBeLessThan(3000);

      // Stored before relayed.
      const stored = await api(cp.url, `/api/orgs/${org.orgId}/executions/${first}`, { cookie });
      expect(executionOf(stored.body)).toMatchObject({ status: "CANCELLED", output: null, error: { code: "CANCELLED" } });
      expect(executionOf(stored.body).startedAt).not.toBeNull();
      const neverRan = await api(cp.url, `/api/orgs/${org.orgId}/executions/${third}`, { cookie });
      expect(executionOf(neverRan.body)).toMatchObject({ status: "CANCELLED", startedAt: null, duration: null });

      expect((await cancel(org.orgId, second)).status).toBe(202);
      await feed.waitFor(about(second, "CANCELLED"));
      const row = await eventually(async () => {
        const found = await cp.db.asSystem(org.orgId, (em) => em.findOneOrFail(AiAgent, { id: agent.id }));
        return found.totalExecutions === 3 && found.status === "IDLE" ? found : undefined;
      }, 5000, "three cancelled executions counted");
      expect(row.successRate).toBe(0);
    } finally {
      await feed.close();
    }
  });

  it("answers 409 for an execution that has already ended", async () => {
    const id = await submit(org.agents[1]!.id, "quick one");
    await eventually(async () => {
      const row = await cp.db.asSystem(org.orgId, (em) => em.findOneOrFail(AgentExecution, { id }));
      return row.status === "COMPLETED" ? row : undefined;
    }, 10_000, "a completed execution");
    const response = await cancel(org.orgId, id);
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ error: { code: "CONFLICT" } });
    const stored = await api(cp.url, `/api/orgs/${org.orgId}/executions/${id}`, { cookie });
    expect(executionOf(stored.body).status).toBe("COMPLETED");
  });

  it("cancels a PENDING execution that no worker holds in the database (200), once, and says so on the WebSocket", async () => {
    const agent = org.agents[1]!;
    const feed = await openFrameLog(cp.url, org.orgId, cookie);
    await feed.waitFor((f) => f.type === "hello");
    // A row whose task never reached a worker (lost with a crashed worker, or still in flight).
    const id = await cp.db.asSystem(org.orgId, async (em) => {
      const row = em.create(AgentExecution, {
        organization: em.getReference(Organization, org.orgId),
        agent: em.getReference(AiAgent, agent.id),
        task: "orphan",
        status: "PENDING",
        input: { prompt: "orphan" },
      });
      await em.flush();
      return row.id;
    });
    const before = await cp.db.asSystem(org.orgId, (em) => em.findOneOrFail(AiAgent, { id: agent.id }));
    const response = await cancel(org.orgId, id);
    expect(response.status).toBe(200);
    expect(executionOf(response.body)).toMatchObject({ id, status: "CANCELLED", error: { code: "CANCELLED" }, startedAt: null });
    try {
      const frame = await feed.waitFor(about(id, "CANCELLED"));
      expect(frame).toMatchObject({ agentId: agent.id, workerId: "control-plane", execution: { error: { code: "CANCELLED" } } });
    } finally {
      await feed.close();
    }
    const after = await cp.db.asSystem(org.orgId, (em) => em.findOneOrFail(AiAgent, { id: agent.id }));
    expect(after.totalExecutions).toBe(before.totalExecutions + 1);
    expect(after.status).toBe(before.status);
    expect((await cancel(org.orgId, id)).status).toBe(409);
  });

  it("answers 404 for another org's execution, whichever org path it is asked through, and for a malformed id", async () => {
    const id = await submit(org.agents[1]!.id, "mine");
    const throughTheirs = await cancel(org.orgId, id, otherCookie);
    expect(throughTheirs.status).toBe(404);
    const throughOwn = await cancel(other.orgId, id, otherCookie);
    expect(throughOwn.status).toBe(404);
    expect(throughOwn.body).toMatchObject({ error: { code: "NOT_FOUND" } });
    expect((await cancel(org.orgId, "not-a-uuid")).status).toBe(404);
    // Untouched by the attempts.
    const row = await eventually(async () => {
      const found = await cp.db.asSystem(org.orgId, (em) => em.findOneOrFail(AgentExecution, { id }));
      return found.status === "COMPLETED" ? found : undefined;
    }, 10_000, "the execution to complete");
    expect(row.error).toBeNull();
  });

  it("needs the MEMBER role", async () => {
    const viewerOrg = await createTestOrg(cp, { role: "VIEWER" });
    const viewerCookie = await login(cp.url, viewerOrg.email, viewerOrg.password);
    const id = await cp.db.asSystem(viewerOrg.orgId, async (em) => {
      const row = em.create(AgentExecution, {
        organization: em.getReference(Organization, viewerOrg.orgId),
        agent: em.getReference(AiAgent, viewerOrg.agents[0]!.id),
        task: "look only",
        status: "PENDING",
        input: { prompt: "look only" },
      });
      await em.flush();
      return row.id;
    });
    const response = await cancel(viewerOrg.orgId, id, viewerCookie);
    expect(response.status).toBe(403);
    const row = await cp.db.asSystem(viewerOrg.orgId, (em) => em.findOneOrFail(AgentExecution, { id }));
    expect(row.status).toBe("PENDING");
  });
});
