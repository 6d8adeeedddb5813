import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { inject } from "vitest";
import { controlPlaneEnvSchema } from "../../control-plane/config.js";
import { createOrganization, demoAgents, type AgentSeed, type SeededOrg } from "../../control-plane/persistence/seed.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/server.js";
import type { MembershipRole } from "../../entities/index.js";
import { createScratchDatabase } from "./scratch-database.js";

/** A quiet logger for in-process services; LOG_LEVEL=debug npm test shows everything. */
export const testLogger = pino({ level: process.env.LOG_LEVEL ?? "silent" });

/**
 * An in-process control plane on a free port against the run's NATS and Postgres. A test that
 * brings its own NATS_URL brings its own bus, and gets a database of its own (dropped at stop):
 * the control planes on the run's bus sweep every unfinished execution of their database, and
 * would run this one's on their bus.
 */
export async function startTestControlPlane(overrides: Record<string, string> = {}): Promise<ControlPlane> {
  const ownBus = overrides.NATS_URL !== undefined;
  // The run's bus needs credentials.
  const bus = ownBus ? {} : { NATS_URL: inject("natsUrl"), NATS_CREDS: inject("natsCredsFile"), NATS_TENANCY_FILE: inject("natsTenancyFile") };
  const scratch = ownBus && !overrides.DATABASE_URL ? await createScratchDatabase(inject("databaseUrl"), "own_bus") : undefined;
  try {
    const config = controlPlaneEnvSchema.parse({
      DATABASE_URL: scratch?.url ?? inject("databaseUrl"),
      ...bus,
      HOST: "127.0.0.1",
      PORT: "0",
      AUTH_SECRET: inject("authSecret"),
      CONSOLE_DIR: inject("consoleDir"),
      TASK_ACK_TIMEOUT_MS: "2000",
      ...overrides,
    });
    const controlPlane = await startControlPlane(config, testLogger);
    if (!scratch) return controlPlane;
    return {
      ...controlPlane,
      stop: async () => {
        await controlPlane.stop();
        await scratch.drop();
      },
    };
  } catch (error) {
    await scratch?.drop();
    throw error;
  }
}

export interface TestOrg extends SeededOrg {
  email: string;
  password: string;
}

/** A fresh organization with its own user, so tests never see each other's rows. */
export async function createTestOrg(
  controlPlane: ControlPlane,
  options: { agents?: AgentSeed[]; role?: MembershipRole } = {},
): Promise<TestOrg> {
  const id = randomUUID().slice(0, 8);
  const email = `user-${id}@test.neuroflow.dev`;
  const password = `pw-${randomUUID()}`;
  const seeded = await createOrganization(controlPlane.db, {
    name: `Test org ${id}`,
    slug: `test-${id}`,
    user: { email, name: `User ${id}`, password },
    role: options.role ?? "OWNER",
    agents: options.agents ?? demoAgents.slice(0, 2),
  });
  return { ...seeded, email, password };
}

/** Logs in and returns the session cookie (`nf_session=…`). */
export async function login(baseUrl: string, email: string, password: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  const cookie = response.headers.get("set-cookie")?.split(";")[0];
  if (!cookie) throw new Error("login set no cookie");
  return cookie;
}

/** A JSON request; returns the status and the parsed body (undefined when empty). */
export async function api(
  baseUrl: string,
  path: string,
  options: { method?: string; body?: unknown; rawBody?: string; cookie?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.cookie) headers.cookie = options.cookie;
  if (options.body !== undefined || options.rawBody !== undefined) headers["content-type"] ??= "application/json";
  const response = await fetch(`${baseUrl}${path}`, {
    method: options.method ?? (options.body !== undefined || options.rawBody !== undefined ? "POST" : "GET"),
    headers,
    body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
