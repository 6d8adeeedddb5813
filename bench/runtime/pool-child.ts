import { randomUUID } from "node:crypto";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { pino } from "pino";
import { createActor, type Snapshot } from "xstate";
import { connectToBus } from "../../common/nats-connect.js";
import { ensureTaskStream, openRuntimeStores } from "../../common/runtime-streams.js";
import { createCallModel, modelCallActions } from "../../runtime/actors/call-model.actor.js";
import { agentMachine } from "../../runtime/machines/agent.machine.js";
import { defaultPrices } from "../../runtime/providers/prices.js";
import { providersFromEnv } from "../../runtime/providers/registry-from-env.js";
import { SHARD_COUNT } from "../../runtime/protocol/index.js";
import { AgentHost } from "../../runtime/system/agent-host.js";
import { SnapshotStore } from "../../common/snapshot-store.js";
import { benchTask } from "./calls.js";
import { callAgent } from "../../runtime/messaging/agent-client.js";
import type { IdleResult, MemoryReading, PauseStats, PoolChildMessage, ReactivationResult } from "./pool-messages.js";
import { msSince, summarize } from "./stats.js";

/**
 * A runtime worker's agent pool in a process of its own, for the memory and reactivation figures:
 * wired like runtime/main.ts (real AgentHost on the real nats-server: shard leases, JetStream
 * intake, KV snapshot store, simulated provider with 0 latency), driven from inside — tasks as agent
 * calls on its own connection (it holds every shard), passivation and activation through
 * `host.activations` — so it can read `process.memoryUsage()` and force GCs. Started by
 * bench/runtime/pool.ts with `--expose-gc` and an IPC channel; reports with PoolChildMessage.
 *
 *   POOL_MODE=idle        activate agents until POOL_TARGET (default 100000) or RSS > POOL_RSS_LIMIT
 *                         (default 1 GiB); POOL_WORK=one-task (default) gives each one task first.
 *                         Counted: the agents the worker holds and serves without a store read —
 *                         live actors and resting agents (their snapshot text) — all present when
 *                         RSS is read; afterwards one of the first agents is called again, and must
 *                         answer with its memory and without a store read
 *   POOL_MODE=reactivate  POOL_AGENTS (default 2000) agents do one task, are passivated (out of
 *                         memory: only the KV store has them), then activated back one at a time
 *                         (KV get + restore), then put to rest and woken (no store read)
 */
const env = process.env;
const send = (message: PoolChildMessage) =>
  new Promise<void>((resolve) => (process.send ? process.send(message, undefined, {}, () => resolve()) : resolve()));
const gc = (globalThis as { gc?: () => void }).gc;
/** What the worker logged at warn or above while measuring (a lost lease would spoil the figures). */
const logged = { count: 0, sample: [] as string[] };
const logger = pino(
  { name: "bench-pool", level: env.LOG_LEVEL ?? "warn" },
  {
    write: (line: string) => {
      logged.count++;
      if (logged.sample.length < 5) logged.sample.push(line.slice(0, 400));
    },
  },
);
/** GC pauses and event-loop delay over the run: what a tail latency or a lost lease comes from. */
const gcPauses = { count: 0, totalMs: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcPauses.count++;
    gcPauses.totalMs += entry.duration;
    gcPauses.maxMs = Math.max(gcPauses.maxMs, entry.duration);
  }
}).observe({ entryTypes: ["gc"] });
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
/** The pauses so far, and resets the counters. */
function pauses(): PauseStats {
  const stats: PauseStats = {
    gcCount: gcPauses.count,
    gcTotalMs: gcPauses.totalMs,
    gcMaxMs: gcPauses.maxMs,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
    warnings: logged.count,
    warningSample: [...logged.sample],
  };
  Object.assign(gcPauses, { count: 0, totalMs: 0, maxMs: 0 });
  loopDelay.reset();
  logged.count = 0;
  logged.sample.length = 0;
  return stats;
}

if (!env.NATS_URL || !process.send) {
  console.error("pool-child: NATS_URL and an IPC channel are required");
  process.exit(1);
}
const nc = await connectToBus({ servers: env.NATS_URL, name: "bench-pool", credsFile: env.NATS_CREDS || undefined });
await ensureTaskStream(nc);
const stores = await openRuntimeStores(nc);
const workerId = `bench-pool-${process.pid}`;
const host = new AgentHost({
  nc,
  stores,
  workerId,
  providers: providersFromEnv({}, { simulated: { latencyMs: 0 } }),
  prices: defaultPrices,
  logger,
  // No idle passivation during the run: every agent stays active.
  passivateAfterMs: 24 * 3600 * 1000,
});
await host.start();
for (let waited = 0; host.shards.length < SHARD_COUNT; waited += 50) {
  if (waited > 10_000) throw new Error(`pool child holds ${host.shards.length} of ${SHARD_COUNT} shards after 10 s`);
  await new Promise((resolve) => setTimeout(resolve, 50));
}

