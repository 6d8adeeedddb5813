import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { connectOptionsFor, createTenancy, mintServiceCreds, type TenancySecrets } from "../../common/nats-tenancy.js";
import { startSecuredNats } from "../../test/support/nats-auth.js";
import { startRuntimeWorker } from "../../test/support/runtime-worker.js";
import { ensureNatsServer, stopChild } from "../../test/support/services.js";

/**
 * The one nats-server every column of the runtime benchmark runs on, and the processes around it.
 * Operator mode (decentralized JWT auth, service credentials), as `npm start` and production run
 * it: the raw NATS column and the runtime column pay the same auth and permission checks.
 */
export interface BenchBus {
  readonly url: string;
  /** nats-server's process id (for its CPU time). */
  readonly serverPid: number | undefined;
  /** A `.creds` file of service credentials (child processes and workers connect with it). */
  readonly credsFile: string;
  /** A new client connection with service credentials (closed by `stop()`). */
  connect(name: string): Promise<NatsConnection>;
  /** Closes every connection made by `connect()` and stops nats-server. */
  stop(): Promise<void>;
}

/** Starts nats-server in operator mode with JetStream under `dir`. */
export async function startBenchBus(dir: string, say: (line: string) => void): Promise<BenchBus> {
  const tenancy: TenancySecrets = await createTenancy({ operator: "bench", account: "NEUROFLOW" });
  const nats = await startSecuredNats({ binary: ensureNatsServer(say), dataDir: join(dir, "nats"), secrets: tenancy });
  const credsFile = join(dir, "service.creds");
  writeFileSync(credsFile, (await mintServiceCreds(tenancy, "bench", { ttlSeconds: 6 * 3600 })).creds, { mode: 0o600 });
  const connections: NatsConnection[] = [];
  return {
    url: nats.url,
    serverPid: nats.process.pid,
    credsFile,
    async connect(name: string) {
      const creds = await mintServiceCreds(tenancy, name, { ttlSeconds: 6 * 3600 });
      const nc = await connect({ servers: nats.url, name, ...connectOptionsFor(creds) });
      connections.push(nc);
      return nc;
    },
    async stop() {
      for (const nc of connections) if (!nc.isClosed()) await nc.close();
      await nats.stop();
    },
  };
}

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  workerId: string;
  /** Extra environment (SIMULATED_LATENCY_MS defaults to 0 here). */
  env?: Record<string, string>;
  /** Write a V8 CPU profile of the worker into this directory when it exits (`--cpu-prof`). */
  cpuProfileDir?: string;
  /** The worker's entry, relative to the repository (default runtime/main.ts). */
  script?: string;
  /** Extra node flags (e.g. `--max-semi-space-size=64`), before `--import tsx`. */
  nodeFlags?: readonly string[];
}

/** A runtime worker process of the benchmark. */
export interface BenchWorker {
  readonly process: ChildProcess;
  /** What it logged so far. */
  output(): string;
  /** SIGTERM (SIGKILL after 15 s) and wait for the exit. */
  stop(): Promise<number | null>;
}

/**
 * Starts a real runtime worker process (test/support/runtime-worker.ts) on the bench bus with the
 * service credentials, the simulated model at 0 latency, and optional node flags (a CPU profile).
 */
export function startWorker(bus: BenchBus, options: WorkerOptions): Promise<BenchWorker> {
  const flags = [...(options.cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`] : []), ...(options.nodeFlags ?? [])];
  return startRuntimeWorker({
    natsUrl: bus.url,
    workerId: options.workerId,
    nodeFlags: flags,
    ...(options.script ? { script: options.script } : {}),
    env: { NODE_OPTIONS: "", NATS_CREDS: bus.credsFile, SIMULATED_LATENCY_MS: "0", ...options.env },
  });
}

/** A helper process of the benchmark that talks to its parent over IPC. */
export interface BenchChild<Message> {
  readonly process: ChildProcess;
  /** The next message the child sends (rejects when it exits first). */
  next(): Promise<Message>;
  /** SIGTERM (SIGKILL after 5 s) and wait for the exit. */
  stop(): Promise<number | null>;
}

/**
 * Starts `bench/runtime/<script>` with tsx and an IPC channel; the child's stderr goes to ours.
 * Messages arrive in order through `next()`. `nodeFlags` go before `--import tsx` (e.g. --expose-gc).
 */
export function startBenchChild<Message>(script: string, env: Record<string, string>, nodeFlags: string[] = []): BenchChild<Message> {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  const child = spawn(process.execPath, [...nodeFlags, "--import", "tsx", path], {
    env: { ...process.env, NODE_OPTIONS: "", ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const queue: Message[] = [];
  const waiters: Array<{ resolve: (message: Message) => void; reject: (error: Error) => void }> = [];
  let exited: Error | undefined;
  child.on("message", (message) => {
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(message as Message);
    else queue.push(message as Message);
  });
  child.once("exit", (code, signal) => {
    exited = new Error(`${script} exited (${signal ?? code}) before answering`);
    for (const waiter of waiters.splice(0)) waiter.reject(exited);
  });
  return {
    process: child,
    next: () => {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      if (exited) return Promise.reject(exited);
      return new Promise<Message>((resolve, reject) => waiters.push({ resolve, reject }));
    },
    stop: () => stopChild(child, 5_000),
  };
}

/** Total CPU time (user + system, ms) a process has used so far, from /proc; undefined elsewhere. */
export async function cpuTimeMs(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux.
  } catch {
    return undefined;
  }
}
