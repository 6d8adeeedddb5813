import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import type { TestProject } from "vitest/node";
import { openOrm } from "../control-plane/persistence/orm.js";
import { createTenancy, mintServiceCreds, writeTenancySecrets } from "../common/nats-tenancy.js";
import { startSecuredNats } from "./support/nats-auth.js";
import { ensureNatsServer, startPostgres, type RunningService } from "./support/services.js";
import { startRuntimeWorker, type RuntimeWorker } from "./support/runtime-worker.js";

declare module "vitest" {
  export interface ProvidedContext {
    natsUrl: string;
    /** Service credentials of the run's bus (operator mode, like npm start). */
    natsCredsFile: string;
    /** The bus's tenancy secrets, for control planes that mint org credentials. */
    natsTenancyFile: string;
    databaseUrl: string;
    consoleDir: string;
    /** One AUTH_SECRET for every control plane of the run: the database role passwords derive from it. */
    authSecret: string;
  }
}

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * Starts the real services once per run — nats-server (JetStream) and embedded Postgres in a temp
 * dir, migrated — plus one runtime worker process shared by the tests (each test uses its own
 * organization), and builds the console for the browser test. Tears everything down at the end;
 * if setup fails half-way, stops what it had started.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "neuroflow-test-"));
  // mkdtemp makes it 0700; as root, Postgres runs as the `postgres` user and must reach its data dir.
  await chmod(dir, 0o755);
  const started: Array<RunningService | RuntimeWorker> = [];
  const teardown = async () => {
    for (const service of started.reverse()) await service.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // The bus runs in operator mode, as under npm start: every process connects with credentials.
    const tenancy = await createTenancy();
    const natsTenancyFile = join(dir, "nats-tenancy.json");
    await writeTenancySecrets(natsTenancyFile, tenancy);
    const binary = ensureNatsServer((line) => process.stderr.write(`${line}\n`));
    const nats = await startSecuredNats({ binary, dataDir: join(dir, "nats"), secrets: tenancy });
    started.push(nats);
    const natsCredsFile = join(dir, "service.creds");
    await writeFile(natsCredsFile, (await mintServiceCreds(tenancy, "neuroflow-test", { ttlSeconds: 24 * 3600 })).creds, { mode: 0o600 });
    const pg = await startPostgres({ dataDir: join(dir, "pg"), password: "neuroflow-test", unsafeFast: true });
    started.push(pg);
    const orm = await openOrm(pg.url, pino({ level: "silent" }));
    await orm.close();
    started.push(
      await startRuntimeWorker({ natsUrl: nats.url, workerId: "test-worker-1", env: { SIMULATED_LATENCY_MS: "150", NATS_CREDS: natsCredsFile } }),
    );

    const build = spawnSync("npx", ["vite", "build", "--config", "console/vite.config.ts", "--logLevel", "warn"], {
      cwd: root,
      encoding: "utf8",
    });
    if (build.status !== 0) throw new Error(`console build failed:\n${build.stdout}\n${build.stderr}`);

    project.provide("natsUrl", nats.url);
    project.provide("natsCredsFile", natsCredsFile);
    project.provide("natsTenancyFile", natsTenancyFile);
    project.provide("databaseUrl", pg.url);
    project.provide("consoleDir", join(root, "console", "dist"));
    project.provide("authSecret", `test-secret-${randomUUID()}`);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}

