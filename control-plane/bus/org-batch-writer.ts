import { setTimeout as sleep } from "node:timers/promises";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { Msg, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { ControlPlaneMetrics } from "../http/metrics.js";
import type { Database } from "../persistence/database.js";
import { isTransientDbError } from "../persistence/db-errors.js";

/** How an {@link OrgBatchWriter} writes and reports one kind of event. */
export interface OrgBatchWriterOptions<E extends { orgId: string }, R> {
  /** The `stream` label of the ingest metrics. */
  stream: "status" | "team" | "team-reply";
  db: Database;
  logger: Logger;
  metrics?: ControlPlaneMetrics | undefined;
  /** Applies one org's events, in order, in the given unit of work; one result per event. */
  applyBatch(em: EntityManager, orgId: string, events: readonly E[]): Promise<R[]>;
  /** Applies one event alone: the fallback when a batch is refused for its data. */
  applyOne(em: EntityManager, event: E): Promise<R>;
  /** Called once the event's unit of work has committed, in arrival order within its org. */
  stored(event: E, result: R): void;
  /** Called for an event the database refused (or that could not be stored before giving up). */
  dropped(event: E, error: unknown): void;
  /** Log fields that identify an event (ids, never payloads). */
  describe(event: E): Record<string, unknown>;
  /** Most events taken per write cycle (default 500). */
  maxBatch?: number | undefined;
  /** Orgs written at the same time within a cycle, each in its own transaction (default 2). */
  orgConcurrency?: number | undefined;
  /** Backoff between retries after a transient error: doubles from `retryInitialMs` (100) up to `retryMaxMs` (5000). */
  retryInitialMs?: number | undefined;
  retryMaxMs?: number | undefined;
  /** After close(), how long transient errors are still retried before the events left are dropped (default 30 s). */
  giveUpAfterCloseMs?: number | undefined;
  /**
   * Most events waiting to be written (default 100,000); past it the oldest waiting one is dropped
   * (see the class doc).
   */
  maxQueued?: number | undefined;
}

/** The tuning knobs of a writer, as the subscribers take them. */
export type BatchingOptions = Pick<
  OrgBatchWriterOptions<{ orgId: string }, unknown>,
  "maxBatch" | "orgConcurrency" | "retryInitialMs" | "retryMaxMs" | "giveUpAfterCloseMs" | "maxQueued"
>;

interface Queued<E> {
  event: E;
  receivedAt: number;
}

/**
 * A queue of received bus events and the loop that stores them in batches. Each cycle takes
 * everything queued (up to `maxBatch`), groups it by org and applies each org's events, in arrival
 * order, in one unit of work scoped to that org (Database.asSystem, so row-level security holds);
 * then reports them stored, in order. While a cycle writes, new events queue up, so batches grow
 * with the load and stay single events when it is light.
 *
 * Failures: a transient database error (connection, deadlock, …; isTransientDbError) retries the
 * same batch with backoff — nothing after it in that org is written meanwhile, so order holds. Any
 * other error means some event's data is refused: the batch is applied again one event per unit
 * of work with `applyOne`, and only the events that fail on their own are dropped (logged,
 * `dropped`). After close(), transient errors are retried for `giveUpAfterCloseMs`, then what is
 * left is dropped with an error log per event rather than blocking shutdown forever.
 *
 * Memory: while Postgres is down the queue grows with the bus. Past `maxQueued` waiting events the
 * oldest is dropped (`dropped`, the `overflow` recovery metric, a warning at most every 10 s) so an
 * outage cannot exhaust the control plane. What is lost is recovered from the ledgers' other paths:
 * an execution still open is published again by the task sweeper and its ending re-sent from the
 * outcome store; a team run's whole log comes with its reply.
 */
export class OrgBatchWriter<E extends { orgId: string }, R> {
  readonly #options: OrgBatchWriterOptions<E, R>;
  readonly #maxBatch: number;
  readonly #orgConcurrency: number;
  #queue: Array<Queued<E>> = [];
  #head = 0;
  #wake: (() => void) | undefined;
  #closedAt: number | undefined;
  readonly #done: Promise<void>;
  readonly #maxQueued: number;
  /** Events dropped for a full queue since the last warning, and when that was. */
  #overflowed = 0;
  #overflowWarnedAt = Number.NEGATIVE_INFINITY;

  constructor(options: OrgBatchWriterOptions<E, R>) {
    this.#options = options;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 500);
    this.#orgConcurrency = Math.max(1, options.orgConcurrency ?? 2);
    this.#maxQueued = Math.max(1, options.maxQueued ?? 100_000);
    this.#done = this.#run();
  }

  /** Queues a received event, dropping the oldest waiting one when `maxQueued` are. Throws once close() was called. */
  push(event: E): void {
    if (this.#closedAt !== undefined) throw new Error("OrgBatchWriter: push after close");
    if (this.queued >= this.#maxQueued) this.#overflow();
    this.#queue.push({ event, receivedAt: performance.now() });
    this.#options.metrics?.ingestQueued.inc({ stream: this.#options.stream });
    this.#wake?.();
  }

  /** Events received and not yet taken into a write cycle. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Takes no more events; resolves once every queued event is stored or dropped. Never rejects. */
  close(): Promise<void> {
    this.#closedAt ??= performance.now();
    this.#wake?.();
    return this.#done;
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.queued === 0) {
        if (this.#closedAt !== undefined) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      const batch = this.#take();
      const byOrg = new Map<string, Array<Queued<E>>>();
      for (const item of batch) {
        const items = byOrg.get(item.event.orgId);
        if (items) items.push(item);
        else byOrg.set(item.event.orgId, [item]);
      }
      const groups = [...byOrg];
      let next = 0;
      const lane = async () => {
        for (let group = groups[next++]; group; group = groups[next++]) await this.#writeGroup(group[0], group[1]);
      };
      await Promise.all(Array.from({ length: Math.min(this.#orgConcurrency, groups.length) }, lane));
    }
  }

  #take(): Array<Queued<E>> {
    const batch = this.#queue.slice(this.#head, this.#head + this.#maxBatch);
    this.#head += batch.length;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    const { metrics, stream } = this.#options;
    metrics?.ingestQueued.set({ stream }, this.queued);
    metrics?.ingestBatchSize.observe({ stream }, batch.length);
    return batch;
  }

  async #writeGroup(orgId: string, items: Array<Queued<E>>): Promise<void> {
    const { db, applyBatch, logger } = this.#options;
    const events = items.map((item) => item.event);
    for (let attempt = 0; ; attempt++) {
      try {
        const results = await db.asSystem(orgId, (em) => applyBatch(em, orgId, events));
        if (results.length !== items.length) throw new Error(`applyBatch gave ${results.length} results for ${items.length} events`);
        items.forEach((item, index) => this.#report(item, { result: results[index]! }));
        return;
      } catch (error) {
        if (!isTransientDbError(error)) {
          logger.warn({ err: error, orgId, events: items.length }, "a batch was refused; writing its events one by one");
          this.#recovered("one-by-one");
          break;
        }
        if (this.#givingUp()) {
          for (const item of items) this.#report(item, { error });
          return;
        }
        logger.warn({ err: error, orgId, events: items.length, attempt }, "a batch failed; retrying it");
        this.#recovered("retry");
        await sleep(this.#backoff(attempt));
      }
    }
    for (const item of items) await this.#writeOne(orgId, item);
  }

  async #writeOne(orgId: string, item: Queued<E>): Promise<void> {
    const { db, applyOne, logger, describe } = this.#options;
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await db.asSystem(orgId, (em) => applyOne(em, item.event));
        this.#report(item, { result });
        return;
      } catch (error) {
        if (!isTransientDbError(error) || this.#givingUp()) {
          this.#report(item, { error });
          return;
        }
        logger.warn({ err: error, ...describe(item.event), attempt }, "an event failed; retrying it");
        this.#recovered("retry");
        await sleep(this.#backoff(attempt));
      }
    }
  }

  #report(item: Queued<E>, outcome: { result: R } | { error: unknown }): void {
    const { logger, describe, metrics, stream } = this.#options;
    metrics?.ingestLag.observe({ stream }, (performance.now() - item.receivedAt) / 1000);
    try {
      if ("error" in outcome) {
        logger.error({ err: outcome.error, ...describe(item.event) }, "an event could not be stored; dropped");
        this.#recovered("dropped");
        this.#options.dropped(item.event, outcome.error);
      } else {
        this.#options.stored(item.event, outcome.result);
      }
    } catch (error) {
      // A failing listener (the WebSocket relay) must not stop the writes.
      logger.error({ err: error, ...describe(item.event) }, "reporting a stored event failed");
    }
  }

  /** Drops the oldest waiting event: the queue is full. */
  #overflow(): void {
    const oldest = this.#queue[this.#head];
    if (!oldest) return;
    this.#queue[this.#head++] = undefined as never;
    if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#options.metrics?.ingestQueued.dec({ stream: this.#options.stream });
    this.#recovered("overflow");
    this.#overflowed++;
    const now = performance.now();
    if (now - this.#overflowWarnedAt >= 10_000) {
      this.#options.logger.warn({ dropped: this.#overflowed, maxQueued: this.#maxQueued }, "ingest queue full (is the database down?); dropping the oldest events");
      this.#overflowWarnedAt = now;
      this.#overflowed = 0;
    }
    try {
      this.#options.dropped(oldest.event, new Error(`ingest queue full: more than ${this.#maxQueued} events waiting`));
    } catch (error) {
      this.#options.logger.error({ err: error, ...this.#options.describe(oldest.event) }, "reporting a dropped event failed");
    }
  }

  #recovered(action: "retry" | "one-by-one" | "dropped" | "overflow"): void {
    this.#options.metrics?.ingestRecoveries.inc({ stream: this.#options.stream, action });
  }

  #givingUp(): boolean {
    return this.#closedAt !== undefined && performance.now() - this.#closedAt > (this.#options.giveUpAfterCloseMs ?? 30_000);
  }

  #backoff(attempt: number): number {
    const initial = this.#options.retryInitialMs ?? 100;
    return Math.min(this.#options.retryMaxMs ?? 5_000, initial * 2 ** Math.min(attempt, 20));
  }
}

/**
 * Feeds `subscription` into `writer` until the subscription ends (drained or failed), then closes
 * the writer: resolves once every received event is stored or dropped. `parse` turns a message
 * into its event (or its events, pushed in order, when one message carries several), or undefined
 * for one it logged and skipped (then `onRejected` counts it).
 */
export async function pumpInto<E extends { orgId: string }, R>(
  subscription: Subscription,
  writer: OrgBatchWriter<E, R>,
  parse: (msg: Msg) => E | readonly E[] | undefined,
  options: { logger: Logger; what: string; onRejected?: () => void },
): Promise<void> {
  try {
    for await (const msg of subscription) {
      const parsed = parse(msg);
      if (parsed === undefined) options.onRejected?.();
      else if (isList(parsed)) for (const event of parsed) writer.push(event);
      else writer.push(parsed);
    }
  } catch (error) {
    // The subscription itself failed (permissions, connection closed): what was received still gets stored.
    options.logger.error({ err: error }, `the ${options.what} subscription failed`);
  } finally {
    await writer.close();
  }
}

/** Whether a message parsed into several events (an event itself is never an array). */
function isList<E>(parsed: E | readonly E[]): parsed is readonly E[] {
  return Array.isArray(parsed);
}
