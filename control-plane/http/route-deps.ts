import type { MikroORM } from "@mikro-orm/postgresql";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { SessionTokens } from "../auth/session.js";

/** What HTTP routes need; each route forks its own EntityManager (`fork({ clear: true })`). */
export interface RouteDeps {
  orm: MikroORM;
  nc: NatsConnection;
  tokens: SessionTokens;
  logger: Logger;
  taskAckTimeoutMs: number;
}
