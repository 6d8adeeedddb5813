import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Database } from "../../control-plane/persistence/database.js";
import { applyStatusEvent } from "../../control-plane/persistence/execution-ledger.js";
import { agentStatusChangedSchema, decodeJson, parseSubject, subjects, type AgentStatusChanged } from "../../runtime/protocol/index.js";

/**
 * The status subscriber as it was before batching, kept for comparison: every event in its own
 * transaction (Database.asSystem + applyStatusEvent), one at a time in arrival order, relayed once
 * stored. Same parsing and checks; errors are counted instead of logged.
 */
export class SequentialStatusSubscriber {
  readonly #subscription: Subscription;
  readonly #done: Promise<void>;
  failed = 0;

  constructor(deps: { nc: NatsConnection; db: Database; relay: (event: AgentStatusChanged) => void }) {
    const subscription = deps.nc.subscribe(subjects.anyAgentStatus);
    this.#subscription = subscription;
    this.#done = (async () => {
      for await (const msg of subscription) {
        try {
          const target = parseSubject(msg.subject);
          const event = decodeJson(agentStatusChangedSchema, msg.data, "status event");
          if (target.orgId !== event.orgId || target.agentId !== event.agentId) throw new Error("status event does not match its subject");
          await deps.db.asSystem(event.orgId, (em) => applyStatusEvent(em, event));
          deps.relay(event);
        } catch {
          this.failed += 1;
        }
      }
    })();
  }

  async stop(): Promise<void> {
    await this.#subscription.drain();
    await this.#done;
  }
}
