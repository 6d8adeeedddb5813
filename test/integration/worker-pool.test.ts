import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../../control-plane/server.js";
import { demoAgents } from "../../control-plane/persistence/seed.js";
import { shardConsumer, TASK_STREAM } from "../../common/runtime-streams.js";
import { AgentExecution } from "../../entities/index.js";
import {
  agentCallReplySchema,
  agentStatusChangedSchema,
  decodeJson,
  encodeJson,
  SHARD_COUNT,
  shardOf,
  subjects,
  type AgentTask,
} from "../../runtime/protocol/index.js";
import { api, createTestOrg, eventually, login, startTestControlPlane, type TestOrg } from "../support/harness.js";
import { startRuntimeWorker, type RuntimeWorker } from "../support/runtime-worker.js";
import { ensureNatsServer, startNats } from "../support/services.js";

/**
 * The pool's promise, end to end with real processes: three runtime workers, a control plane,
 * Postgres and a nats-server of this file's own. 500 tasks over 50 agents; one worker dies by
 * SIGKILL mid-run. (The same with nats-server killed and restarted is issue #5's open part: it
 * still leaves a few tasks stuck now and then; see the issue's notes.) Every task must
 * end exactly once: one terminal row each, none left behind, and no execution completed by two
 * different runs (distinct outcomes seen on the bus).
 */
