import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { serverConfig, type TenancySecrets } from "../../runtime/messaging/nats-tenancy.js";
import { freePort, stopChild, type RunningService } from "./services.js";

export interface SecuredNatsOptions {
  binary: string;
  /** Holds the generated config file and the JetStream store. */
  dataDir: string;
  secrets: TenancySecrets;
  port?: number;
}

/**
 * Starts nats-server in operator mode (decentralized JWT auth) for the given tenancy, with JetStream, on
 * 127.0.0.1; resolves once it says "Server is ready". Rejects with the server's last log lines when it
 * exits early (e.g. a config it refuses) or is not ready within 15 s.
 */
export async function startSecuredNats(
  options: SecuredNatsOptions,
): Promise<RunningService & { port: number; configPath: string; process: ChildProcess }> {
  await mkdir(options.dataDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const configPath = join(options.dataDir, "nats-server.conf");
  await writeFile(configPath, serverConfig(options.secrets, { port, storeDir: join(options.dataDir, "jetstream") }), {
    mode: 0o600,
  });
  const child = spawn(options.binary, ["-c", configPath], { stdio: ["ignore", "ignore", "pipe"] });
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
    configPath,
    process: child,
    stop: async () => void (await stopChild(child, 5_000)),
  };
}
