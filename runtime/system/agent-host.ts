import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { waitFor } from "xstate";
import { TASK_ACK_WAIT_MS, type RuntimeStores } from "../../common/runtime-streams.js";
import {
  agentCancelSchema,
  decodeJson,
  encodeJson,
  NeuroflowError,
  parseSubject,
  subjects,
  type AgentCallReply,
  type AgentStatusChanged,
  type AgentTask,
  type CancelReply,
} from "../protocol/index.js";
import type { PriceTable } from "../providers/prices.js";
import type { ProviderRegistry } from "../providers/provider.js";
import { AgentActivations } from "./agent-activations.js";
import { atRest, type HostedAgent } from "./hosted-agent.js";
import { AgentCalls, FORWARDED_SUBJECT } from "./agent-calls.js";
import { OutcomeStore } from "../../common/outcome-store.js";
import { ShardLeases, type LeaseTiming } from "./shard-leases.js";
import { SnapshotStore } from "../../common/snapshot-store.js";
import { StatusCoalescer } from "./status-events.js";
import { TaskIntake } from "./task-intake.js";

export interface AgentHostDeps {
  nc: NatsConnection;
  stores: RuntimeStores;
  workerId: string;
  providers: ProviderRegistry;
  prices: PriceTable;
  logger: Logger;
  /** Injected clock (ms since epoch). */
  now?: () => number;
  leaseTiming?: LeaseTiming;
  /** Agents at rest this long are saved and stopped (passivated). */
  passivateAfterMs?: number;
}

/** Queue group shared by all runtime workers for agent calls. */
export const RUNTIME_QUEUE = "nf-runtime";

/**
 * Hosts the agent actors of the shards this worker leases (see shard-leases.ts), so every agent is
 * active on one worker at a time. Work arrives two ways:
 *
 * - **Durable tasks** from the JetStream queue of each held shard (task-intake.ts): acknowledged
 *   only once their outcome is committed to the outcome store and published, never run twice.
 * - **Calls** on `nf.<org>.agent.<id>.call` (queue group): the caller waits for the outcome. A
 *   worker that does not host the agent forwards the call, reply subject unchanged, to the one that
 *   does. A call made in this process to an agent hosted here ({@link AgentHost.callHere}: a team
 *   run asking a member) skips the bus both ways. Routing and waiting: agent-calls.ts.
 *
 * Cancels arrive on `nf.<org>.agent.<id>.cancel` at every worker; only the one holding the
 * execution answers (`found: true`). A malformed message gets a typed error reply (INVALID_SUBJECT
 * / INVALID_MESSAGE) or, from the queue, is terminated; it never affects other agents.
 *
 * Lifecycle: `start()`; `stop(graceMs)` stops taking work, lets in-flight tasks finish (up to
 * `graceMs`), saves the agents' snapshots, hands the shards over and releases the leases.
 */
