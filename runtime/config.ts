import { hostname } from "node:os";
import { z } from "zod";

/** A runtime worker's environment, parsed once at start; a bad value fails fast with its name. */
export const runtimeEnvSchema = z.object({
  NATS_URL: z.string().min(1),
  /** Service credentials file for a bus in operator mode (npm start makes one). */
  NATS_CREDS: z.string().min(1).optional(),
  /** A subject token: it names the worker's forward subject and its lease entries. */
  WORKER_ID: z.string().regex(/^[A-Za-z0-9_-]+$/).max(200).optional(),
  SIMULATED_LATENCY_MS: z.coerce.number().int().min(0).max(600_000).default(600),
  SIMULATED_SEED: z.coerce.number().int().default(42),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  /** Agents with no work for this long are saved and stopped; the next task restores them. */
  PASSIVATE_AFTER_MS: z.coerce.number().int().min(100).default(60_000),
  /** A shard lease not renewed for this long passes to another worker (how fast a dead worker's agents move). */
  LEASE_TTL_MS: z.coerce.number().int().min(200).default(1_200),
  LEASE_HEARTBEAT_MS: z.coerce.number().int().min(50).default(250),
  /** A JSON price table laid over the shipped one (runtime/providers/prices.ts), model by model. */
  PRICES_FILE: z.string().min(1).optional(),
});
export type RuntimeEnv = z.infer<typeof runtimeEnvSchema> & { WORKER_ID: string };

export function loadRuntimeEnv(env: NodeJS.ProcessEnv = process.env): RuntimeEnv {
  const parsed = runtimeEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new Error(`invalid runtime environment: ${problems}`);
  }
  if (parsed.data.LEASE_HEARTBEAT_MS * 3 > parsed.data.LEASE_TTL_MS) {
    throw new Error("invalid runtime environment: LEASE_TTL_MS must be at least 3 × LEASE_HEARTBEAT_MS");
  }
  const fallbackId = `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, "-");
  return { ...parsed.data, WORKER_ID: parsed.data.WORKER_ID ?? fallbackId };
}