const orgId = randomUUID();
const started = process.hrtime.bigint();

function reading(): MemoryReading {
  const memory = process.memoryUsage();
  return {
    agents: host.activations.size,
    live: host.activations.liveCount,
    resting: host.activations.restingCount,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    atSeconds: msSince(started) / 1000,
  };
}

function fullGc(): void {
  // Twice: the first pass frees objects whose finalizers the second one collects.
  gc?.();
  gc?.();
}

/**
 * One task for the agent the way callers give it: an agent call over NATS (this process holds
 * every shard, so its own AgentHost takes it: activation, task, snapshot save, reply).
 */
async function oneTask(agentId: string, prompt: string): Promise<void> {
  const execution = await callAgent(nc, benchTask(orgId, agentId, prompt), { timeoutMs: 30_000 });
  if (execution.status !== "COMPLETED") throw new Error(`bench task ended ${execution.status}`);
}

/**
 * Waits until every live agent's snapshot save has landed (each agent then rests, unless it got
 * work meanwhile), then runs the periodic sweep as the host's timer would: live agents at rest with
 * nothing to save rest too. Passivation (leaving memory) is off: its idle period is a day here.
 */
async function savesSettled(): Promise<void> {
  await Promise.all(host.activations.all().map((hosted) => host.activations.save(hosted)));
  await host.activations.passivateIdle(24 * 3600 * 1000);
}

/** Runs `work(i)` for i in [0, count) with `concurrency` at once; stops early when `stop()` says so. */
async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>, stop: () => boolean = () => false) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && !stop()) await work(next++);
    }),
  );
}

async function idle(): Promise<IdleResult> {
  const target = Number(env.POOL_TARGET ?? 100_000);
  const rssLimit = Number(env.POOL_RSS_LIMIT ?? 1024 ** 3);
  const work = env.POOL_WORK === "none" ? "none" : "one-task";
  const step = Number(env.POOL_STEP ?? 5_000);
  const concurrency = Number(env.POOL_CONCURRENCY ?? 128);
  fullGc();
  const baseline = reading();
  const readings: MemoryReading[] = [];
  const activateMs: number[] = [];
  const firstIds: string[] = [];
  let overLimit = false;
  pauses();
  let done = 0;
  const runStart = process.hrtime.bigint();
  await pool(
    target,
    concurrency,
    async (i) => {
      const agentId = randomUUID();
      if (i < 10) firstIds.push(agentId);
      const t0 = process.hrtime.bigint();
      if (work === "one-task") await oneTask(agentId, `Task ${i}: what is 2+2?`);
      else await host.activations.activate(orgId, agentId);
      activateMs.push(msSince(t0));
      done++;
      if (done % step === 0) {
        // The host's periodic sweep (agents with nothing to save rest), then a reading.
        await host.activations.passivateIdle(24 * 3600 * 1000);
        const now = reading();
        readings.push(now);
        void send({ type: "progress", reading: now });
        if (now.rss > rssLimit) overLimit = true;
      }
    },
    () => overLimit,
  );
  await savesSettled();
  const seconds = msSince(runStart) / 1000;
  const during = pauses();
  fullGc();
  const final = reading();
  const activate = summarize(activateMs);
  const within = [...readings, final].filter((r) => r.rss <= rssLimit).reduce((most, r) => Math.max(most, r.agents), 0);

  // One of the first agents, called again with everything present: served from what the worker
  // holds (no store read), with the memory of its first task.
  const agentId = firstIds[0]!;
  const reads = host.activations.storeReads;
  const t0 = process.hrtime.bigint();
  const execution = await callAgent(nc, benchTask(orgId, agentId, "And what was my first question?"), { timeoutMs: 30_000 });
  const ms = msSince(t0);
  const check = {
    agentId,
    status: execution.status,
    storeReads: host.activations.storeReads - reads,
    remembered: work === "one-task" ? (host.activations.get(agentId)?.actor.getSnapshot().context.memory.length ?? 0) === 2 : true,
    ms,
  };
  return {
    kind: "idle",
    work,
    target,
    rssLimit,
    reached: final.agents,
    stoppedBy: overLimit || final.rss > rssLimit ? "rss-limit" : "target",
    withinLimit: within,
    baseline,
    final,
    readings,
    seconds,
    perSecond: done / seconds,
    activateMs: { p50: activate.p50, p99: activate.p99 },
    pauses: during,
    check,
  };
}

