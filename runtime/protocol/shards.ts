/**
 * Agents are placed by shard: `shardOf(agentId)` is fixed for the life of an agent, and a shard is
 * leased to one runtime worker at a time (runtime/system/shard-leases.ts). An agent is therefore
 * active on at most one worker, and the durable task queue is partitioned the same way, so the
 * worker holding a shard's lease is the only consumer of that shard's tasks.
 *
 * Leasing shards rather than single agents is how Akka Cluster Sharding and Kafka consumer groups
 * place entities: one heartbeat per shard instead of one per agent keeps 100k agents per worker
 * cheap. 32 shards spread well over the handful of workers a deployment runs.
 */
export const SHARD_COUNT = 32;

/** The shard of an agent: FNV-1a of its id, modulo {@link SHARD_COUNT}. Stable across processes. */
export function shardOf(agentId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < agentId.length; i++) {
    hash ^= agentId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % SHARD_COUNT;
}
