import { z } from "zod";

/** The control plane's environment, parsed once at start; a bad value fails fast with its name. */
export const controlPlaneEnvSchema = z.object({
  /** The owner's URL (migrations); requests run as `<db>_app` and `<db>_system` under row-level security. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
  /** Explicit role URLs, for databases where the control plane may not set role passwords. */
  APP_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL").optional(),
  SYSTEM_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL").optional(),
  NATS_URL: z.string().min(1),
  /** Service credentials file for a bus in operator mode. */
  NATS_CREDS: z.string().min(1).optional(),
  /** The bus's tenancy secrets (common/nats-tenancy.ts): lets the control plane mint per-org credentials. */
  NATS_TENANCY_FILE: z.string().min(1).optional(),
  /** The NATS URL handed to org clients with their credentials (defaults to NATS_URL). */
  NATS_PUBLIC_URL: z.string().min(1).optional(),
  NATS_ORG_CREDS_TTL_SECONDS: z.coerce.number().int().min(60).max(30 * 24 * 3600).default(3600),
  HOST: z.string().default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  AUTH_SECRET: z.string().min(32, "must be at least 32 characters"),
  SEED_DEMO: z
    .enum(["true", "false"])
    .default("false")
    .transform((value) => value === "true"),
  CONSOLE_DIR: z.string().default(new URL("../console/dist", import.meta.url).pathname),
  /** How long to wait for JetStream to store a task (past it, the sweeper publishes it). */
  TASK_ACK_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  /** How often the sweeper looks for executions that stopped moving. */
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(1_000),
  /** An unfinished execution unchanged this long is published again (seconds, not minutes). */
  SWEEP_STALE_AFTER_MS: z.coerce.number().int().min(500).default(5_000),
});
export type ControlPlaneConfig = z.infer<typeof controlPlaneEnvSchema>;

export function loadControlPlaneEnv(env: NodeJS.ProcessEnv = process.env): ControlPlaneConfig {
  const parsed = controlPlaneEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new Error(`invalid control-plane environment: ${problems}`);
  }
  return parsed.data;
}
