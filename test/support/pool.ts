import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { expect } from "vitest";
import type { ControlPlane } from "../../control-plane/server.js";
import { demoAgents } from "../../control-plane/persistence/seed.js";
import { shardConsumer, TASK_STREAM } from "../../common/runtime-streams.js";
import { AgentExecution, type IAgentExecution } from "../../entities/index.js";
import { agentStatusChangedSchema, decodeJson, SHARD_COUNT, shardOf } from "../../runtime/protocol/index.js";
import { api, createTestOrg, eventually, login, startTestControlPlane, type TestOrg } from "./harness.js";
import { startRuntimeWorker, type RuntimeWorker } from "./runtime-worker.js";
import { ensureNatsServer, startNats } from "./services.js";

type Nats = Awaited<ReturnType<typeof startNats>>;
type Rows = IAgentExecution[];

/**
 * A runtime pool of real processes for the SIGKILL tests: a nats-server of its own (so a test may
 * kill it), a control plane with a fast sweeper, an org of 50 agents and three runtime workers.
 */
export class TestPool {
  workers: RuntimeWorker[] = [];
  nats!: Nats;
  cp!: ControlPlane;
  org!: TestOrg;
  observer!: NatsConnection;
  #cookie = "";
  #dir = "";
  readonly #binary = ensureNatsServer(() => undefined);

  async start(workerIds: string[]): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), "neuroflow-pool-test-"));
    this.nats = await startNats({ binary: this.#binary, dataDir: join(this.#dir, "nats") });
    this.cp = await startTestControlPlane({ NATS_URL: this.nats.url, SWEEP_INTERVAL_MS: "500", SWEEP_STALE_AFTER_MS: "3000" });
    const agents = Array.from({ length: 50 }, (_, i) => ({ ...demoAgents[i % demoAgents.length]!, name: `Pool agent ${i}` }));
    this.org = await createTestOrg(this.cp, { agents });
    this.#cookie = await login(this.cp.url, this.org.email, this.org.password);
    this.observer = await connect({ servers: this.nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    this.workers = await Promise.all(workerIds.map((id) => this.startWorker(id)));
  }

  startWorker(id: string): Promise<RuntimeWorker> {
    return startRuntimeWorker({
      natsUrl: this.nats.url,
      workerId: id,
      env: { SIMULATED_LATENCY_MS: "40", PASSIVATE_AFTER_MS: "60000" },
    });
  }

  /** SIGKILLs nats-server and starts it again on the same port and store directory. */
  async restartNats(downMs: number): Promise<void> {
    this.nats.process.kill("SIGKILL");
    await new Promise((resolve) => this.nats.process.once("exit", resolve));
    await new Promise((resolve) => setTimeout(resolve, downMs));
    this.nats = await startNats({ binary: this.#binary, dataDir: join(this.#dir, "nats"), port: this.nats.port });
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.stop().catch(() => undefined)));
    await this.observer?.close();
    await this.cp?.stop();
    await this.nats?.stop();
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }

  /** Terminal outcomes seen on the bus, by execution: distinct (worker, time, status) triples. */
  watchOutcomes(): { outcomes: Map<string, Set<string>>; subscription: Subscription } {
    const outcomes = new Map<string, Set<string>>();
    const subscription = this.observer.subscribe(`nf.${this.org.orgId}.agent.*.status`, {
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

  /** Submits `count` tasks through the API, 16 at a time, spread over the agents; returns their ids. */
  async submitAll(count: number, label: string): Promise<string[]> {
    const ids: string[] = [];
    const queue = Array.from({ length: count }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const agent = this.org.agents[i % this.org.agents.length]!;
          const path = `/api/orgs/${this.org.orgId}/agents/${agent.id}/tasks`;
          const response = await api(this.cp.url, path, { cookie: this.#cookie, body: { prompt: `${label} task ${i}` } });
          expect(response.status).toBe(202);
          ids.push((response.body as { execution: { id: string } }).execution.id);
        }
      }),
    );
    return ids;
  }

  async rowsOf(ids: string[]): Promise<Rows> {
    return this.cp.db.asSystem(this.org.orgId, (em) => em.find(AgentExecution, { id: { $in: ids } }));
  }

  /** Waits until every row is COMPLETED; on timeout, fails with what is stuck and what the workers said. */
  async allEnded(ids: string[], timeoutMs: number): Promise<Rows> {
    let last: Rows = [];
    try {
      return await eventually(
        async () => {
          last = await this.rowsOf(ids);
          return last.length === ids.length && last.every((row) => row.status === "COMPLETED") ? last : undefined;
        },
        timeoutMs,
        "every execution to complete",
      );
    } catch (error) {
      throw new Error(`${String(error)}\n${await this.#diagnose(last)}`);
    }
  }

  /** What is stuck, the queue's state and the workers' last warnings. */
  async #diagnose(rows: Rows): Promise<string> {
    const stuck = rows
      .filter((row) => row.status !== "COMPLETED")
      .map((row) => `${row.id} ${row.status} ${row.workerId ?? "-"} shard ${shardOf(row.agent.id)}`);
    const jsm = await jetstreamManager(this.observer);
    const stream = await jsm.streams.info(TASK_STREAM);
    const consumers = await Promise.all(
      Array.from({ length: SHARD_COUNT }, async (_, shard) => {
        const info = await jsm.consumers.info(TASK_STREAM, shardConsumer(shard));
        return `${shard}: delivered ${info.delivered.stream_seq} acked ${info.ack_floor.stream_seq} pending ${info.num_pending} unacked ${info.num_ack_pending} waiting ${info.num_waiting}`;
      }),
    );
    const said = this.workers.map((worker) =>
      worker
        .output()
        .split("\n")
        .filter((line) => /"level":[4-6]/.test(line))
        .slice(-15)
        .join("\n"),
    );
    return `stuck:\n${stuck.join("\n")}\nstream: ${JSON.stringify(stream.state)}\n${consumers.join("\n")}\nworker warnings:\n${said.join("\n---\n")}`;
  }
}

/** One COMPLETED row per id, and no execution completed by two different runs. */
export function expectExactlyOnce(ids: string[], outcomes: Map<string, Set<string>>, rows: Rows): void {
  expect(rows).toHaveLength(ids.length);
  const twice = ids.filter((id) => (outcomes.get(id)?.size ?? 0) > 1);
  expect(twice, `executions completed by more than one run: ${twice.join(", ")}`).toEqual([]);
  for (const row of rows) {
    expect(row.status).toBe("COMPLETED");
    expect(row.completedAt).toBeInstanceOf(Date);
    expect(row.output).toMatchObject({ text: expect.any(String) });
  }
}
