import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { repairShardConsumer, shardConsumer, TASK_STREAM } from "../../common/runtime-streams.js";
import type { OutcomeStore } from "../../common/outcome-store.js";
import { agentTaskSchema, decodeJson, NeuroflowError, shardOf, type AgentStatusChanged, type AgentTask } from "../protocol/index.js";
import type { AgentActivations } from "./agent-activations.js";
import type { HostedAgent } from "./hosted-agent.js";
import { STORE_DEADLINE_MS, withDeadline } from "./store-deadline.js";
import type { ShardLeases } from "./shard-leases.js";

export interface TaskIntakeDeps {
  nc: NatsConnection;
  activations: AgentActivations;
  outcomes: OutcomeStore;
  /** Which shards this worker leases now. */
  leases: Pick<ShardLeases, "holds" | "held">;
  /** Puts a status event on its way to the bus. */
  publish: (event: AgentStatusChanged) => void;
  logger: Logger;
  now: () => number;
}

/** A queued task this worker took: its deliveries (redeliveries add more) and whose it is. */
interface DurableTask {
  agentId: string;
  msgs: JsMsg[];
  since: number;
}

/**
 * The durable half of an AgentHost: consumes the JetStream task queue of each shard the worker
 * holds (published by the control plane after the execution row committed) and hands each task to
 * its agent actor. A task is acknowledged only once its outcome is committed to the outcome store
 * and published (`ended`); until then it is kept alive with `working()` (`keepAlive`). If this
 * worker dies, JetStream hands the task to the shard's next holder; a task whose outcome is
 * already committed is answered from the store and never runs twice. A malformed queued message is
 * terminated; it never affects other agents.
 */
export class TaskIntake {
  readonly #deps: TaskIntakeDeps;
  readonly #intakes = new Map<number, ConsumerMessages>();
  /** Queue messages of durable executions not yet ended here, by execution id (redeliveries add more). */
  readonly #durable = new Map<string, DurableTask>();
  #closed = false;

  constructor(deps: TaskIntakeDeps) {
    this.#deps = deps;
    void this.#watchReconnects();
  }

