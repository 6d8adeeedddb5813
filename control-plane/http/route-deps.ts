import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { SessionTokens } from "../auth/session.js";
import type { Database } from "../persistence/database.js";

/** What HTTP routes need. Every database access goes through `db.asUser` / `db.asSystem`. */
export interface RouteDeps {
  db: Database;
  nc: NatsConnection;
  tokens: SessionTokens;
  logger: Logger;
  taskAckTimeoutMs: number;
}
