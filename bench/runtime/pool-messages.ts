/** Memory of the pool child at one moment (bytes, from `process.memoryUsage()`). */
export interface MemoryReading {
  /** Agents the worker holds and serves without a store read when read: live + resting. */
  agents: number;
  /** Of them, with a live actor. */
  live: number;
  /** Of them, resting as their snapshot text. */
  resting: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Seconds since activation started. */
  atSeconds: number;
}

/** Pauses of the pool child's event loop while it measured, and what it logged. */
export interface PauseStats {
  gcCount: number;
  gcTotalMs: number;
  /** The longest GC pause. */
  gcMaxMs: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Lines the worker logged at warn or above (a lost lease, a failed save). */
  warnings: number;
  warningSample: string[];
}

/** Result of the idle-agents run (pool-child.ts, POOL_MODE=idle). */
export interface IdleResult {
  kind: "idle";
  /** What each agent did before resting: `one-task` (context.last and memory set, snapshot stored) or `none`. */
  work: "one-task" | "none";
  target: number;
  rssLimit: number;
  /** Agents held (live + resting) when the run stopped (target reached, or RSS passed the limit). */
  reached: number;
  stoppedBy: "target" | "rss-limit";
  /** Agents at the last reading whose RSS was within the limit (the capacity within it). */
  withinLimit: number;
  /** Before the first activation, after a full GC. */
  baseline: MemoryReading;
  /** After the last activation, after a full GC. */
  final: MemoryReading;
  /** The readings taken along the way (every `step` agents, no forced GC). */
  readings: MemoryReading[];
  seconds: number;
  /** Activations (with the task, when there is one) per second over the run. */
  perSecond: number;
  /** Per agent, under the run's concurrency (ms): the agent call (activation + task) or, with work `none`, `activate()`. */
  activateMs: { p50: number; p99: number };
  pauses: PauseStats;
  /**
   * After the final reading, one of the first agents is called again: how the call went, the store
   * reads it took (0: served from what the worker holds) and whether the agent remembered its first task.
   */
  check: { agentId: string; status: string; storeReads: number; remembered: boolean; ms: number };
}

/** Result of the reactivation run (pool-child.ts, POOL_MODE=reactivate). */
export interface ReactivationResult {
  kind: "reactivate";
  agents: number;
  /** `activate()` of a passivated agent, one at a time: KV get + createActor(snapshot) + start (ms). */
  activate: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Store reads those activations made, per agent (1: every one came from the KV store). */
  storeReadsPerActivation: number;
  /** `activate()` of a resting agent, one at a time: JSON.parse + createActor(snapshot) + start, no store read (ms). */
  wake: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** The KV get of the same snapshots alone, one at a time (ms). */
  kvGet: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** createActor(snapshot) + subscribe + start alone, from snapshots already in memory (ms). */
  restoreCpu: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** `passivate()`: save (nothing dirty: no write) + stop (ms). */
  passivate: { p50: number; p99: number };
  /** Stored snapshot size, bytes (mean). */
  snapshotBytes: number;
  /** Reactivations per second with `concurrency` at once. */
  concurrentPerSecond: number;
  concurrency: number;
  /** Over the one-at-a-time reactivations. */
  pauses: PauseStats;
}

/** Messages from pool-child.ts to its parent. */
export type PoolChildMessage =
  | { type: "progress"; reading: MemoryReading }
  | { type: "result"; result: IdleResult | ReactivationResult }
  | { type: "error"; message: string };
