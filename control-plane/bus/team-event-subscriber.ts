import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { Logger } from "pino";
import { decodeJson, NeuroflowError, parseTeamSubject, subjects, teamExecEventsOf, teamExecEventsSchema, type TeamExecEvent } from "../../runtime/protocol/index.js";
import type { ControlPlaneMetrics } from "../http/metrics.js";
import type { Database } from "../persistence/database.js";
import { applyTeamEvents, type TeamEventOutcome } from "../persistence/team-batch-ledger.js";
import { appendTeamLogEntry, endTeamExecution, teamEndingOf } from "../persistence/team-ledger.js";
import { OrgBatchWriter, pumpInto, type BatchingOptions } from "./org-batch-writer.js";

/**
 * Consumes the coordination log entries of every org's team executions
 * (`nf.<org>.team.<team>.exec.<execution>.event`, one TeamExecEvents message per step of a run,
 * expanded into its entries in seq order), appends each to its TeamExecution's log (once
 * per `seq`, see team-ledger.ts), ends the row when the entry is the run's last (team.completed /
 * team.failed / team.cancelled — so the outcome is recorded even when the run's reply never
 * reaches this control plane), then hands it to `relay`. Received entries are written in batches,
 * one transaction per org per cycle (OrgBatchWriter + applyTeamEvents); `relay` gets each entry
 * after the transaction that stored it committed, in arrival order within its org. A malformed
 * message (or one whose ids are not its subject's) is logged and skipped whole; an entry the
 * database refuses is logged and skipped without failing its batch-mates.
 */
export class TeamEventSubscriber {
  readonly #subscription: Subscription;
  readonly #done: Promise<void>;

  constructor(deps: {
    nc: NatsConnection;
    db: Database;
    logger: Logger;
    relay: (event: TeamExecEvent) => void;
    metrics?: ControlPlaneMetrics;
    /** Defaults: OrgBatchWriter's. */
    batching?: BatchingOptions;
  }) {
    const { logger } = deps;
    const writer = new OrgBatchWriter<TeamExecEvent, TeamEventOutcome>({
      stream: "team",
      db: deps.db,
      logger,
      metrics: deps.metrics,
      applyBatch: applyTeamEvents,
      applyOne: applyTeamEvent,
      stored: (event, outcome) => {
        const log = logger.child({ orgId: event.orgId, teamId: event.teamId, executionId: event.executionId });
        if (!outcome.appended) log.debug({ seq: event.seq }, "team event already stored or out of order; not appended");
        if (outcome.ended) log.info({ status: teamEndingOf(event)?.status }, "team execution ended (from its log)");
        deps.relay(event);
      },
      dropped: () => undefined,
      describe: (event) => ({ orgId: event.orgId, teamId: event.teamId, executionId: event.executionId, seq: event.seq }),
      ...deps.batching,
    });
    const subscription = deps.nc.subscribe(subjects.anyTeamExecEvent);
    this.#subscription = subscription;
    this.#done = pumpInto(subscription, writer, (msg) => received(msg, logger), { logger, what: "team events" });
  }

  /** Stops taking events and waits until the ones already received are stored. */
  async stop(): Promise<void> {
    await this.#subscription.drain();
    await this.#done;
  }
}

/** One entry alone, as the subscriber wrote them before batching: the writer's fallback. */
async function applyTeamEvent(em: EntityManager, event: TeamExecEvent): Promise<TeamEventOutcome> {
  const appended = await appendTeamLogEntry(em, event);
  const ending = teamEndingOf(event);
  return { appended, ended: ending ? await endTeamExecution(em, ending) : false };
}

/** The entries a message carries, in seq order, or undefined (logged) when it is malformed or not its subject's. */
function received(msg: Msg, logger: Logger): TeamExecEvent[] | undefined {
  try {
    const target = parseTeamSubject(msg.subject);
    const message = decodeJson(teamExecEventsSchema, msg.data, "team events");
    if (target.kind !== "team.exec.event" || target.orgId !== message.orgId || target.teamId !== message.teamId || target.executionId !== message.executionId) {
      throw new NeuroflowError("INVALID_MESSAGE", "team events do not match their subject");
    }
    return teamExecEventsOf(message);
  } catch (error) {
    const wire = NeuroflowError.toWire(error);
    if (wire.code === "INTERNAL") logger.error({ err: error, subject: msg.subject }, "team event failed");
    else logger.warn({ subject: msg.subject, error: wire }, "dropped a team event");
    return undefined;
  }
}
