import type { KV, KvEntry } from "@nats-io/kv";
import type { Logger } from "pino";
import { z } from "zod";
import { SHARD_COUNT } from "../protocol/index.js";

/** Timing of the leases; the defaults give a dead worker's shards a new owner in about 1.5 s. */
export interface LeaseTiming {
  /** A lease not renewed for this long is free to take. */
  ttlMs: number;
  /** How often a worker renews its leases and looks for free shards. */
  heartbeatMs: number;
}

export const defaultLeaseTiming: LeaseTiming = { ttlMs: 1_200, heartbeatMs: 250 };

export interface ShardLeasesDeps {
  /** The `nf_runtime` KV bucket (runtime/system/runtime-buckets.ts). */
  kv: KV;
  workerId: string;
  logger: Logger;
  timing?: LeaseTiming;
  shardCount?: number;
  /** Injected clock (ms since epoch); lease expiry compares the holder's clock with the reader's. */
  now?: () => number;
  /** The shard is ours: start consuming its tasks. */
  onAcquired: (shard: number) => void;
  /**
   * The shard is no longer ours — another worker took it after our lease lapsed (a long pause):
   * stop its agents at once, without writing anything, and leave its tasks unacknowledged.
   */
  onLost: (shard: number) => void;
  /**
   * We are giving the shard up (rebalancing, shutdown): stop taking its tasks, let its agents
   * finish and persist their snapshots. The lease is deleted once this resolves.
   */
  onRelease: (shard: number) => Promise<void>;
}

const leaseSchema = z.object({ workerId: z.string(), expiresAt: z.number() });
type Lease = z.infer<typeof leaseSchema>;

interface Seen {
  lease: Lease;
  revision: number;
}

const shardKey = (shard: number) => `shard.${shard}`;
const workerKey = (workerId: string) => `worker.${workerId}`;
const encode = (lease: Lease) => new TextEncoder().encode(JSON.stringify(lease));

/**
 * Single activation for the runtime pool: each shard (see runtime/protocol/shards.ts) is leased to
 * at most one worker through a key in a JetStream KV bucket. The holder renews its lease every
 * heartbeat with a compare-and-set on the key's revision, so a worker that paused past its lease and
 * lost the shard finds out at its next renewal (the revision moved on) and stops — fencing by
 * revision. A lease names its expiry on the holder's clock; workers of one deployment are assumed
 * to have synchronised clocks (NTP), well within the TTL.
 *
 * Balance: every worker also renews a `worker.<id>` key, and takes free or expired shards while it
 * holds fewer than ceil(shards / live workers); one holding more releases one shard per heartbeat.
 * Takeover is a compare-and-set too, so two workers racing for a shard cannot both win.
 *
 * Lifecycle: `start()` (watches the bucket, first heartbeat), `stop()` releases every shard through
 * `onRelease` and deletes the leases so the other workers take over at once.
 */
export class ShardLeases {
  readonly #deps: ShardLeasesDeps;
  readonly #timing: LeaseTiming;
  readonly #shardCount: number;
  readonly #now: () => number;
  /** Latest known lease of every shard and liveness of every worker, from the bucket's watch. */
  readonly #shards = new Map<number, Seen>();
  readonly #workers = new Map<string, Lease>();
  /** Shards we hold, with the revision of our last write (the fencing token). */
  readonly #held = new Map<number, number>();
  readonly #releasing = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopWatch: (() => void) | undefined;
  #stopped = false;

  constructor(deps: ShardLeasesDeps) {
    this.#deps = deps;
    this.#timing = deps.timing ?? defaultLeaseTiming;
    this.#shardCount = deps.shardCount ?? SHARD_COUNT;
    this.#now = deps.now ?? Date.now;
  }