async function reactivate(): Promise<ReactivationResult> {
  const count = Number(env.POOL_AGENTS ?? 2_000);
  const warmup = Math.min(200, count);
  const concurrency = Number(env.POOL_CONCURRENCY ?? 64);
  const ids = Array.from({ length: count + warmup }, () => randomUUID());
  // Every agent does one task (snapshot stored with context.last and memory), then is passivated.
  await pool(ids.length, 64, (i) => oneTask(ids[i]!, `Task ${i}: what is 2+2?`));
  await savesSettled();
  const passivateMs: number[] = [];
  /** Every agent out of memory: live ones saved and stopped, resting ones forgotten (the store has them). */
  const passivateAll = async () => {
    for (const hosted of host.activations.all()) {
      const t0 = process.hrtime.bigint();
      if (!(await host.activations.passivate(hosted))) throw new Error("an agent with work could not be passivated");
      passivateMs.push(msSince(t0));
    }
    await host.activations.passivateIdle(0);
    if (host.activations.size !== 0) throw new Error(`${host.activations.size} agents still in memory after passivating all`);
  };
  await passivateAll();

  // One at a time: the latency of bringing one agent back from the store.
  pauses();
  const activateMs: number[] = [];
  const readsBefore = host.activations.storeReads;
  for (const [i, agentId] of ids.entries()) {
    const t0 = process.hrtime.bigint();
    const hosted = await host.activations.activate(orgId, agentId);
    const ms = msSince(t0);
    if (hosted.revision === 0 || hosted.actor.getSnapshot().context.memory.length !== 1) throw new Error("agent did not come back from its snapshot");
    if (i >= warmup) activateMs.push(ms);
  }
  const storeReadsPerActivation = (host.activations.storeReads - readsBefore) / ids.length;
  const during = pauses();

  // The parts: KV get alone, then restoring actors from snapshots already in memory.
  const snapshots = new SnapshotStore(stores.snapshots);
  const kvGetMs: number[] = [];
  const loaded: Array<{ agentId: string; snapshot: unknown }> = [];
  let bytes = 0;
  for (const [i, agentId] of ids.entries()) {
    const t0 = process.hrtime.bigint();
    const stored = await snapshots.load(orgId, agentId);
    const ms = msSince(t0);
    if (!stored) throw new Error("snapshot missing");
    if (i >= warmup) {
      kvGetMs.push(ms);
      loaded.push({ agentId, snapshot: stored.snapshot });
      bytes += JSON.stringify(stored.snapshot).length;
    }
  }
  const machine = agentMachine.provide({ actions: modelCallActions(createCallModel({ providers: providersFromEnv({}), prices: defaultPrices })).actions });
  const restoreMs: number[] = [];
  for (const { agentId, snapshot } of loaded) {
    const t0 = process.hrtime.bigint();
    const actor = createActor(machine, { input: { orgId, agentId }, snapshot: snapshot as Snapshot<unknown> });
    actor.subscribe(() => undefined);
    actor.start();
    restoreMs.push(msSince(t0));
    actor.stop();
  }

  // Waking resting agents, one at a time: what a call to an agent at rest here costs (no store read).
  await host.activations.passivateIdle(24 * 3600 * 1000);
  if (host.activations.restingCount !== ids.length) throw new Error(`${host.activations.restingCount} of ${ids.length} agents rest`);
  const wakeMs: number[] = [];
  const readsBeforeWake = host.activations.storeReads;
  for (const [i, agentId] of ids.entries()) {
    const t0 = process.hrtime.bigint();
    const hosted = await host.activations.activate(orgId, agentId);
    const ms = msSince(t0);
    if (hosted.actor.getSnapshot().context.memory.length !== 1) throw new Error("agent did not wake with its memory");
    if (i >= warmup) wakeMs.push(ms);
  }
  if (host.activations.storeReads !== readsBeforeWake) throw new Error("waking a resting agent read the store");

  // Many at once: how fast a worker brings agents back from the store (e.g. a shard taken over).
  passivateMs.length = 0;
  await passivateAll();
  const t0 = process.hrtime.bigint();
  await pool(ids.length, concurrency, async (i) => void (await host.activations.activate(orgId, ids[i]!)));
  const concurrentPerSecond = ids.length / (msSince(t0) / 1000);

  const passivate = summarize(passivateMs);
  return {
    kind: "reactivate",
    agents: count,
    activate: summarize(activateMs),
    storeReadsPerActivation,
    wake: summarize(wakeMs),
    kvGet: summarize(kvGetMs),
    restoreCpu: summarize(restoreMs),
    passivate: { p50: passivate.p50, p99: passivate.p99 },
    snapshotBytes: bytes / Math.max(1, loaded.length),
    concurrentPerSecond,
    concurrency,
    pauses: during,
  };
}

let code = 0;
try {
  const result = env.POOL_MODE === "reactivate" ? await reactivate() : await idle();
  await send({ type: "result", result });
} catch (error) {
  code = 1;
  await send({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
} finally {
  await host.stop(1_000);
  await nc.drain();
}
process.exit(code);
