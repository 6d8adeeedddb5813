import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { OrgGate } from "../auth/org-gate.js";
import type { SessionTokens } from "../auth/session.js";
import type { Database } from "../persistence/database.js";

/** What HTTP routes need. Every database access goes through `db.asUser` / `db.asSystem`. */
export interface RouteDeps {
  db: Database;
  nc: NatsConnection;
  tokens: SessionTokens;
  /** Authentication + org membership + role + the unit of work, for every org-scoped route. */
  gate: OrgGate;
  logger: Logger;
  taskAckTimeoutMs: number;
}