  /** The worker holding a live lease on `shard`, as last seen. */
  owner(shard: number): string | undefined {
    if (this.#held.has(shard)) return this.#deps.workerId;
    const seen = this.#shards.get(shard);
    return seen && seen.lease.expiresAt > this.#now() ? seen.lease.workerId : undefined;
  }

  /** Whether this worker holds `shard` (and is not giving it up). */
  holds(shard: number): boolean {
    return this.#held.has(shard) && !this.#releasing.has(shard);
  }

  /** The shards this worker holds. */
  get held(): number[] {
    return [...this.#held.keys()].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    const watch = await this.#deps.kv.watch({ key: ">" });
    this.#stopWatch = () => watch.stop();
    const initial = new Promise<void>((resolve) => {
      void (async () => {
        for await (const entry of watch) {
          this.#observe(entry);
          // `delta` counts the entries still pending in the initial replay; 0 is its last one.
          if (entry.isUpdate || !entry.delta) resolve();
        }
        resolve();
      })();
      // An empty bucket sends no entries: the first heartbeat must not wait for one.
      setTimeout(resolve, 200).unref();
    });
    await initial;
    await this.#tick();
    this.#timer = setInterval(() => {
      if (!this.#ticking) this.#ticking = this.#tick().finally(() => (this.#ticking = undefined));
    }, this.#timing.heartbeatMs);
    this.#timer.unref();
  }

  /** Releases every shard (through `onRelease`), deletes our keys and stops renewing. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#ticking;
    await Promise.all(this.held.map((shard) => this.#release(shard)));
    await this.#deps.kv.delete(workerKey(this.#deps.workerId)).catch(() => undefined);
    this.#stopWatch?.();
  }

  /**
   * Stops renewing without releasing anything, as if the process had died: for tests and the
   * recovery benchmark, which need a worker's leases to lapse rather than be handed over.
   */
  abandon(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#stopWatch?.();
  }

  #observe(entry: KvEntry): void {
    const [kind, id] = entry.key.split(".", 2) as [string, string | undefined];
    if (id === undefined) return;
    const deleted = entry.operation !== "PUT";
    const parsed = deleted ? undefined : leaseSchema.safeParse(entry.json());
    if (kind === "worker") {
      if (parsed?.success) this.#workers.set(id, parsed.data);
      else this.#workers.delete(id);
    } else if (kind === "shard") {
      const shard = Number(id);
      if (parsed?.success) this.#shards.set(shard, { lease: parsed.data, revision: entry.revision });
      else this.#shards.delete(shard);
    }
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const { kv, workerId, logger } = this.#deps;
    const expiresAt = this.#now() + this.#timing.ttlMs;
    const lease: Lease = { workerId, expiresAt };
    try {
      await kv.put(workerKey(workerId), encode(lease));
      this.#workers.set(workerId, lease);
    } catch (error) {
      logger.warn({ err: error }, "could not renew the worker's liveness key");
    }

    await Promise.all(
      // Shards being released are renewed too: their agents are still finishing.
      [...this.#held].map(async ([shard, revision]) => {
        try {
          const next = await kv.update(shardKey(shard), encode(lease), revision);
          if (this.#held.has(shard)) this.#held.set(shard, next);
          this.#shards.set(shard, { lease, revision: next });
        } catch (error) {
          if (!this.#held.has(shard)) return;
          this.#held.delete(shard);
          logger.warn({ shard, err: error }, "lost a shard lease: another worker holds it now");
          this.#deps.onLost(shard);
        }
      }),
    );

    const now = this.#now();
    const live = [...this.#workers.values()].filter((worker) => worker.expiresAt > now).length;
    const target = Math.ceil(this.#shardCount / Math.max(1, live));
    const holding = this.#held.size - this.#releasing.size;
    if (holding > target) {
      const shard = this.held.filter((s) => !this.#releasing.has(s)).at(-1);
      if (shard !== undefined) void this.#release(shard);
      return;
    }
    let wanted = target - holding;
    for (const shard of this.#preferenceOrder()) {
      if (wanted <= 0 || this.#stopped) break;
      if (this.#held.has(shard)) continue;
      const seen = this.#shards.get(shard);
      if (seen && seen.lease.expiresAt > now) continue;
      try {
        const revision = seen ? await kv.update(shardKey(shard), encode(lease), seen.revision) : await kv.create(shardKey(shard), encode(lease));
        this.#held.set(shard, revision);
        this.#shards.set(shard, { lease, revision });
        wanted--;
        logger.info({ shard, from: seen?.lease.workerId }, "acquired a shard lease");
        this.#deps.onAcquired(shard);
      } catch {
        // Another worker won the race (or the entry changed since we saw it): the watch will tell.
      }
    }
  }

  /** Shards in an order that differs per worker, so workers starting together spread out. */
  #preferenceOrder(): number[] {
    let offset = 0;
    for (const char of this.#deps.workerId) offset = (offset * 31 + char.charCodeAt(0)) % this.#shardCount;
    return Array.from({ length: this.#shardCount }, (_, i) => (offset + i) % this.#shardCount);
  }

  async #release(shard: number): Promise<void> {
    if (this.#releasing.has(shard) || !this.#held.has(shard)) return;
    this.#releasing.add(shard);
    try {
      await this.#deps.onRelease(shard);
      await this.#ticking;
      const revision = this.#held.get(shard);
      if (revision !== undefined) await this.#deps.kv.delete(shardKey(shard), { previousSeq: revision }).catch(() => undefined);
      this.#deps.logger.info({ shard }, "released a shard lease");
    } finally {
      this.#held.delete(shard);
      this.#releasing.delete(shard);
    }
  }
}
