import type { ChildProcess } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { serverConfig, type TenancySecrets } from "../../common/nats-tenancy.js";
import { freePort, startNats, type RunningService } from "./services.js";

export interface SecuredNatsOptions {
  binary: string;
  /** Holds the generated config file and the JetStream store. */
  dataDir: string;
  secrets: TenancySecrets;
  port?: number;
}

/**
 * Starts nats-server in operator mode (decentralized JWT auth) for the given tenancy, with
 * JetStream, on 127.0.0.1. The config (no seeds in it, but still 0600) goes into `dataDir`.
 * Fails like `startNats`.
 */
export async function startSecuredNats(
  options: SecuredNatsOptions,
): Promise<RunningService & { port: number; configPath: string; process: ChildProcess }> {
  await mkdir(options.dataDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const configPath = join(options.dataDir, "nats-server.conf");
  await writeFile(configPath, serverConfig(options.secrets, { port, storeDir: join(options.dataDir, "jetstream") }), { mode: 0o600 });
  const nats = await startNats({ binary: options.binary, dataDir: options.dataDir, port, configFile: configPath });
  return { ...nats, configPath };
}