export class AgentHost {
  readonly #deps: AgentHostDeps;
  readonly #now: () => number;
  readonly #activations: AgentActivations;
  readonly #outcomes: OutcomeStore;
  readonly #leases: ShardLeases;
  readonly #intake: TaskIntake;
  readonly #calls: AgentCalls;
  /** Status events on their way to the bus, once per agent and tick. */
  readonly #statusOut = new StatusCoalescer((event) => {
    try {
      this.#deps.nc.publish(subjects.agentStatus(event.orgId, event.agentId), encodeJson(event));
    } catch (error) {
      // The connection is closing: the ledger's sweep recovers lost status events.
      this.#deps.logger.warn({ err: error, agentId: event.agentId, executionId: event.execution?.executionId }, "could not publish a status event");
    }
  });
  readonly #subscriptions: Subscription[] = [];
  /** Shards being handed over: their agents may still save. */
  readonly #releasing = new Set<number>();
  #timers: NodeJS.Timeout[] = [];
  #stopping = false;

  constructor(deps: AgentHostDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#outcomes = new OutcomeStore(deps.stores.outcomes);
    this.#activations = new AgentActivations({
      workerId: deps.workerId,
      providers: deps.providers,
      prices: deps.prices,
      snapshots: new SnapshotStore(deps.stores.snapshots),
      logger: deps.logger,
      now: this.#now,
      onEvents: (hosted, events) => {
        for (const event of events) this.#emit(hosted, event);
      },
      mayWrite: (shard) => this.#leases.holds(shard) || this.#releasing.has(shard),
      onDrop: (hosted) => this.#handBack(hosted),
    });
    this.#leases = new ShardLeases({
      kv: deps.stores.leases,
      workerId: deps.workerId,
      logger: deps.logger,
      ...(deps.leaseTiming ? { timing: deps.leaseTiming } : {}),
      now: this.#now,
      onAcquired: (shard) => void this.#intake.start(shard),
      onLost: (shard) => this.#loseShard(shard),
      onRelease: (shard) => this.#releaseShard(shard, 10_000),
    });
    this.#intake = new TaskIntake({
      nc: deps.nc,
      activations: this.#activations,
      outcomes: this.#outcomes,
      leases: this.#leases,
      publish: (event) => this.#publish(event),
      logger: deps.logger,
      now: this.#now,
    });
    this.#calls = new AgentCalls({
      nc: deps.nc,
      workerId: deps.workerId,
      logger: deps.logger,
      now: this.#now,
      activations: this.#activations,
      holds: (shard) => this.#leases.holds(shard),
      releasing: (shard) => this.#releasing.has(shard),
      owner: (shard) => this.#leases.owner(shard),
      stopping: () => this.#stopping,
    });
  }

  /** Number of agent actors currently active here. */
  get size(): number {
    return this.#activations.size;
  }

  /** The shards this worker holds. */
  get shards(): number[] {
    return this.#leases.held;
  }

  /** The agent actors of this worker (activation, passivation, benchmarks). */
  get activations(): AgentActivations {
    return this.#activations;
  }

  async start(): Promise<void> {
    const { nc, logger } = this.#deps;
    const listen = (subject: string, handle: (msg: Msg) => void, queue?: string) => {
      this.#subscriptions.push(
        nc.subscribe(subject, {
          ...(queue ? { queue } : {}),
          callback: (error, msg) => {
            if (error) logger.error({ err: error, subject }, "subscription failed");
            else handle(msg);
          },
        }),
      );
    };
    listen(subjects.anyAgentCall, (msg) => this.#calls.receive(msg, msg.subject), RUNTIME_QUEUE);
    listen(subjects.workerForward(this.#deps.workerId), (msg) => this.#calls.receive(msg, msg.headers?.get(FORWARDED_SUBJECT) ?? ""));
    listen(subjects.anyAgentCancel, (msg) => this.#onCancel(msg));
    await this.#leases.start();
    const passivateAfterMs = this.#deps.passivateAfterMs ?? 60_000;
    this.#timers = [
      setInterval(() => this.#keepTasksAlive(), TASK_ACK_WAIT_MS / 3),
      setInterval(() => void this.#passivate(passivateAfterMs), Math.max(100, passivateAfterMs / 2)),
    ];
    for (const timer of this.#timers) timer.unref();
    logger.info({ shards: this.#leases.held.length }, "taking agent tasks");
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#subscriptions.filter((s) => s.getSubject() !== subjects.anyAgentCancel).map((s) => s.drain()));
    // Releasing a shard lets its agents finish (cancels still arrive meanwhile), saves them and nacks the rest.
    await Promise.all(this.#leases.held.map((shard) => this.#releaseShard(shard, graceMs)));
    await this.#leases.stop();
    this.#intake.close();
    for (const timer of this.#timers) clearInterval(timer);
    await Promise.all(this.#subscriptions.map((s) => (s.isClosed() ? undefined : s.drain())));
    for (const hosted of this.#activations.all()) this.#activations.drop(hosted);
  }

  /** Stops renewing leases and taking work, as if the process died (tests, recovery benchmark). */
  abandon(): void {
    this.#stopping = true;
    this.#leases.abandon();
    for (const timer of this.#timers) clearInterval(timer);
    this.#intake.abandon();
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
    for (const hosted of this.#activations.all()) this.#activations.drop(hosted);
  }

  /** A call made in this process: see {@link AgentCalls.callHere} (undefined: call over the bus). */
  callHere(task: AgentTask): Promise<AgentCallReply> | undefined {
    return this.#calls.callHere(task);
  }

  async #passivate(idleMs: number): Promise<void> {
    const count = await this.#activations.passivateIdle(idleMs);
    if (count > 0) this.#deps.logger.info({ count, active: this.#activations.size }, "passivated idle agents");
  }

  /** Lost to another worker: stop its agents now, write nothing, hand their tasks back. */
  #loseShard(shard: number): void {
    void this.#intake.stop(shard);
    for (const hosted of this.#activations.all().filter((h) => h.shard === shard)) {
      this.#handBack(hosted);
      this.#activations.drop(hosted);
    }
    // Its next holder may change its resting agents: read them from the store if it comes back.
    this.#activations.forgetShard(shard);
  }

  /** Given up: stop taking its tasks, let its agents finish, save them, hand back what is left. */
  async #releaseShard(shard: number, graceMs: number): Promise<void> {
    this.#releasing.add(shard);
    try {
      await this.#intake.stop(shard);
      const agents = this.#activations.all().filter((hosted) => hosted.shard === shard);
      await Promise.all(
        agents.map((hosted) => waitFor(hosted.actor, () => atRest(hosted), { timeout: graceMs }).catch(() => undefined)),
      );
      // Outcomes of the last tasks are committed asynchronously: let them land before saving.
      await Promise.all(agents.map((hosted) => this.#activations.save(hosted)));
      for (const hosted of agents) {
        this.#handBack(hosted);
        this.#activations.drop(hosted);
      }
      this.#activations.forgetShard(shard);
    } finally {
      this.#releasing.delete(shard);
    }
  }

  /** Returns an agent's unfinished durable tasks to the queue for the shard's next holder. */
  #handBack(hosted: HostedAgent): void {
    const context = hosted.actor.getSnapshot().context;
    for (const task of [context.current, ...context.mailbox]) {
      if (!task) continue;
      this.#intake.handBack(task.executionId);
      this.#calls.answer(task.executionId, {
        ok: false,
        error: { code: "UNAVAILABLE", message: "the agent moved to another worker; call again", retryable: true },
      });
    }
  }

  /**
   * Drops actors that stopped running (handing their tasks back), then keeps the queue from handing
   * out the tasks this worker is still on (TaskIntake.keepAlive): a task must never sit here unworked.
   */
  #keepTasksAlive(): void {
    for (const hosted of this.#activations.all()) {
      // A crashed (or wrongly stopped) actor ignores every event: never keep its tasks alive.
      if (hosted.actor.getSnapshot().status === "active") continue;
      this.#deps.logger.error({ orgId: hosted.orgId, agentId: hosted.agentId }, "an agent actor stopped running; handing its tasks back");
      this.#activations.drop(hosted);
    }
    this.#intake.keepAlive();
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
      const hosted = this.#activations.get(cancel.agentId);
      const context = hosted?.actor.getSnapshot().context;
      const holds =
        context?.orgId === cancel.orgId &&
        (context.current?.executionId === cancel.executionId || context.mailbox.some((task) => task.executionId === cancel.executionId));
      if (hosted && holds) {
        // Synchronous: the CANCELLED outcome is on its way before the reply goes out.
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

  /**
   * One status event of a hosted agent: a call's ending answers the caller first, then every event
   * is published (coalesced per agent and tick, see status-events.ts); a durable task's ending is
   * committed to the outcome store before it is published and acknowledged. Loggers are made only
   * on the branches that log.
   */
  #emit(hosted: HostedAgent, event: AgentStatusChanged): void {
    const execution = event.execution;
    if (!execution || execution.status === "RUNNING") {
      if ((execution?.attempt ?? 1) > 1) {
        this.#agentLogger(hosted).info({ executionId: execution?.executionId, attempt: execution?.attempt }, "retrying a model call");
      }
      this.#publish(event);
      return;
    }
    if (execution.status === "FAILED") this.#agentLogger(hosted).warn({ executionId: execution.executionId, error: execution.error }, "task failed");
    if (this.#calls.waiting(execution.executionId)) {
      // A call: the caller holds the only record; nothing to commit. The caller first.
      this.#calls.answer(execution.executionId, { ok: true, workerId: this.#deps.workerId, execution });
      this.#publish(event);
      return;
    }
    this.#intake.ended(hosted, { ...event, execution });
  }

  #agentLogger(hosted: HostedAgent): Logger {
    return this.#deps.logger.child({ orgId: hosted.orgId, agentId: hosted.agentId });
  }

  /** Publishes at the end of the tick, dropping events a later one of the same agent supersedes. */
  #publish(event: AgentStatusChanged): void {
    this.#statusOut.push(event);
  }
}