  /** Starts consuming a shard's queue (after taking its lease). */
  async start(shard: number): Promise<void> {
    try {
      if (await repairShardConsumer(await jetstreamManager(this.#deps.nc), shard)) {
        this.#deps.logger.warn({ shard }, "the shard's consumer was ahead of its stream (NATS lost the stream's tail); recreated it");
      }
      const consumer = await jetstream(this.#deps.nc).consumers.get(TASK_STREAM, shardConsumer(shard));
      if (!this.#deps.leases.holds(shard)) return;
      const messages = await consumer.consume({ max_messages: 256, callback: (msg) => void this.#onQueued(shard, msg) });
      this.#intakes.set(shard, messages);
    } catch (error) {
      this.#deps.logger.error({ err: error, shard }, "could not consume a shard's task queue");
    }
  }

  /** Stops consuming a shard's queue; the tasks already taken stay until they end or are handed back. */
  async stop(shard: number): Promise<void> {
    const intake = this.#intakes.get(shard);
    this.#intakes.delete(shard);
    await intake?.close();
  }

  /** Stops consuming every queue at once, as if the process died (tests, recovery benchmark). */
  abandon(): void {
    this.#closed = true;
    for (const intake of this.#intakes.values()) void intake.close();
    this.#intakes.clear();
  }

  /** Stops watching reconnects; call when the worker stops. */
  close(): void {
    this.#closed = true;
  }

  /** Returns a durable task to the queue for the shard's next holder (no-op for a call). */
  handBack(executionId: string): void {
    for (const msg of this.#durable.get(executionId)?.msgs ?? []) msg.nak();
    this.#durable.delete(executionId);
  }

  /**
   * Keeps the queue from handing out tasks this worker is still on, and hands back any it is not
   * on any more (its actor was stopped, or dropped the task): a task must never sit here unworked.
   */
  keepAlive(): void {
    const now = this.#deps.now();
    for (const [executionId, entry] of this.#durable) {
      const context = this.#deps.activations.get(entry.agentId)?.actor.getSnapshot().context;
      const held = context?.current?.executionId === executionId || context?.mailbox.some((task) => task.executionId === executionId);
      // Between activation and the actor taking the task, or while its outcome commits: give it time.
      const orphaned = !held && now - entry.since > STORE_DEADLINE_MS + 1_000;
      if (orphaned) {
        this.#deps.logger.warn({ executionId, agentId: entry.agentId }, "handing back a queued task no actor here holds");
        this.handBack(executionId);
      } else {
        for (const msg of entry.msgs) msg.working();
      }
    }
  }

  /**
   * A durable task ended (possibly one restored from a snapshot before its message came back):
   * commit the outcome first, so a later redelivery is answered from the store instead of running
   * again; then publish it and acknowledge the task's deliveries.
   */
  ended(hosted: HostedAgent, event: AgentStatusChanged & { execution: { executionId: string } }): void {
    const { executionId } = event.execution;
    const logger = () => this.#deps.logger.child({ orgId: hosted.orgId, agentId: hosted.agentId, executionId });
    void withDeadline(this.#deps.outcomes.commit(executionId, event), STORE_DEADLINE_MS, "committing an outcome").then(
      ({ event: outcome, won }) => {
        if (!won) logger().warn("another worker finished this task first; keeping its outcome");
        this.#deps.publish(outcome);
        for (const msg of this.#durable.get(executionId)?.msgs ?? []) msg.ack();
        this.#durable.delete(executionId);
      },
      (error: unknown) => {
        // Not acknowledged: JetStream redelivers it and the task runs again.
        logger().error({ err: error }, "could not commit a task's outcome");
        this.#durable.delete(executionId);
      },
    );
  }

  /** After NATS comes back, the stream may have lost its tail: restart intake of held shards that need it. */
  async #watchReconnects(): Promise<void> {
    for await (const status of this.#deps.nc.status()) {
      if (status.type !== "reconnect" || this.#closed) continue;
      for (const shard of this.#deps.leases.held) {
        try {
          const jsm = await jetstreamManager(this.#deps.nc);
          if (!(await repairShardConsumer(jsm, shard))) continue;
          this.#deps.logger.warn({ shard }, "the shard's consumer was ahead of its stream after a reconnect; recreated it");
          await this.stop(shard);
          if (this.#deps.leases.holds(shard)) await this.start(shard);
        } catch (error) {
          this.#deps.logger.warn({ err: error, shard }, "could not check a shard's consumer after a reconnect");
        }
      }
    }
  }

  async #onQueued(shard: number, msg: JsMsg): Promise<void> {
    let task: AgentTask;
    try {
      task = decodeJson(agentTaskSchema, msg.data, "queued agent task");
      if (shardOf(task.agentId) !== shard) throw new NeuroflowError("INVALID_MESSAGE", "task queued on the wrong shard");
    } catch (error) {
      this.#deps.logger.warn({ subject: msg.subject, error: NeuroflowError.toWire(error) }, "dropped a malformed queued task");
      msg.term();
      return;
    }
    const logger = this.#deps.logger.child({ orgId: task.orgId, agentId: task.agentId, executionId: task.executionId });
    try {
      const known = this.#durable.get(task.executionId);
      if (known) {
        known.msgs.push(msg);
        return;
      }
      const stored = await withDeadline(this.#deps.outcomes.find(task.executionId), STORE_DEADLINE_MS, "reading an outcome");
      if (stored) {
        // It ended already (here or on a worker that died before acknowledging): say so again.
        logger.info("redelivered task already has an outcome; publishing it again");
        this.#deps.publish(stored);
        msg.ack();
        return;
      }
      if (!this.#deps.leases.holds(shard)) {
        msg.nak();
        return;
      }
      const entry = this.#durable.get(task.executionId);
      if (entry) entry.msgs.push(msg);
      else this.#durable.set(task.executionId, { agentId: task.agentId, msgs: [msg], since: this.#deps.now() });
      const hosted = await this.#deps.activations.activate(task.orgId, task.agentId);
      hosted.lastActiveAt = this.#deps.now();
      hosted.actor.send({ type: "task.received", task });
    } catch (error) {
      logger.error({ err: error }, "could not take a queued task; it will be redelivered");
      this.#durable.delete(task.executionId);
      msg.nak(500);
    }
  }
}
