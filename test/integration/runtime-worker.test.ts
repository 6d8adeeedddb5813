import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../../control-plane/server.js";
import { AgentExecution } from "../../entities/index.js";
import {
  agentCallReplySchema,
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
    cp = await startTestControlPlane({ NATS_URL: nats.url, TASK_ACK_TIMEOUT_MS: "2000" });
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

  it("queues a task while no worker runs: the execution waits PENDING and completes once a worker starts", async () => {
    const response = await api(cp.url, `/api/orgs/${org.orgId}/agents/${org.agents[0]!.id}/tasks`, { cookie, body: { prompt: "anyone?" } });
    expect(response).toMatchObject({ status: 202, body: { execution: { status: "PENDING" } } });
    const id = (response.body as { execution: { id: string } }).execution.id;
    const row = await cp.db.asSystem(org.orgId, (em) => em.findOneOrFail(AgentExecution, { id }));
    expect(row).toMatchObject({ status: "PENDING", task: "anyone?" });

    worker = await startRuntimeWorker({ natsUrl: nats.url, workerId: "own-worker", env: { SIMULATED_LATENCY_MS: "0" } });
    const done = await eventually(async () => {
      const current = await cp.db.asSystem(org.orgId, (em) => em.findOne(AgentExecution, { id }));
      return current?.status === "COMPLETED" ? current : undefined;
    }, 15_000, "the queued execution to complete");
    expect(done).toMatchObject({ workerId: "own-worker", output: { text: expect.any(String) } });
  });

  it("rejects malformed calls and submissions with typed error replies, logs them, and keeps serving", async () => {
    const call = subjects.agentCall(org.orgId, org.agents[0]!.id);
    const ask = async (target: string, payload: Uint8Array) =>
      decodeJson(agentCallReplySchema, (await nc.request(target, payload, { timeout: 2000 })).data, "call reply");

    expect(await ask(call, new TextEncoder().encode("{not json"))).toMatchObject({ ok: false, error: { code: "INVALID_MESSAGE", retryable: false } });
    expect(await ask(call, new Uint8Array([0xff, 0xfe, 0x00]))).toMatchObject({ ok: false, error: { code: "INVALID_MESSAGE" } });
    const missingPrompt = await ask(call, encodeJson({ ...taskFor(0, "x"), prompt: undefined }));
    expect(missingPrompt).toMatchObject({ ok: false, error: { code: "INVALID_MESSAGE", message: expect.stringContaining("prompt") } });
    // A task addressed to one org's subject but claiming another org inside is refused.
    const mismatched = await ask(call, encodeJson({ ...taskFor(0, "x"), orgId: crypto.randomUUID() }));
    expect(mismatched).toMatchObject({ ok: false, error: { code: "INVALID_MESSAGE", message: "task orgId/agentId do not match its subject" } });
    // The worker subscribes to nf.*.agent.*.call; a subject with a bad token still matches it.
    const badToken = await ask(`nf.${org.orgId}.agent.not_a_uuid!.call`, encodeJson(taskFor(0, "x")));
    expect(badToken).toMatchObject({ ok: false, error: { code: "INVALID_SUBJECT" } });
    expect(worker!.output()).toContain("rejected a call");
    expect(worker!.process.exitCode).toBeNull();

    // Submissions on .task go to the control plane, which records them like the API does.
    const submit = subjects.agentTask(org.orgId, org.agents[0]!.id);
    const submitAck = async (target: string, payload: Uint8Array) =>
      decodeJson(taskAckSchema, (await nc.request(target, payload, { timeout: 2000 })).data, "ack");
    expect(await submitAck(submit, encodeJson({ type: "agent.submit" }))).toMatchObject({ ok: false, error: { code: "INVALID_MESSAGE" } });
    expect(await submitAck(subjects.agentTask(org.orgId, crypto.randomUUID()), encodeJson({ type: "agent.submit", prompt: "x" }))).toMatchObject({
      ok: false,
      error: { code: "NOT_FOUND" },
    });
    const accepted = await submitAck(submit, encodeJson({ type: "agent.submit", prompt: "over the bus" }));
    expect(accepted).toMatchObject({ ok: true, workerId: "control-plane" });
    const submittedId = accepted.ok ? accepted.executionId : "";
    await eventually(async () => {
      const row = await cp.db.asSystem(org.orgId, (em) => em.findOne(AgentExecution, { id: submittedId }));
      return row?.status === "COMPLETED" ? row : undefined;
    }, 10_000, "the bus submission to complete");

    // Still serving calls: a valid one is answered with its outcome.
    const task = taskFor(0, "still there?");
    const reply = await ask(call, encodeJson(task));
    expect(reply).toMatchObject({ ok: true, workerId: "own-worker", execution: { executionId: task.executionId, status: "COMPLETED" } });
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
