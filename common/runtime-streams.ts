import type { NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { SHARD_COUNT, subjects } from "../runtime/protocol/index.js";

/** The durable task queue: one stream, one durable consumer per shard. */
export const TASK_STREAM = "NF_TASKS";
export const shardConsumer = (shard: number) => `shard-${shard}`;

/**
 * How long a delivered task may go without an ack or a `working()` before JetStream hands it out
 * again. The worker holding it signals `working()` well within this while the task waits or runs,
 * so only a dead or paused worker's tasks come back — after about this long.
 */
export const TASK_ACK_WAIT_MS = 2_000;

/** Buckets of the runtime pool (JetStream KV). */
export const BUCKETS = {
  /** Shard leases and worker liveness (runtime/system/shard-leases.ts). */
  runtime: "nf_runtime",
  /** Persisted agent actor snapshots, by `<orgId>.<agentId>`. */
  snapshots: "nf_agent_snapshots",
  /** The one terminal outcome of each durable execution, by execution id (exactly-once completion). */
  outcomes: "nf_exec_outcomes",
} as const;

const ns = (ms: number) => ms * 1_000_000;

function shardConsumerConfig(shard: number) {
  return {
    durable_name: shardConsumer(shard),
    filter_subject: subjects.taskQueue(shard),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ns(TASK_ACK_WAIT_MS),
    max_ack_pending: 20_000,
    max_deliver: -1,
  };
}

export interface RuntimeStores {
  leases: KV;
  snapshots: KV;
  outcomes: KV;
}

/**
 * Creates (or finds, unchanged) the task stream, its per-shard consumers and the runtime's KV
 * buckets. Idempotent: the control plane and every worker call it at start. Publish
 * deduplication uses the execution id as message id over a 2-minute window, so re-publishing a
 * task that is still stored is a no-op, and one that a crashed server lost is stored again.
 */
export async function ensureTaskStream(nc: NatsConnection): Promise<JetStreamManager> {
  const jsm = await jetstreamManager(nc);
  const config = {
    name: TASK_STREAM,
    subjects: [subjects.anyTaskQueue],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: ns(120_000),
  };
  try {
    await jsm.streams.info(TASK_STREAM);
  } catch {
    await jsm.streams.add(config).catch(async (error: unknown) => {
      // Another process created it between our look and our add.
      await jsm.streams.info(TASK_STREAM).catch(() => Promise.reject(error));
    });
  }
  for (let shard = 0; shard < SHARD_COUNT; shard++) await jsm.consumers.add(TASK_STREAM, shardConsumerConfig(shard));
  return jsm;
}

/**
 * Puts a shard's consumer back in step with its stream after nats-server lost the stream's tail (a
 * crash before it flushed): the consumer's state can then point past the stream's last message, and
 * every task published afterwards under those sequence numbers would be skipped, never delivered.
 * Such a consumer is deleted and created again (delivering every message the work queue still
 * holds; duplicates are harmless — see the outcome store). Returns true when it had to.
 */
export async function repairShardConsumer(jsm: JetStreamManager, shard: number): Promise<boolean> {
  const [stream, consumer] = await Promise.all([jsm.streams.info(TASK_STREAM), jsm.consumers.info(TASK_STREAM, shardConsumer(shard))]);
  if (consumer.delivered.stream_seq <= stream.state.last_seq) return false;
  await jsm.consumers.delete(TASK_STREAM, shardConsumer(shard));
  await jsm.consumers.add(TASK_STREAM, shardConsumerConfig(shard));
  return true;
}

/** Opens (creating when missing) the runtime's KV buckets. */
export async function openRuntimeStores(nc: NatsConnection): Promise<RuntimeStores> {
  const kvm = new Kvm(nc);
  const [leases, snapshots, outcomes] = await Promise.all([
    kvm.create(BUCKETS.runtime, { history: 1, storage: StorageType.File }),
    kvm.create(BUCKETS.snapshots, { history: 1, storage: StorageType.File }),
    kvm.create(BUCKETS.outcomes, { history: 1, storage: StorageType.File, ttl: 24 * 3600 * 1000 }),
  ]);
  return { leases, snapshots, outcomes };
}
