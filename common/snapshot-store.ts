import type { KV } from "@nats-io/kv";
import { NeuroflowError } from "../runtime/protocol/index.js";

/** A stored snapshot and the revision it was read or written at (the fencing token for the next write). */
export interface StoredSnapshot {
  snapshot: unknown;
  revision: number;
}

const key = (orgId: string, agentId: string) => `${orgId}.${agentId}`;
const encoder = new TextEncoder();

/**
 * Agent actor snapshots (`actor.getPersistedSnapshot()`), one key per agent. Writes are
 * compare-and-set on the revision the writer last read or wrote: a worker that lost an agent's
 * shard while paused and comes back to save finds the revision moved on (the new owner saved) and
 * gets CONFLICT instead of overwriting newer state.
 *
 * A snapshot holds the agent's memory (its conversations), so it goes when the agent does:
 * {@link forget} and {@link forgetOrg} purge keys (history included; the purge marker stays). A
 * worker still holding such an agent gets CONFLICT at its next save and stops the actor: a later
 * save expects the revision it knew, and a first save expects the key never to have been written
 * (unlike `KV.create`, which also writes over a deleted or purged key), so a forgotten agent is
 * never written back.
 */
export class SnapshotStore {
  readonly #kv: KV;

  constructor(kv: KV) {
    this.#kv = kv;
  }

  async load(orgId: string, agentId: string): Promise<StoredSnapshot | undefined> {
    const entry = await this.#kv.get(key(orgId, agentId));
    if (!entry || entry.operation !== "PUT") return undefined;
    return { snapshot: entry.json<unknown>(), revision: entry.revision };
  }

  /**
   * Saves a snapshot over the one at `revision` (0: there never was one). Returns the new revision;
   * throws CONFLICT when someone else wrote since, or the snapshot was forgotten.
   */
  save(orgId: string, agentId: string, snapshot: unknown, revision: number): Promise<number> {
    return this.saveJson(orgId, agentId, JSON.stringify(snapshot), revision);
  }

  /** Removes an agent's snapshot, if it has one. */
  async forget(orgId: string, agentId: string): Promise<void> {
    await this.#kv.purge(key(orgId, agentId));
  }

  /** Removes the snapshot of every agent of an organization; resolves with how many there were. */
  async forgetOrg(orgId: string): Promise<number> {
    const keys: string[] = [];
    for await (const stored of await this.#kv.keys(`${orgId}.>`)) keys.push(stored);
    await Promise.all(keys.map((stored) => this.#kv.purge(stored)));
    return keys.length;
  }

  /** {@link save} of a snapshot already serialized (the caller keeps the text, e.g. to rest the agent). */
  async saveJson(orgId: string, agentId: string, json: string, revision: number): Promise<number> {
    const data = encoder.encode(json);
    try {
      return revision === 0 ? await this.#kv.put(key(orgId, agentId), data, { previousSeq: 0 }) : await this.#kv.update(key(orgId, agentId), data, revision);
    } catch (cause) {
      throw new NeuroflowError("CONFLICT", `the snapshot of agent ${agentId} was written by another worker, or the agent was deleted`, { cause });
    }
  }
}
