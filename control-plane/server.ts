import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { OrgGate } from "./auth/org-gate.js";
import { SessionTokens } from "./auth/session.js";
import { StatusSubscriber } from "./bus/status-subscriber.js";
import type { ControlPlaneConfig } from "./config.js";
import { buildHttpApp } from "./http/app.js";
import { Database } from "./persistence/database.js";
import { seedDemo } from "./persistence/seed.js";
import { WsRelay } from "./ws/relay.js";

export interface ControlPlane {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly nc: NatsConnection;
  readonly relay: WsRelay;
  /** Stops in order: no new requests or sockets, stored events flushed, NATS drained, ORM closed. */
  stop(): Promise<void>;
}

/**
 * Starts the control plane: migrates the database, optionally seeds the demo org, connects to
 * NATS, serves HTTP + WebSocket, and relays status events. Rejects (after cleaning up what it
 * opened) when Postgres or NATS can't be reached.
 */
export async function startControlPlane(config: ControlPlaneConfig, logger: Logger): Promise<ControlPlane> {
  const db = await Database.open(
    {
      databaseUrl: config.DATABASE_URL,
      authSecret: config.AUTH_SECRET,
      appDatabaseUrl: config.APP_DATABASE_URL,
      systemDatabaseUrl: config.SYSTEM_DATABASE_URL,
    },
    logger,
  );
  let nc: NatsConnection | undefined;
  try {
    if (config.SEED_DEMO) {
      const seeded = await seedDemo(db);
      if (seeded.created) logger.info({ orgId: seeded.orgId }, "seeded the demo organization");
    }
    nc = await connect({ servers: config.NATS_URL, name: "neuroflow-control-plane", maxReconnectAttempts: -1 });
    const tokens = new SessionTokens(config.AUTH_SECRET);
    const gate = new OrgGate({ db, tokens });
    const app = await buildHttpApp(
      { db, nc, tokens, gate, logger, taskAckTimeoutMs: config.TASK_ACK_TIMEOUT_MS },
      { consoleDir: config.CONSOLE_DIR },
    );
    const relay = new WsRelay({ server: app.server, gate, logger: logger.child({ component: "ws" }) });
    // app.close() waits for open sockets: close the relay's first.
    app.addHook("preClose", async () => relay.close());
    const subscriber = new StatusSubscriber({
      nc,
      db,
      logger: logger.child({ component: "status" }),
      relay: (event) => relay.broadcast(event.orgId, event),
    });
    await app.listen({ host: config.HOST, port: config.PORT });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.PORT;
    const connection = nc;
    return {
      url: `http://${config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST}:${port}`,
      app,
      db,
      nc: connection,
      relay,
      stop: async () => {
        await app.close();
        await subscriber.stop();
        await connection.drain();
        await db.close();
      },
    };
  } catch (error) {
    await nc?.close();
    await db.close();
    throw error;
  }
}
