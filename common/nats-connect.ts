import { readFileSync } from "node:fs";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { SERVICE_INBOX_PREFIX } from "./nats-tenancy.js";

export interface BusConnectOptions {
  servers: string;
  /** Client name shown by the server's monitoring. */
  name: string;
  /**
   * A service `.creds` file (see common/nats-tenancy.ts). Read again on every (re)connect, so
   * replacing the file rotates the credentials without a restart. Without it: no auth (dev).
   */
  credsFile?: string | undefined;
}

/**
 * Connects a NeuroFlow process (runtime worker, control plane) to NATS as a service. Reconnects
 * forever; rejects when the first connection fails (bad URL, bad or expired credentials). Request
 * errors carry no async stack trace (see below).
 */
export function connectToBus(options: BusConnectOptions): Promise<NatsConnection> {
  const { credsFile } = options;
  return connect({
    servers: options.servers,
    name: options.name,
    maxReconnectAttempts: -1,
    // Otherwise every request (a KV snapshot write is one) builds two Error objects up front to keep
    // the caller's stack: ~5 µs a request warm, 3–4% of a worker's CPU in the team benchmark's
    // profile. Our callers map request failures to typed errors and never log that stack.
    noAsyncTraces: true,
    ...(credsFile
      ? { authenticator: credsAuthenticator(() => readFileSync(credsFile)), inboxPrefix: SERVICE_INBOX_PREFIX }
      : {}),
  });
}
