import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { createActor, waitFor, type Actor } from "xstate";
import { createCallModel } from "../actors/call-model.actor.js";
import { agentMachine } from "../machines/agent.machine.js";
import {
  agentCancelSchema,
  agentTaskSchema,
  decodeJson,
  encodeJson,
  NeuroflowError,
  parseSubject,
  subjects,
  type AgentCallReply,
  type AgentStatusChanged,
  type CancelReply,
  type TaskAck,
} from "../protocol/index.js";
import type { PriceTable } from "../providers/prices.js";
import type { ProviderRegistry } from "../providers/provider.js";
import { statusEvents, type AgentSnapshot } from "./status-events.js";

export interface AgentHostDeps {
  nc: NatsConnection;
  workerId: string;
  providers: ProviderRegistry;
  prices: PriceTable;
  logger: Logger;
  /** Injected clock (ms since epoch). */
  now?: () => number;
}

/** Queue group shared by all runtime workers: each task goes to exactly one of them. */
export const RUNTIME_QUEUE = "nf-runtime";

interface HostedAgent {
  actor: Actor<typeof agentMachine>;
  startedAt: Map<string, Date>;
}

/**
 * Hosts agent actors in one worker process: takes tasks from `nf.*.agent.*.task`, validates
 * them, replies with a TaskAck (or a typed error), feeds them to the agent's actor (created on
 * first task) and publishes every status change the actor goes through.
 *
 * Cancels arrive on `nf.*.agent.*.cancel` at every worker (no queue group: the task went to one
 * worker of the queue group, and only that one knows it). The worker holding the execution, as
 * its current or a queued task, cancels it and answers `found: true`; the others stay silent,
 * because the requester takes the first answer and a "not here" could beat the real one. The
 * requester reads silence (timeout, no responders) as "no worker has it".
 *
 * Lifecycle: `start()`, then `stop()` stops taking tasks, waits for in-flight work (up to
 * `graceMs`), and stops the actors. A malformed task is answered with INVALID_SUBJECT /
 * INVALID_MESSAGE and logged; it never affects other agents or the worker.
 */
export class AgentHost {
  readonly #deps: AgentHostDeps;
  readonly #agents = new Map<string, HostedAgent>();
  readonly #now: () => number;
  #subscription: Subscription | undefined;
  #calls: Subscription | undefined;
  #cancels: Subscription | undefined;
  /** Calls waiting for their task's outcome, by execution id. */
  readonly #waitingCalls = new Map<string, Msg>();

