import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { decodeJson, NeuroflowError, parseTeamSubject, subjects, teamExecEventSchema, type TeamExecEvent } from "../../runtime/protocol/index.js";
import type { Database } from "../persistence/database.js";
import { appendTeamLogEntry, endTeamExecution, teamEndingOf } from "../persistence/team-ledger.js";

/**
 * Consumes the coordination log entries of every org's team executions
 * (`nf.<org>.team.<team>.exec.<execution>.event`), one at a time in arrival order: appends each to
 * its TeamExecution's log (once per `seq`, see team-ledger.ts), ends the row when the entry is the
 * run's last (team.completed / team.failed / team.cancelled — so the outcome is recorded even when
 * the run's reply never reaches this control plane), then hands it to `relay`. A bad message is
 * logged and skipped.
 */
export class TeamEventSubscriber {
  readonly #subscription: Subscription;
  readonly #done: Promise<void>;

  constructor(deps: { nc: NatsConnection; db: Database; logger: Logger; relay: (event: TeamExecEvent) => void }) {
    const subscription = deps.nc.subscribe(subjects.anyTeamExecEvent);
    this.#subscription = subscription;
    this.#done = (async () => {
      for await (const msg of subscription) {
        try {
          const target = parseTeamSubject(msg.subject);
          const event = decodeJson(teamExecEventSchema, msg.data, "team event");
          if (target.kind !== "team.exec.event" || target.orgId !== event.orgId || target.teamId !== event.teamId || target.executionId !== event.executionId) {
            throw new NeuroflowError("INVALID_MESSAGE", "team event does not match its subject");
          }
          const logger = deps.logger.child({ orgId: event.orgId, teamId: event.teamId, executionId: event.executionId });
          await deps.db.asSystem(event.orgId, async (em) => {
            if (!(await appendTeamLogEntry(em, event))) logger.debug({ seq: event.seq }, "team event already stored or out of order; not appended");
            const ending = teamEndingOf(event);
            if (ending && (await endTeamExecution(em, ending))) logger.info({ status: ending.status }, "team execution ended (from its log)");
          });
          deps.relay(event);
        } catch (error) {
          const wire = NeuroflowError.toWire(error);
          if (wire.code === "INTERNAL") deps.logger.error({ err: error, subject: msg.subject }, "team event failed");
          else deps.logger.warn({ subject: msg.subject, error: wire }, "dropped a team event");
        }
      }
    })();
  }

  /** Stops taking events and waits until the ones already received are stored. */
  async stop(): Promise<void> {
    await this.#subscription.drain();
    await this.#done;
  }
}
