import type { BenchBus } from "./bus.js";
import { startBenchChild } from "./bus.js";
import type { IdleResult, PoolChildMessage, ReactivationResult } from "./pool-messages.js";

/** Options of the idle-agents run. */
export interface IdleOptions {
  target: number;
  rssLimitBytes: number;
  work: "one-task" | "none";
  say: (line: string) => void;
}

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MiB`;

async function runPoolChild(bus: BenchBus, env: Record<string, string>, say: (line: string) => void): Promise<IdleResult | ReactivationResult> {
  const child = startBenchChild<PoolChildMessage>("pool-child.ts", { NATS_URL: bus.url, NATS_CREDS: bus.credsFile, ...env }, ["--expose-gc"]);
  try {
    for (;;) {
      const message = await child.next();
      if (message.type === "progress") {
        const { agents, live, resting, rss, heapUsed, atSeconds } = message.reading;
        say(`  ${agents} agents (${live} live, ${resting} resting): rss ${mib(rss)}, heap ${mib(heapUsed)} (${atSeconds.toFixed(1)} s)`);
      } else if (message.type === "error") {
        throw new Error(`pool child failed: ${message.message}`);
      } else {
        return message.result;
      }
    }
  } finally {
    // The child stops its AgentHost (releasing the shard leases) and exits by itself.
    const exited = new Promise<void>((resolve) => {
      if (child.process.exitCode !== null || child.process.signalCode !== null) resolve();
      else child.process.once("exit", () => resolve());
    });
    const timer = setTimeout(() => void child.stop(), 60_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Idle agents per worker: a worker's AgentHost in a child process activates agents (each doing one
 * task first, unless `work` is `none`) until `target` or until its RSS passes the limit.
 */
export async function measureIdleAgents(bus: BenchBus, options: IdleOptions): Promise<IdleResult> {
  const result = await runPoolChild(
    bus,
    { POOL_MODE: "idle", POOL_TARGET: String(options.target), POOL_RSS_LIMIT: String(options.rssLimitBytes), POOL_WORK: options.work },
    options.say,
  );
  if (result.kind !== "idle") throw new Error("pool child answered the wrong run");
  return result;
}

/** Reactivation from snapshot: `agents` agents do one task, are passivated and activated back. */
export async function measureReactivation(bus: BenchBus, agents: number, say: (line: string) => void): Promise<ReactivationResult> {
  const result = await runPoolChild(bus, { POOL_MODE: "reactivate", POOL_AGENTS: String(agents) }, say);
  if (result.kind !== "reactivate") throw new Error("pool child answered the wrong run");
  return result;
}
