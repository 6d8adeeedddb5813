import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import {
  agentStatusChangedSchema,
  decodeJson,
  NeuroflowError,
  parseSubject,
  subjects,
  type AgentStatusChanged,
} from "../../runtime/protocol/index.js";
import type { ControlPlaneMetrics } from "../http/metrics.js";
import type { Database } from "../persistence/database.js";
import { applyStatusEvents } from "../persistence/execution-batch-ledger.js";
import { applyStatusEvent } from "../persistence/execution-ledger.js";
import { OrgBatchWriter, pumpInto, type BatchingOptions } from "./org-batch-writer.js";

/**
 * Consumes `agent.status.changed` from every org, persists it (execution row, agent metrics),
 * then hands it to `relay`. Received events queue up and are written in batches, one transaction
 * per org per cycle (OrgBatchWriter + applyStatusEvents), with exactly the effect of applying
 * them one at a time in arrival order: an agent's events are stored in the order its worker
 * published them, and a duplicate or late one changes nothing. `relay` gets each event only after
 * the transaction that stored it committed, in arrival order within its org, so a console never
 * sees a state the database does not have yet. A malformed message is logged and skipped at once;
 * an event the database refuses is logged and skipped without failing its batch-mates.
 */
export class StatusSubscriber {
  readonly #subscription: Subscription;
  readonly #done: Promise<void>;

  constructor(deps: {
    nc: NatsConnection;
    db: Database;
    logger: Logger;
    metrics: ControlPlaneMetrics;
    relay: (event: AgentStatusChanged) => void;
    /** Defaults: OrgBatchWriter's. */
    batching?: BatchingOptions;
  }) {
    const { logger, metrics } = deps;
    const writer = new OrgBatchWriter<AgentStatusChanged, boolean>({
      stream: "status",
      db: deps.db,
      logger,
      metrics,
      applyBatch: applyStatusEvents,
      applyOne: applyStatusEvent,
      stored: (event, changed) => {
        metrics.statusEvents.inc({ outcome: changed ? "applied" : "no-change" });
        deps.relay(event);
      },
      dropped: () => metrics.statusEvents.inc({ outcome: "rejected" }),
      describe: (event) => ({ orgId: event.orgId, agentId: event.agentId, executionId: event.execution?.executionId }),
      ...deps.batching,
    });
    const subscription = deps.nc.subscribe(subjects.anyAgentStatus);
    this.#subscription = subscription;
    this.#done = pumpInto(subscription, writer, (msg) => received(msg, logger), {
      logger,
      what: "status",
      onRejected: () => metrics.statusEvents.inc({ outcome: "rejected" }),
    });
  }

  /** Stops taking events and waits until the ones already received are stored. */
  async stop(): Promise<void> {
    await this.#subscription.drain();
    await this.#done;
  }
}

/** The event a message carries, or undefined (logged) when it is malformed or not its subject's. */
function received(msg: Msg, logger: Logger): AgentStatusChanged | undefined {
  try {
    const target = parseSubject(msg.subject);
    const event = decodeJson(agentStatusChangedSchema, msg.data, "status event");
    if (target.orgId !== event.orgId || target.agentId !== event.agentId) {
      throw new NeuroflowError("INVALID_MESSAGE", "status event does not match its subject");
    }
    return event;
  } catch (error) {
    const wire = NeuroflowError.toWire(error);
    if (wire.code === "INTERNAL") logger.error({ err: error, subject: msg.subject }, "status event failed");
    else logger.warn({ subject: msg.subject, error: wire }, "dropped a status event");
    return undefined;
  }
}
