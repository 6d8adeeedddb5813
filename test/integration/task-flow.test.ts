import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../../control-plane/server.js";
import { AgentExecution, AiAgent } from "../../entities/index.js";
import { executionViewSchema, type AgentStatusChanged, type ServerFrame } from "../../runtime/protocol/index.js";
import { api, createTestOrg, eventually, login, startTestControlPlane, type TestOrg } from "../support/harness.js";
import { openFrameLog } from "../support/ws-client.js";

const isStatus = (frame: ServerFrame): frame is AgentStatusChanged => frame.type === "agent.status.changed";

describe("a task end to end: HTTP → NATS → runtime worker process → Postgres → WebSocket", () => {
  let cp: ControlPlane;
  let org: TestOrg;
  let cookie: string;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    org = await createTestOrg(cp, {
      agents: [
        { name: "Solver", description: "answers", personality: { tone: "calm" }, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: ["math"] },
        // No worker has OpenAI credentials in the test run: its tasks must fail, as state, with a typed error.
        { name: "Unconfigured", description: null, personality: {}, modelConfig: { provider: "openai", model: "gpt-4o-mini" }, capabilities: [] },
      ],
    });
    cookie = await login(cp.url, org.email, org.password);
  });

  afterAll(async () => {
    await cp?.stop();
  });

  it("runs a task: PENDING → RUNNING → COMPLETED, with live status over the WebSocket and a stored execution", async () => {
    const agent = org.agents[0]!;
    const feed = await openFrameLog(cp.url, org.orgId, cookie);
    try {
      await feed.waitFor((f) => f.type === "hello" && f.orgId === org.orgId);
      const submitted = await api(cp.url, `/api/orgs/${org.orgId}/agents/${agent.id}/tasks`, {
        cookie,
        body: { prompt: "What is the capital of France?" },
      });
      expect(submitted.status).toBe(202);
      const execution = executionViewSchema.parse((submitted.body as { execution: unknown }).execution);
      expect(execution.status).toBe("PENDING");

      const running = await feed.waitFor((f) => isStatus(f) && f.execution?.executionId === execution.id && f.execution.status === "RUNNING");
      const completed = await feed.waitFor((f) => isStatus(f) && f.execution?.executionId === execution.id && f.execution.status === "COMPLETED");
      expect(running).toMatchObject({ agentId: agent.id, status: "BUSY", workerId: "test-worker-1" });
      expect(completed).toMatchObject({ agentId: agent.id, status: "IDLE" });
      const done = completed as AgentStatusChanged;
      expect(done.execution?.output).toContain("What is the capital of France?");
      expect(done.execution?.usage?.completionTokens).toBeGreaterThan(0);
      // The worker simulates 150 ms of model latency; the exact figure is wall-clock, so only its
      // presence is asserted here (timings belong to bench/).
      expect(done.execution?.durationMs).toBeGreaterThan(0);

      // Persisted before it was relayed: the API already shows the final row.
      const stored = await api(cp.url, `/api/orgs/${org.orgId}/executions/${execution.id}`, { cookie });
      expect(stored.status).toBe(200);
      expect((stored.body as { execution: unknown }).execution).toMatchObject({
        status: "COMPLETED",
        output: done.execution?.output,
        provider: "simulated",
        model: "sim-1",
        promptTokens: done.execution?.usage?.promptTokens,
        completionTokens: done.execution?.usage?.completionTokens,
        tokensUsed: (done.execution?.usage?.promptTokens ?? 0) + (done.execution?.usage?.completionTokens ?? 0),
        duration: done.execution?.durationMs,
      });

      const row = await cp.db.asSystem(org.orgId, (em) => em.findOneOrFail(AiAgent, { id: agent.id }));
      expect(row).toMatchObject({ status: "IDLE", totalExecutions: 1, successRate: 1 });
      expect(row.avgResponseTime).toBe(done.execution?.durationMs);
      expect(row.lastActiveAt).toBeInstanceOf(Date);
    } finally {
      await feed.close();
    }
  });

  it("queues tasks for a busy agent and completes each exactly once, in order", async () => {
    const agent = org.agents[0]!;
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const response = await api(cp.url, `/api/orgs/${org.orgId}/agents/${agent.id}/tasks`, { cookie, body: { prompt: `step ${n}` } });
      expect(response.status).toBe(202);
      ids.push(executionViewSchema.parse((response.body as { execution: unknown }).execution).id);
    }
    const rows = await eventually(async () => {
      const found = await cp.db.asSystem(org.orgId, (em) => em.find(AgentExecution, { id: { $in: ids } }, { orderBy: { completedAt: "asc" } }));
      return found.every((row) => row.status === "COMPLETED") ? found : undefined;
    }, 15_000, "three completed executions");
    expect(rows.map((row) => row.task)).toEqual(["step 1", "step 2", "step 3"]);
    // One at a time: each started after the previous one completed.
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i]!.startedAt!.getTime()).toBeGreaterThanOrEqual(rows[i - 1]!.completedAt!.getTime());
    }
  });

  it("records a model failure as a FAILED execution and an ERROR agent, and the agent stays usable", async () => {
    const agent = org.agents[1]!;
    const feed = await openFrameLog(cp.url, org.orgId, cookie);
    try {
      const response = await api(cp.url, `/api/orgs/${org.orgId}/agents/${agent.id}/tasks`, { cookie, body: { prompt: "hello" } });
      expect(response.status).toBe(202);
      const id = executionViewSchema.parse((response.body as { execution: unknown }).execution).id;
      const failed = await feed.waitFor((f) => isStatus(f) && f.execution?.executionId === id && f.execution.status === "FAILED");
      expect(failed).toMatchObject({
        status: "ERROR",
        execution: { error: { code: "PROVIDER_ERROR", message: 'model provider "openai" is not configured on this worker', retryable: false } },
      });
      const stored = await api(cp.url, `/api/orgs/${org.orgId}/executions/${id}`, { cookie });
      expect((stored.body as { execution: unknown }).execution).toMatchObject({
        status: "FAILED",
        output: null,
        error: { code: "PROVIDER_ERROR" },
      });
      const row = await cp.db.asSystem(org.orgId, (em) => em.findOneOrFail(AiAgent, { id: agent.id }));
      expect(row).toMatchObject({ status: "ERROR", totalExecutions: 1, successRate: 0 });

      // Still takes tasks (and fails them the same way) — the worker and the agent are fine.
      const again = await api(cp.url, `/api/orgs/${org.orgId}/agents/${agent.id}/tasks`, { cookie, body: { prompt: "again" } });
      expect(again.status).toBe(202);
    } finally {
      await feed.close();
    }
  });

  it("lists the agent's executions newest first", async () => {
    const agent = org.agents[0]!;
    const response = await api(cp.url, `/api/orgs/${org.orgId}/agents/${agent.id}/executions?limit=2`, { cookie });
    expect(response.status).toBe(200);
    const executions = (response.body as { executions: Array<{ task: string; createdAt: string }> }).executions;
    expect(executions).toHaveLength(2);
    expect(executions[0]!.createdAt >= executions[1]!.createdAt).toBe(true);
  });
});
