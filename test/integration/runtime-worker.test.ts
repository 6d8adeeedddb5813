import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../../control-plane/server.js";
import { AgentExecution } from "../../entities/index.js";
import {
  agentStatusChangedSchema,
  decodeJson,
  encodeJson,
  subjects,
  taskAckSchema,
  type AgentTask,
} from "../../runtime/protocol/index.js";
import { api, createTestOrg, eventually, login, startTestControlPlane, type TestOrg } from "../support/harness.js";
import { startRuntimeWorker, type RuntimeWorker } from "../support/runtime-worker.js";
import { ensureNatsServer, startNats } from "../support/services.js";

/**
 * These tests own a nats-server of their own, so that which worker gets a message (and whether
 * any does) is under their control.
 */
describe("runtime worker process on its own NATS", () => {
  let dir: string;
  let nats: Awaited<ReturnType<typeof startNats>>;
  let nc: NatsConnection;
  let cp: ControlPlane;
  let org: TestOrg;
  let cookie: string;
  let worker: RuntimeWorker | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "neuroflow-worker-test-"));
    nats = await startNats({ binary: ensureNatsServer(() => undefined), dataDir: join(dir, "nats") });
    nc = await connect({ servers: nats.url });
    cp = await startTestControlPlane({ NATS_URL: nats.url, TASK_ACK_TIMEOUT_MS: "500" });
    org = await createTestOrg(cp);
    cookie = await login(cp.url, org.email, org.password);
  });

  afterAll(async () => {
    await worker?.stop();
    await cp?.stop();
    await nc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const taskFor = (agentIndex: number, prompt: string): AgentTask => ({
    type: "agent.task",
    executionId: crypto.randomUUID(),
    orgId: org.orgId,
    agentId: org.agents[agentIndex]!.id,
    prompt,
    agent: { name: "Direct", personality: {}, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: [] },
    submittedAt: new Date().toISOString(),
  });

  it("answers 503 UNAVAILABLE when no worker takes the task, and records the execution as FAILED", async () => {
    const response = await api(cp.url, `/api/orgs/${org.orgId}/agents/${org.agents[0]!.id}/tasks`, { cookie, body: { prompt: "anyone?" } });
    expect(response).toMatchObject({ status: 503, body: { error: { code: "UNAVAILABLE" } } });
    const rows = await cp.db.asSystem(org.orgId, (em) => em.find(AgentExecution, { agent: org.agents[0]!.id }));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "FAILED", task: "anyone?", error: { code: "UNAVAILABLE", retryable: true } });
  });

  it("rejects malformed task messages with typed error replies, logs them, and keeps serving", async () => {
    worker = await startRuntimeWorker({ natsUrl: nats.url, workerId: "own-worker", env: { SIMULATED_LATENCY_MS: "0" } });
    const subject = subjects.agentTask(org.orgId, org.agents[0]!.id);
    const ask = async (target: string, payload: Uint8Array) => decodeJson(taskAckSchema, (await nc.request(target, payload, { timeout: 2000 })).data, "ack");

    expect(await ask(subject, new TextEncoder().encode("{not json"))).toMatchObject({ ok: false, error: { code: "INVALID_MESSAGE", retryable: false } });
    expect(await ask(subject, new Uint8Array([0xff, 0xfe, 0x00]))).toMatchObject({ ok: false, error: { code: "INVALID_MESSAGE" } });
    const missingPrompt = await ask(subject, encodeJson({ ...taskFor(0, "x"), prompt: undefined }));
    expect(missingPrompt).toMatchObject({ ok: false, error: { code: "INVALID_MESSAGE", message: expect.stringContaining("prompt") } });
    // A task addressed to one org's subject but claiming another org inside is refused.
    const mismatched = await ask(subject, encodeJson({ ...taskFor(0, "x"), orgId: crypto.randomUUID() }));
    expect(mismatched).toMatchObject({ ok: false, error: { code: "INVALID_MESSAGE", message: "task orgId/agentId do not match its subject" } });
    // The worker subscribes to nf.*.agent.*.task; a subject with a bad token still matches it.
    const badToken = await ask(`nf.${org.orgId}.agent.not_a_uuid!.task`, encodeJson(taskFor(0, "x")));
    expect(badToken).toMatchObject({ ok: false, error: { code: "INVALID_SUBJECT" } });

    expect(worker.output()).toContain("rejected a task message");
    expect(worker.process.exitCode).toBeNull();

    // Still serving: a valid task is acknowledged and completes.
    const task = taskFor(0, "still there?");
    const statuses = nc.subscribe(subjects.agentStatus(org.orgId, org.agents[0]!.id));
    const ack = await ask(subject, encodeJson(task));
    expect(ack).toEqual({ ok: true, executionId: task.executionId, workerId: "own-worker" });
    for await (const msg of statuses) {
      const event = decodeJson(agentStatusChangedSchema, msg.data, "status");
      if (event.execution?.executionId === task.executionId && event.execution.status === "COMPLETED") break;
    }
    statuses.unsubscribe();
  });

  it("serves tasks through the API once a worker is there, and stops cleanly on SIGTERM", async () => {
    const response = await api(cp.url, `/api/orgs/${org.orgId}/agents/${org.agents[1]!.id}/tasks`, { cookie, body: { prompt: "now?" } });
    expect(response.status).toBe(202);
    const id = (response.body as { execution: { id: string } }).execution.id;
    await eventually(async () => {
      const row = await cp.db.asSystem(org.orgId, (em) => em.findOne(AgentExecution, { id }));
      return row?.status === "COMPLETED" ? row : undefined;
    }, 10_000, "completed execution");
    expect(await worker!.stop()).toBe(0);
    expect(worker!.output()).toContain("runtime worker stopped");
    worker = undefined;
  });
});
