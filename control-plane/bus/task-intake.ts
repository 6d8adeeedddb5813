import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { AiAgent } from "../../entities/index.js";
import { agentIdSchema, agentSubmitSchema, decodeJson, encodeJson, NeuroflowError, parseSubject, subjects, type TaskAck } from "../../runtime/protocol/index.js";
import type { Database } from "../persistence/database.js";
import { dispatchTask } from "../dispatch/task-dispatcher.js";

/** Queue group of the control planes taking bus submissions. */
export const CONTROL_QUEUE = "nf-control";

/**
 * Tasks submitted on the bus by org-scoped clients (`nf.<orgId>.agent.<agentId>.task`, see
 * docs/nats-tenancy.md): recorded and queued like an HTTP submission, so the ledger has every
 * execution whichever way it came in. The org is the subject's: NATS permissions only let a
 * client publish in its own org. Replies with a TaskAck, or a typed error (INVALID_SUBJECT,
 * INVALID_MESSAGE, NOT_FOUND for an agent not in that org, CONFLICT for a deactivated one).
 */
export class BusTaskIntake {
  readonly #subscription: Subscription;
  readonly #pending = new Set<Promise<void>>();

  constructor(private readonly deps: { nc: NatsConnection; db: Database; logger: Logger; publishTimeoutMs: number }) {
    this.#subscription = deps.nc.subscribe(subjects.anyAgentTask, {
      queue: CONTROL_QUEUE,
      callback: (error, msg) => {
        if (error) {
          deps.logger.error({ err: error }, "task intake subscription failed");
          return;
        }
        const handled = this.#onSubmit(msg).finally(() => this.#pending.delete(handled));
        this.#pending.add(handled);
      },
    });
  }

  async #onSubmit(msg: Msg): Promise<void> {
    const { db, logger } = this.deps;
    let ack: TaskAck;
    try {
      const target = parseSubject(msg.subject);
      if (target.kind !== "agent.task" || !agentIdSchema.safeParse(target.agentId).success) {
        throw new NeuroflowError("INVALID_SUBJECT", `not a task subject: ${msg.subject}`);
      }
      const submit = decodeJson(agentSubmitSchema, msg.data, "task submission");
      const execution = await dispatchTask(
        { nc: this.deps.nc, logger, publishTimeoutMs: this.deps.publishTimeoutMs },
        (work) => db.asSystem(target.orgId, work),
        async (em) => {
          const agent = await em.findOne(AiAgent, { id: target.agentId, organization: target.orgId });
          if (!agent) throw new NeuroflowError("NOT_FOUND", "agent not found");
          return agent;
        },
        submit.prompt,
      );
      ack = { ok: true, executionId: execution.id, workerId: "control-plane" };
    } catch (error) {
      const wire = NeuroflowError.toWire(error);
      logger.warn({ subject: msg.subject, error: wire }, "rejected a task submission");
      if (wire.code === "INTERNAL") logger.error({ err: error }, "unexpected error handling a task submission");
      ack = { ok: false, error: wire };
    }
    if (msg.reply) msg.respond(encodeJson(ack));
  }

  /** Stops taking submissions and waits for the ones in hand. */
  async stop(): Promise<void> {
    await this.#subscription.drain();
    await Promise.all(this.#pending);
  }
}
