import type { KV } from "@nats-io/kv";
import type { NatsConnection, Payload, PublishOptions } from "@nats-io/transport-node";
import { createLogger } from "../../common/logger.js";
import { connectToBus } from "../../common/nats-connect.js";
import { ensureTaskStream, openRuntimeStores, type RuntimeStores } from "../../common/runtime-streams.js";
import { loadRuntimeEnv } from "../../runtime/config.js";
import { defaultPrices } from "../../runtime/providers/prices.js";
import { providersFromEnv } from "../../runtime/providers/registry-from-env.js";
import { AgentHost } from "../../runtime/system/agent-host.js";

/**
 * A runtime worker wired like runtime/main.ts (AgentHost only: team runs are not on the agent-call
 * path) with what-if changes, so the benchmark can measure a proposed change before anyone makes
 * it in the runtime. WHAT_IF is a comma-separated list of:
 *
 * - `no-snapshot-write`: the snapshot bucket's first writes (put) and updates answer at once without writing (what
 *   is left of snapshot saves now that they are coalesced to at most one per agent per second);
 * - `no-status-events`: publishes on `nf.*.agent.*.status` are dropped (an upper bound for
 *   making status events optional for calls; they are already one per 0-latency call).
 *
 * Started by bench/runtime/bus.ts `startWorker({ script })`; logs "runtime worker ready" like
 * main.ts; stops on SIGTERM.
 */
const env = loadRuntimeEnv();
const whatIf = new Set((process.env.WHAT_IF ?? "").split(",").filter(Boolean));
const logger = createLogger("runtime").child({ workerId: env.WORKER_ID, whatIf: [...whatIf] });
const connection = await connectToBus({ servers: env.NATS_URL, name: `neuroflow-runtime-${env.WORKER_ID}`, credsFile: env.NATS_CREDS });

/** `target` with its methods bound to it, except those `override` replaces. */
function wrap<T extends object>(target: T, override: Partial<Record<keyof T, unknown>>): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      if (Object.hasOwn(override, property)) return override[property as keyof T];
      const value: unknown = Reflect.get(object, property, receiver);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}

const nc: NatsConnection = whatIf.has("no-status-events")
  ? wrap(connection, {
      publish: (subject: string, payload?: Payload, options?: PublishOptions) => {
        if (/^nf\.[^.]+\.agent\.[^.]+\.status$/.test(subject)) return;
        connection.publish(subject, payload, options);
      },
    })
  : connection;

await ensureTaskStream(nc);
const opened = await openRuntimeStores(nc);
let revision = 1_000_000;
const stores: RuntimeStores = whatIf.has("no-snapshot-write")
  ? {
      ...opened,
      snapshots: wrap<KV>(opened.snapshots, { put: () => Promise.resolve(++revision), update: () => Promise.resolve(++revision) }),
    }
  : opened;
const host = new AgentHost({
  nc,
  stores,
  workerId: env.WORKER_ID,
  providers: providersFromEnv(process.env, { simulated: { latencyMs: env.SIMULATED_LATENCY_MS, seed: env.SIMULATED_SEED } }),
  prices: defaultPrices,
  logger,
  passivateAfterMs: env.PASSIVATE_AFTER_MS,
  leaseTiming: { ttlMs: env.LEASE_TTL_MS, heartbeatMs: env.LEASE_HEARTBEAT_MS },
});
await host.start();
logger.info({ shards: host.shards.length }, "runtime worker ready");

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await host.stop(env.SHUTDOWN_GRACE_MS);
  await connection.drain();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown());
process.on("SIGINT", () => void shutdown());
