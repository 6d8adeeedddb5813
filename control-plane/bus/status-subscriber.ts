import type { NatsConnection, Subscription } from "@nats-io/transport-node";
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
import { applyStatusEvent } from "../persistence/execution-ledger.js";

/**
 * Consumes `agent.status.changed` from every org, persists it (execution row, agent metrics),
 * then hands it to `relay` — in arrival order, one event at a time, so an agent's events are
 * stored and shown in the order its worker published them. A bad message is logged and skipped.
 */
export class StatusSubscriber {
  readonly #subscription: Subscription;
  readonly #done: Promise<void>;

  constructor(deps: { nc: NatsConnection; db: Database; logger: Logger; metrics: ControlPlaneMetrics; relay: (event: AgentStatusChanged) => void }) {
    const subscription = deps.nc.subscribe(subjects.anyAgentStatus);
    this.#subscription = subscription;
    this.#done = (async () => {
      for await (const msg of subscription) {
        try {
          const target = parseSubject(msg.subject);
          const event = decodeJson(agentStatusChangedSchema, msg.data, "status event");
          if (target.orgId !== event.orgId || target.agentId !== event.agentId) {
            throw new NeuroflowError("INVALID_MESSAGE", "status event does not match its subject");
          }
          const changed = await deps.db.asSystem(event.orgId, (em) => applyStatusEvent(em, event));
          deps.metrics.statusEvents.inc({ outcome: changed ? "applied" : "no-change" });
          deps.relay(event);
        } catch (error) {
          const wire = NeuroflowError.toWire(error);
          deps.metrics.statusEvents.inc({ outcome: "rejected" });
          if (wire.code === "INTERNAL") deps.logger.error({ err: error, subject: msg.subject }, "status event failed");
          else deps.logger.warn({ subject: msg.subject, error: wire }, "dropped a status event");
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
