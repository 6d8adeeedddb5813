import type { NatsConnection } from "@nats-io/transport-node";
import { connectToBus } from "../common/nats-connect.js";
import { readTenancySecrets } from "../common/nats-tenancy.js";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { CredentialsCipher } from "./auth/credentials-cipher.js";
import { OrgGate } from "./auth/org-gate.js";
import { SessionTokens } from "./auth/session.js";
import { StatusSubscriber } from "./bus/status-subscriber.js";
import { BusTaskIntake } from "./bus/task-intake.js";
import { TeamEventSubscriber } from "./bus/team-event-subscriber.js";
import { DEFAULT_TEAM_RUN_TIMEOUT_MS, TeamRunner } from "./dispatch/team-runner.js";
import { TaskSweeper } from "./dispatch/sweeper.js";
import { TeamRunSweeper } from "./dispatch/team-run-sweeper.js";
import { OutcomeStore } from "../common/outcome-store.js";
import { ensureTaskStream, openRuntimeStores } from "../common/runtime-streams.js";
import { SnapshotStore } from "../common/snapshot-store.js";
import type { ControlPlaneConfig } from "./config.js";
import { buildHttpApp } from "./http/app.js";
import { ControlPlaneMetrics } from "./http/metrics.js";
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
 * NATS, serves HTTP + WebSocket, relays status and team execution events, and sends team runs to
 * the runtime pool. Rejects (after cleaning up what it opened) when Postgres or NATS can't be reached.
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
    nc = await connectToBus({ servers: config.NATS_URL, name: "neuroflow-control-plane", credsFile: config.NATS_CREDS });
    await ensureTaskStream(nc);
    const stores = await openRuntimeStores(nc);
    const outcomes = new OutcomeStore(stores.outcomes);
    const snapshots = new SnapshotStore(stores.snapshots);
    const tenancy = config.NATS_TENANCY_FILE ? await readTenancySecrets(config.NATS_TENANCY_FILE) : undefined;
    const tokens = new SessionTokens(config.AUTH_SECRET);
    const gate = new OrgGate({ db, tokens });
    const cipher = new CredentialsCipher(config.AUTH_SECRET);
    let relay: WsRelay | undefined;
    const metrics = new ControlPlaneMetrics({ wsClients: () => relay?.clientCount() ?? 0 });
    const teamRuns = new TeamRunner({ nc, db, logger: logger.child({ component: "team-runs" }), metrics });
    const app = await buildHttpApp(
      {
        db,
        nc,
        tokens,
        gate,
        cipher,
        logger,
        taskAckTimeoutMs: config.TASK_ACK_TIMEOUT_MS,
        outcomes,
        snapshots,
        metrics,
        teamRuns,
        bus: { servers: config.NATS_PUBLIC_URL ?? config.NATS_URL, tenancy, orgCredsTtlSeconds: config.NATS_ORG_CREDS_TTL_SECONDS },
      },
      { consoleDir: config.CONSOLE_DIR },
    );
    const openRelay = new WsRelay({ server: app.server, gate, logger: logger.child({ component: "ws" }) });
    relay = openRelay;
    // app.close() waits for open sockets: close the relay's first.
    app.addHook("preClose", async () => openRelay.close());
    const subscriber = new StatusSubscriber({
      nc,
      db,
      logger: logger.child({ component: "status" }),
      metrics,
      relay: (event) => openRelay.broadcast(event.orgId, event),
    });
    const teamEvents = new TeamEventSubscriber({
      nc,
      db,
      logger: logger.child({ component: "team-events" }),
      metrics,
      relay: (event) => openRelay.broadcastTeamEvent(event),
    });
    const intake = new BusTaskIntake({ nc, db, logger: logger.child({ component: "intake" }), publishTimeoutMs: config.TASK_ACK_TIMEOUT_MS });
    const sweeper = new TaskSweeper({
      db,
      nc,
      logger: logger.child({ component: "sweeper" }),
      intervalMs: config.SWEEP_INTERVAL_MS,
      staleAfterMs: config.SWEEP_STALE_AFTER_MS,
      publishTimeoutMs: config.TASK_ACK_TIMEOUT_MS,
    });
    sweeper.start();
    // Runs whose control plane died with them: a minute past the run timeout, their starter would have ended them.
    const teamSweeper = new TeamRunSweeper({
      db,
      nc,
      logger: logger.child({ component: "team-sweeper" }),
      intervalMs: 30_000,
      abandonedAfterMs: DEFAULT_TEAM_RUN_TIMEOUT_MS + 60_000,
    });
    teamSweeper.start();
    await app.listen({ host: config.HOST, port: config.PORT });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.PORT;
    const connection = nc;
    return {
      url: `http://${config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST}:${port}`,
      app,
      db,
      nc: connection,
      relay: openRelay,
      stop: async () => {
        await app.close();
        await sweeper.stop();
        await teamSweeper.stop();
        await intake.stop();
        await subscriber.stop();
        await teamEvents.stop();
        // Draining ends the run requests still waiting; the runner records nothing for those.
        const runsSettled = teamRuns.stop();
        await connection.drain();
        await runsSettled;
        await db.close();
      },
    };
  } catch (error) {
    await nc?.close();
    await db.close();
    throw error;
  }
}
