import { readFileSync } from "node:fs";
import { createLogger } from "../common/logger.js";
import { connectToBus } from "../common/nats-connect.js";
import { loadRuntimeEnv } from "./config.js";
import { defaultPrices, withPriceOverrides } from "./providers/prices.js";
import { providersFromEnv } from "./providers/registry-from-env.js";
import { ensureTaskStream, openRuntimeStores } from "../common/runtime-streams.js";
import { AgentHost } from "./system/agent-host.js";
import { TeamHost } from "./system/team-host.js";

/**
 * One runtime worker process: connects to NATS, hosts agent actors and team runs, and on SIGTERM/SIGINT stops
 * taking tasks, lets in-flight ones finish, and drains the connection before exiting.
 */
const env = loadRuntimeEnv();
const logger = createLogger("runtime").child({ workerId: env.WORKER_ID });

const nc = await connectToBus({ servers: env.NATS_URL, name: `neuroflow-runtime-${env.WORKER_ID}`, credsFile: env.NATS_CREDS });
const providers = providersFromEnv(process.env, { simulated: { latencyMs: env.SIMULATED_LATENCY_MS, seed: env.SIMULATED_SEED } });
const prices = env.PRICES_FILE ? withPriceOverrides(JSON.parse(readFileSync(env.PRICES_FILE, "utf8"))) : defaultPrices;
await ensureTaskStream(nc);
const stores = await openRuntimeStores(nc);
const host = new AgentHost({
  nc,
  stores,
  workerId: env.WORKER_ID,
  providers,
  prices,
  logger,
  passivateAfterMs: env.PASSIVATE_AFTER_MS,
  leaseTiming: { ttlMs: env.LEASE_TTL_MS, heartbeatMs: env.LEASE_HEARTBEAT_MS },
});
await host.start();
const teams = new TeamHost({ nc, workerId: env.WORKER_ID, logger, callHere: (task) => host.callHere(task) });
await teams.start();
logger.info({ nats: nc.getServer(), shards: host.shards.length }, "runtime worker ready");

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping runtime worker");
  // A drain waits on NATS; with the server gone it would wait forever. Whatever is unfinished by then
  // is redelivered to another worker (the queue and the outcome store make that safe).
  setTimeout(() => {
    logger.error("shutdown did not finish in time; exiting");
    process.exit(1);
  }, env.SHUTDOWN_GRACE_MS * 2 + 5_000).unref();
  // Team runs first: their members are agents this worker may host, which must keep serving meanwhile.
  await teams.stop(env.SHUTDOWN_GRACE_MS);
  await host.stop(env.SHUTDOWN_GRACE_MS);
  await nc.drain();
  logger.info("runtime worker stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
void nc.closed().then((error) => {
  if (!stopping) {
    logger.fatal({ err: error }, "NATS connection closed unexpectedly");
    process.exit(1);
  }
});