  constructor(deps: AgentHostDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Number of agent actors currently hosted. */
  get size(): number {
    return this.#agents.size;
  }

  start(): void {
    if (this.#subscription) return;
    this.#subscription = this.#deps.nc.subscribe(subjects.anyAgentTask, {
      queue: RUNTIME_QUEUE,
      callback: (error, msg) => {
        if (error) {
          this.#deps.logger.error({ err: error }, "task subscription failed");
          return;
        }
        this.#onTask(msg);
      },
    });
    this.#calls = this.#deps.nc.subscribe(subjects.anyAgentCall, {
      queue: RUNTIME_QUEUE,
      callback: (error, msg) => {
        if (error) {
          this.#deps.logger.error({ err: error }, "call subscription failed");
          return;
        }
        this.#onTask(msg);
      },
    });
    this.#cancels = this.#deps.nc.subscribe(subjects.anyAgentCancel, {
      callback: (error, msg) => {
        if (error) {
          this.#deps.logger.error({ err: error }, "cancel subscription failed");
          return;
        }
        this.#onCancel(msg);
      },
    });
    this.#deps.logger.info({ subject: subjects.anyAgentTask, queue: RUNTIME_QUEUE }, "taking agent tasks");
  }

  async stop(graceMs = 10_000): Promise<void> {
    const taking = [this.#subscription, this.#calls];
    this.#subscription = undefined;
    this.#calls = undefined;
    await Promise.all(taking.map((subscription) => subscription?.drain()));
    // Cancels stay open while in-flight work settles, so a stop can still be hurried along.
    const settle = [...this.#agents.values()].map(({ actor }) =>
      waitFor(actor, (snapshot) => !snapshot.matches("working"), { timeout: graceMs }).catch(() => undefined),
    );
    await Promise.all(settle);
    const cancels = this.#cancels;
    this.#cancels = undefined;
    if (cancels) await cancels.drain();
    for (const { actor } of this.#agents.values()) actor.stop();
    this.#agents.clear();
  }

  /**
   * A task on `.task` is acknowledged at once; one on `.call` is answered with its outcome when it
   * ends (the reply subject waits in `#waitingCalls` until then). Either is refused with a typed
   * error when malformed.
   */
  #onTask(msg: Msg): void {
    let reply: TaskAck | AgentCallReply | undefined;
    try {
      const target = parseSubject(msg.subject);
      if (target.kind !== "agent.task" && target.kind !== "agent.call") {
        throw new NeuroflowError("INVALID_SUBJECT", `not a task subject: ${msg.subject}`);
      }
      const task = decodeJson(agentTaskSchema, msg.data, "agent task");
      if (task.orgId !== target.orgId || task.agentId !== target.agentId) {
        throw new NeuroflowError("INVALID_MESSAGE", "task orgId/agentId do not match its subject");
      }
      if (target.kind === "agent.call" && msg.reply) this.#waitingCalls.set(task.executionId, msg);
      this.#agent(task.orgId, task.agentId).actor.send({ type: "task.received", task });
      if (target.kind === "agent.task") reply = { ok: true, executionId: task.executionId, workerId: this.#deps.workerId };
    } catch (error) {
      const wire = NeuroflowError.toWire(error);
      this.#deps.logger.warn({ subject: msg.subject, error: wire }, "rejected a task message");
      if (!(error instanceof NeuroflowError)) this.#deps.logger.error({ err: error }, "unexpected error handling a task");
      reply = { ok: false, error: wire };
    }
    if (reply && msg.reply) msg.respond(encodeJson(reply));
  }

  #onCancel(msg: Msg): void {
    let reply: CancelReply | undefined;
    try {
      const target = parseSubject(msg.subject);
      if (target.kind !== "agent.cancel") throw new NeuroflowError("INVALID_SUBJECT", `not a cancel subject: ${msg.subject}`);
      const cancel = decodeJson(agentCancelSchema, msg.data, "cancel request");
      if (cancel.orgId !== target.orgId || cancel.agentId !== target.agentId) {
        throw new NeuroflowError("INVALID_MESSAGE", "cancel orgId/agentId do not match its subject");
      }
      const hosted = this.#agents.get(cancel.agentId);
      const context = hosted?.actor.getSnapshot().context;
      const holds =
        context?.orgId === cancel.orgId &&
        (context.current?.executionId === cancel.executionId || context.mailbox.some((task) => task.executionId === cancel.executionId));
      if (hosted && holds) {
        // Synchronous: the CANCELLED status event is published before the reply goes out.
        hosted.actor.send({ type: "task.cancel", executionId: cancel.executionId });
        this.#deps.logger.info({ orgId: cancel.orgId, agentId: cancel.agentId, executionId: cancel.executionId }, "cancelled a task");
        reply = { ok: true, executionId: cancel.executionId, found: true, workerId: this.#deps.workerId };
      }
    } catch (error) {
      // Every worker sees the same malformed message and gives the same answer.
      const wire = NeuroflowError.toWire(error);
      this.#deps.logger.warn({ subject: msg.subject, error: wire }, "rejected a cancel message");
      reply = { ok: false, error: wire };
    }
    if (reply && msg.reply) msg.respond(encodeJson(reply));
  }

  #agent(orgId: string, agentId: string): HostedAgent {
    const existing = this.#agents.get(agentId);
    if (existing) return existing;
    const logger = this.#deps.logger.child({ orgId, agentId });
    const actor = createActor(
      agentMachine.provide({ actors: { callModel: createCallModel({ providers: this.#deps.providers, prices: this.#deps.prices }) } }),
      { input: { orgId, agentId } },
    );
    const hosted: HostedAgent = { actor, startedAt: new Map() };
    let prev: AgentSnapshot | undefined;
    actor.subscribe({
      next: (snapshot) => {
        const now = new Date(this.#now());
        const events = statusEvents(prev, snapshot, {
          workerId: this.#deps.workerId,
          now,
          startedAt: (id) => hosted.startedAt.get(id),
        });
        prev = snapshot;
        for (const event of events) this.#publish(event, hosted, logger);
      },
      error: (error) => logger.error({ err: error }, "agent actor crashed"),
    });
    this.#agents.set(agentId, hosted);
    actor.start();
    return hosted;
  }

  #publish(event: AgentStatusChanged, hosted: HostedAgent, logger: Logger): void {
    const execution = event.execution;
    if (execution?.status === "RUNNING") {
      // A retry repeats RUNNING: keep the first start, so durations cover every attempt.
      if (!hosted.startedAt.has(execution.executionId)) hosted.startedAt.set(execution.executionId, new Date(execution.startedAt));
      if ((execution.attempt ?? 1) > 1) logger.info({ executionId: execution.executionId, attempt: execution.attempt }, "retrying a model call");
    } else if (execution) {
      hosted.startedAt.delete(execution.executionId);
    }
    if (execution?.status === "FAILED") logger.warn({ executionId: execution.executionId, error: execution.error }, "task failed");
    logger.debug({ status: event.status, execution: execution?.status }, "status changed");
    this.#deps.nc.publish(subjects.agentStatus(event.orgId, event.agentId), encodeJson(event));
    const call = execution && execution.status !== "RUNNING" ? this.#waitingCalls.get(execution.executionId) : undefined;
    if (call && execution) {
      this.#waitingCalls.delete(execution.executionId);
      const reply: AgentCallReply = { ok: true, workerId: this.#deps.workerId, execution };
      call.respond(encodeJson(reply));
    }
  }
}
