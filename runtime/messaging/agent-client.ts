import type { NatsConnection } from "@nats-io/transport-node";
import { RequestError, TimeoutError } from "@nats-io/transport-node";
import {
  agentCallReplySchema,
  decodeJson,
  encodeJson,
  NeuroflowError,
  subjects,
  type AgentTask,
  type ExecutionProgress,
} from "../protocol/index.js";

export interface CallAgentOptions {
  /** How long to wait for the outcome; past it the call rejects with TIMEOUT (the task may still run). */
  timeoutMs: number;
}

/**
 * Gives a task to an agent and waits for its outcome (request/reply on
 * `nf.<orgId>.agent.<agentId>.call`). Resolves with the ended execution — COMPLETED, FAILED or
 * CANCELLED: a failed task is an outcome, not a rejection. Rejects with the worker's typed error
 * when it refused the task, UNAVAILABLE when no runtime worker listens, TIMEOUT past `timeoutMs`.
 * No ledger row is written: callers that need one (the API) dispatch through the control plane.
 */
export async function callAgent(nc: NatsConnection, task: AgentTask, options: CallAgentOptions): Promise<ExecutionProgress> {
  let data: Uint8Array;
  try {
    const reply = await nc.request(subjects.agentCall(task.orgId, task.agentId), encodeJson(task), { timeout: options.timeoutMs });
    data = reply.data;
  } catch (cause) {
    if (cause instanceof TimeoutError) {
      throw new NeuroflowError("TIMEOUT", `agent ${task.agentId} did not answer within ${options.timeoutMs} ms`, { cause, retryable: true });
    }
    if (cause instanceof RequestError && cause.isNoResponders()) {
      throw new NeuroflowError("UNAVAILABLE", "no runtime worker is taking agent calls", { cause, retryable: true });
    }
    throw new NeuroflowError("UNAVAILABLE", "could not reach the runtime workers", { cause, retryable: true });
  }
  const reply = decodeJson(agentCallReplySchema, data, "agent call reply");
  if (!reply.ok) throw NeuroflowError.fromWire(reply.error);
  return reply.execution;
}
