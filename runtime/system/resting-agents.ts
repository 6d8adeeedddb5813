import { shardOf } from "../protocol/index.js";

/**
 * An agent at rest kept without an actor: its persisted snapshot as JSON text — the state the
 * store holds at `revision` — about 0.7 KiB after a task, against some 15 KiB for a live actor.
 * Holds no task by definition: only an agent with nothing current or queued and nothing unsaved
 * rests.
 */
export interface RestingAgent {
  readonly orgId: string;
  /** The stored snapshot, or undefined for an agent that has none yet (revision 0). */
  readonly json: string | undefined;
  readonly revision: number;
  readonly lastActiveAt: number;
}

/**
 * The resting tier of a worker's agents (see AgentActivations), by agent id. A worker may hold a
 * hundred thousand of them: each keeps only its snapshot text and a shared copy of its org id.
 */
export class RestingAgents {
  readonly #agents = new Map<string, RestingAgent>();
  /** One copy of each org id (there are few orgs and many agents). */
  readonly #orgIds = new Map<string, string>();

  get size(): number {
    return this.#agents.size;
  }

  has(agentId: string): boolean {
    return this.#agents.has(agentId);
  }

  /** Puts the agent to rest as `json` at `revision`. */
  put(agentId: string, agent: RestingAgent): void {
    let orgId = this.#orgIds.get(agent.orgId);
    if (orgId === undefined) this.#orgIds.set(agent.orgId, (orgId = agent.orgId));
    this.#agents.set(agentId, { ...agent, orgId });
  }

  /** Takes the agent out of rest (it is about to be live, or forgotten), if it rests here. */
  take(agentId: string): RestingAgent | undefined {
    const agent = this.#agents.get(agentId);
    if (agent) this.#agents.delete(agentId);
    return agent;
  }

  /** Forgets the agents of `shard` (its next holder may change them). Returns how many. */
  forgetShard(shard: number): number {
    let count = 0;
    for (const agentId of this.#agents.keys()) {
      if (shardOf(agentId) !== shard) continue;
      this.#agents.delete(agentId);
      count++;
    }
    return count;
  }

  /** Forgets the agents last active at or before `cutoff` (ms since the epoch). Returns how many. */
  forgetIdle(cutoff: number): number {
    let count = 0;
    for (const [agentId, agent] of this.#agents) {
      if (agent.lastActiveAt > cutoff) continue;
      this.#agents.delete(agentId);
      count++;
    }
    return count;
  }
}
