import type { KV } from "@nats-io/kv";
import { agentStatusChangedSchema, decodeJson, encodeJson, type AgentStatusChanged } from "../runtime/protocol/index.js";

/**
 * The one terminal outcome of each durable execution. A worker that finishes a task `commit`s its
 * outcome before publishing it; the commit is a KV create, so when the task also ran elsewhere (it
 * was redelivered after a worker paused or died) exactly one outcome wins and every worker
 * publishes that one — a task is never completed twice. A redelivered task whose outcome is
 * already here is answered from it (`find`) instead of running again.
 */
export class OutcomeStore {
  readonly #kv: KV;

  constructor(kv: KV) {
    this.#kv = kv;
  }

  /** The stored outcome of an execution, if it has one. */
  async find(executionId: string): Promise<AgentStatusChanged | undefined> {
    const entry = await this.#kv.get(executionId);
    if (!entry || entry.operation !== "PUT") return undefined;
    return decodeJson(agentStatusChangedSchema, entry.value, "stored outcome");
  }

  /** Stores `event` as the execution's outcome unless one is stored; returns the one that is. */
  async commit(executionId: string, event: AgentStatusChanged): Promise<{ event: AgentStatusChanged; won: boolean }> {
    try {
      await this.#kv.create(executionId, encodeJson(event));
      return { event, won: true };
    } catch (error) {
      const stored = await this.find(executionId);
      if (!stored) throw error;
      return { event: stored, won: false };
    }
  }
}
