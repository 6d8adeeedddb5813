import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { stopChild } from "./services.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface RuntimeWorker {
  readonly process: ChildProcess;
  /** Everything the worker logged (JSON lines), for assertions on what it reported. */
  readonly output: () => string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `runtime/main.ts` (or `script`) as a real child process, as `npm start` and
 * docker-compose do, and resolves once it logs that it is ready; a worker that does not start is
 * stopped and the error says what it logged. `nodeFlags` go before the script (`--cpu-prof` is
 * refused in NODE_OPTIONS). The log kept is its last megabyte.
 */
export async function startRuntimeWorker(options: {
  natsUrl: string;
  workerId: string;
  env?: Record<string, string>;
  nodeFlags?: string[];
  script?: string;
}): Promise<RuntimeWorker> {
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), "--import", "tsx", options.script ?? "runtime/main.ts"], {
    cwd: root,
    env: {
      ...process.env,
      // A developer's own model keys must not turn the offline suite into paid API calls.
      OPENAI_API_KEY: "",
      OPENAI_BASE_URL: "",
      ANTHROPIC_API_KEY: "",
      NATS_URL: options.natsUrl,
      WORKER_ID: options.workerId,
      LOG_LEVEL: "info",
      LOG_PRETTY: "false",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: string) => {
    output += chunk;
    // Keep the tail only: a long run logs a warning per refused call.
    if (output.length > 1_000_000) output = output.slice(-500_000);
  };
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runtime worker did not start in 30 s:\n${output}`)), 30_000);
    const check = () => {
      if (output.includes("runtime worker ready")) {
        clearTimeout(timer);
        child.stdout?.off("data", check);
        resolve();
      }
    };
    child.stdout?.on("data", check);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`runtime worker exited with ${signal ?? code}:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    await stopChild(child, 2_000);
    throw error;
  });
  return {
    process: child,
    output: () => output,
    stop: () => stopChild(child, 15_000),
  };
}
