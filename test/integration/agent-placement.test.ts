import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callAgent } from "../../runtime/messaging/agent-client.js";
import { Kvm } from "@nats-io/kv";
import { BUCKETS } from "../../common/runtime-streams.js";
import { SHARD_COUNT, shardOf, type AgentTask } from "../../runtime/protocol/index.js";
import { eventually } from "../support/harness.js";
import { startRuntimeWorker, type RuntimeWorker } from "../support/runtime-worker.js";
import { ensureNatsServer, startNats } from "../support/services.js";

/**
 * Single activation and passivation, with two real worker processes on a nats-server of this
 * file's own: every call to an agent is served by the one worker leasing the agent's shard (the
 * other forwards it), and an agent passivated after idling comes back from its snapshot with its
 * conversation memory.
 */
describe("agent placement across workers", () => {
  let dir: string;
  let nats: Awaited<ReturnType<typeof startNats>>;
  let nc: NatsConnection;
  let workers: RuntimeWorker[] = [];
  const orgId = crypto.randomUUID();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "neuroflow-placement-test-"));
    nats = await startNats({ binary: ensureNatsServer(() => undefined), dataDir: join(dir, "nats") });
    nc = await connect({ servers: nats.url });
    const env = { SIMULATED_LATENCY_MS: "0", PASSIVATE_AFTER_MS: "400" };
    workers = await Promise.all(["place-a", "place-b"].map((workerId) => startRuntimeWorker({ natsUrl: nats.url, workerId, env })));
    // Wait for the balance the leases converge to: all 32 shards held, 16 by each worker.
    const kv = await new Kvm(nc).open(BUCKETS.runtime);
    await eventually(async () => {
      const owners = new Map<string, number>();
      for (let shard = 0; shard < SHARD_COUNT; shard++) {
        const entry = await kv.get(`shard.${shard}`);
        if (!entry || entry.operation !== "PUT") return undefined;
        const { workerId } = entry.json<{ workerId: string }>();
        owners.set(workerId, (owners.get(workerId) ?? 0) + 1);
      }
      return owners.get("place-a") === SHARD_COUNT / 2 && owners.get("place-b") === SHARD_COUNT / 2 ? true : undefined;
    }, 20_000, "the shards to be split between both workers");
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await nc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function task(agentId: string, prompt: string): AgentTask {
    return {
      type: "agent.task",
      executionId: crypto.randomUUID(),
      orgId,
      agentId,
      prompt,
      agent: { name: "Placed", personality: {}, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: [] },
      submittedAt: new Date().toISOString(),
      limits: { memoryWindow: 5 },
    };
  }

  /** A call whose reply names the worker that ran it (from the status event it answered with). */
  async function call(agentId: string, prompt: string) {
    const reply = await nc.request(`nf.${orgId}.agent.${agentId}.call`, new TextEncoder().encode(JSON.stringify(task(agentId, prompt))), { timeout: 10_000 });
    return JSON.parse(new TextDecoder().decode(reply.data)) as { ok: boolean; workerId?: string; execution?: { status: string; usage?: { promptTokens: number } } };
  }

  it("serves all calls to one agent on one worker, whichever worker the queue group picks", async () => {
    const agents = Array.from({ length: 20 }, () => crypto.randomUUID());
    const replies = await Promise.all(agents.flatMap((agentId) => Array.from({ length: 5 }, (_, i) => call(agentId, `call ${i}`).then((reply) => ({ agentId, reply })))));
    const servedBy = new Map<string, Set<string>>();
    for (const { agentId, reply } of replies) {
      expect(reply).toMatchObject({ ok: true, execution: { status: "COMPLETED" } });
      servedBy.set(agentId, (servedBy.get(agentId) ?? new Set()).add(reply.workerId ?? ""));
    }
    for (const [agentId, workerIds] of servedBy) expect([...workerIds], `agent ${agentId} (shard ${shardOf(agentId)})`).toHaveLength(1);
    expect(new Set([...servedBy.values()].map((ids) => [...ids][0])).size).toBe(2);
  });

  it("passivates an idle agent and restores it from its snapshot, memory included", async () => {
    const agentId = crypto.randomUUID();
    const first = await call(agentId, "Remember the codeword: heliotrope.");
    expect(first).toMatchObject({ ok: true, execution: { status: "COMPLETED" } });
    const host = workers.find((worker) => worker.process.pid !== undefined && worker.output().includes(`"workerId":"${first.workerId}"`));
    const since = host?.output().length ?? 0;
    // A fresh agent asked the same thing has no memory: the baseline prompt size.
    const fresh = await callAgent(nc, task(crypto.randomUUID(), "What was the codeword?"), { timeoutMs: 10_000 });

    // Idle past PASSIVATE_AFTER_MS, every agent of the host is saved and stopped.
    await eventually(async () => (host?.output().slice(since).includes('"active":0') ? true : undefined), 10_000, "the host to passivate its agents");
    const again = await callAgent(nc, task(agentId, "What was the codeword?"), { timeoutMs: 10_000 });
    expect(again.status).toBe("COMPLETED");
    // The restored agent sent its remembered exchange along: more prompt tokens than the fresh one.
    expect(again.usage?.promptTokens).toBeGreaterThan(fresh.usage?.promptTokens ?? Number.POSITIVE_INFINITY);
  });
});