describe("runtime worker pool under SIGKILL", () => {
  let dir: string;
  let nats: Awaited<ReturnType<typeof startNats>>;
  let cp: ControlPlane;
  let org: TestOrg;
  let cookie: string;
  let observer: NatsConnection;
  let workers: RuntimeWorker[] = [];
  const binary = ensureNatsServer(() => undefined);

  const startWorker = (id: string) =>
    startRuntimeWorker({
      natsUrl: nats.url,
      workerId: id,
      env: { SIMULATED_LATENCY_MS: "40", PASSIVATE_AFTER_MS: "60000" },
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "neuroflow-pool-test-"));
    nats = await startNats({ binary, dataDir: join(dir, "nats") });
    cp = await startTestControlPlane({ NATS_URL: nats.url, SWEEP_INTERVAL_MS: "500", SWEEP_STALE_AFTER_MS: "3000" });
    const agents = Array.from({ length: 50 }, (_, i) => ({ ...demoAgents[i % demoAgents.length]!, name: `Pool agent ${i}` }));
    org = await createTestOrg(cp, { agents });
    cookie = await login(cp.url, org.email, org.password);
    observer = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    workers = await Promise.all(["pool-a", "pool-b", "pool-c"].map(startWorker));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop().catch(() => undefined)));
    await observer?.close();
    await cp?.stop();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Terminal outcomes seen on the bus, by execution: distinct (worker, time, status) triples. */
  function watchOutcomes(): { outcomes: Map<string, Set<string>>; subscription: Subscription } {
    const outcomes = new Map<string, Set<string>>();
    const subscription = observer.subscribe(`nf.${org.orgId}.agent.*.status`, {
      callback: (_error, msg) => {
        const event = decodeJson(agentStatusChangedSchema, msg.data, "status");
        const execution = event.execution;
        if (!execution || execution.status === "RUNNING") return;
        const seen = outcomes.get(execution.executionId) ?? new Set<string>();
        seen.add(`${event.workerId}|${execution.completedAt}|${execution.status}`);
        outcomes.set(execution.executionId, seen);
      },
    });
    return { outcomes, subscription };
  }

  async function submitAll(count: number, label: string): Promise<string[]> {
    const ids: string[] = [];
    const queue = Array.from({ length: count }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const agent = org.agents[i % org.agents.length]!;
          const response = await api(cp.url, `/api/orgs/${org.orgId}/agents/${agent.id}/tasks`, { cookie, body: { prompt: `${label} task ${i}` } });
          expect(response.status).toBe(202);
          ids.push((response.body as { execution: { id: string } }).execution.id);
        }
      }),
    );
    return ids;
  }

  async function rowsOf(ids: string[]) {
    return cp.db.asSystem(org.orgId, (em) => em.find(AgentExecution, { id: { $in: ids } }));
  }

  /** Waits until every row is COMPLETED; on timeout, fails with what is stuck and what the workers said. */
  async function allEnded(ids: string[], timeoutMs: number) {
    let last: Awaited<ReturnType<typeof rowsOf>> = [];
    try {
      return await eventually(
        async () => {
          last = await rowsOf(ids);
          return last.length === ids.length && last.every((row) => row.status === "COMPLETED") ? last : undefined;
        },
        timeoutMs,
        "every execution to complete",
      );
    } catch (error) {
      const stuck = last
        .filter((row) => row.status !== "COMPLETED")
        .map((row) => `${row.id} ${row.status} ${row.workerId ?? "-"} shard ${shardOf(row.agent.id)}`);
      const jsm = await jetstreamManager(observer);
      const stream = await jsm.streams.info(TASK_STREAM);
      const consumers = await Promise.all(
        Array.from({ length: SHARD_COUNT }, async (_, shard) => {
          const info = await jsm.consumers.info(TASK_STREAM, shardConsumer(shard));
          return `${shard}: delivered ${info.delivered.stream_seq} acked ${info.ack_floor.stream_seq} pending ${info.num_pending} unacked ${info.num_ack_pending} waiting ${info.num_waiting}`;
        }),
      );
      const said = workers.map((worker) => worker.output().split("\n").filter((line) => /"level":[4-6]/.test(line)).slice(-15).join("\n"));
      const queue = `stream: ${JSON.stringify(stream.state)}\n${consumers.join("\n")}`;
      throw new Error(`${String(error)}\nstuck:\n${stuck.join("\n")}\n${queue}\nworker warnings:\n${said.join("\n---\n")}`);
    }
  }

  function expectExactlyOnce(ids: string[], outcomes: Map<string, Set<string>>, rows: Awaited<ReturnType<typeof rowsOf>>) {
    expect(rows).toHaveLength(ids.length);
    const twice = ids.filter((id) => (outcomes.get(id)?.size ?? 0) > 1);
    expect(twice, `executions completed by more than one run: ${twice.join(", ")}`).toEqual([]);
    for (const row of rows) {
      expect(row.status).toBe("COMPLETED");
      expect(row.completedAt).toBeInstanceOf(Date);
      expect(row.output).toMatchObject({ text: expect.any(String) });
    }
  }

  it("completes 500 tasks over 50 agents exactly once while one of three workers is SIGKILLed", async () => {
    const { outcomes, subscription } = watchOutcomes();
    const submitting = submitAll(500, "kill-worker");
    // Kill a worker once work is flowing through all three.
    await eventually(async () => (outcomes.size >= 60 ? true : undefined), 30_000, "work to flow");
    const victim = workers[0]!;
    victim.process.kill("SIGKILL");
    const ids = await submitting;
    const rows = await allEnded(ids, 120_000);
    subscription.unsubscribe();
    expectExactlyOnce(ids, outcomes, rows);
    const byWorker = new Map<string, number>();
    for (const row of rows) byWorker.set(row.workerId ?? "", (byWorker.get(row.workerId ?? "") ?? 0) + 1);
    expect([...byWorker.keys()].sort()).toEqual(expect.arrayContaining(["pool-b", "pool-c"]));

    // Every agent serves again — including those the dead worker hosted — on the survivors.
    workers = workers.slice(1);
    const replies = await Promise.all(
      org.agents.map(async (agent, i) => {
        const task: AgentTask = {
          type: "agent.task",
          executionId: crypto.randomUUID(),
          orgId: org.orgId,
          agentId: agent.id,
          prompt: `after the kill ${i}`,
          agent: { name: agent.name, personality: {}, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: [] },
          submittedAt: new Date().toISOString(),
        };
        const reply = await observer.request(subjects.agentCall(org.orgId, agent.id), encodeJson(task), { timeout: 10_000 });
        return decodeJson(agentCallReplySchema, reply.data, "call reply");
      }),
    );
    for (const reply of replies) {
      expect(reply).toMatchObject({ ok: true, execution: { status: "COMPLETED" } });
      if (reply.ok) expect(["pool-b", "pool-c"]).toContain(reply.workerId);
    }
  }, 240_000);
});
