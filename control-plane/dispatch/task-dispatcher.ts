import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { Logger } from "pino";
import { AgentExecution, AiAgent, type IAgentExecution, type IAiAgent } from "../../entities/index.js";
import {
  decodeJson,
  encodeJson,
  executionIdSchema,
  NeuroflowError,
  shardOf,
  subjects,
  type AgentCancel,
  type AgentStatusChanged,
  type AgentTask,
  type WireError,
} from "../../runtime/protocol/index.js";
import type { OutcomeStore } from "../../common/outcome-store.js";
import { cancelPendingExecution, isTerminal } from "../persistence/execution-ledger.js";
import { askHolderToCancel } from "./holder-cancel.js";

export interface DispatchDeps {
  nc: NatsConnection;
  logger: Logger;
  /** How long to wait for JetStream to store a task before leaving it to the sweeper. */
  publishTimeoutMs: number;
}

/** Runs `work` as one committed unit of work in the caller's org (see Database.asUser). */
export type OrgScope = <T>(work: (em: EntityManager) => Promise<T>) => Promise<T>;

/** The message a runtime worker gets for an execution of `agent`. */
export function taskMessage(agent: IAiAgent, execution: IAgentExecution): AgentTask {
  return {
    type: "agent.task",
    executionId: execution.id,
    orgId: agent.organization.id,
    agentId: agent.id,
    prompt: execution.task,
    agent: { name: agent.name, personality: agent.personality, modelConfig: agent.modelConfig, capabilities: agent.capabilities },
    submittedAt: execution.createdAt.toISOString(),
  };
}

/**
 * Puts a task on the durable queue of its agent's shard (JetStream, message id = execution id, so
 * publishing it again is deduplicated while the stream still holds it). Resolves once JetStream
 * stored it; rejects when it could not (NATS down, timeout) — the execution stays PENDING and the
 * sweeper publishes it again.
 */
export async function publishTask(nc: NatsConnection, task: AgentTask, timeoutMs: number, msgId = task.executionId): Promise<void> {
  await jetstream(nc, { timeout: timeoutMs }).publish(subjects.taskQueue(shardOf(task.agentId)), encodeJson(task), { msgID: msgId });
}

/**
 * Gives a task to an agent (transactional outbox): the execution row is committed (PENDING) first,
 * so the database is the ledger of work and a status event never arrives for a row that isn't
 * there; then the task is published to the durable queue. A publish that fails leaves the row
 * PENDING for the sweeper (dispatch/sweeper.ts) instead of failing the request: the execution
 * exists and will run. With no worker running, the task waits in the queue until one starts.
 * `loadAgent` throws NOT_FOUND for an agent the caller can't see; a deactivated agent is CONFLICT.
 */
export async function dispatchTask(
  deps: DispatchDeps,
  scope: OrgScope,
  loadAgent: (em: EntityManager) => Promise<IAiAgent>,
  prompt: string,
): Promise<IAgentExecution> {
  const { execution, task } = await scope(async (em) => {
    const agent = await loadAgent(em);
    if (!agent.isActive) throw new NeuroflowError("CONFLICT", "this agent is deactivated");
    const execution = em.create(AgentExecution, {
      organization: agent.organization,
      agent,
      task: prompt,
      status: "PENDING",
      input: { prompt },
    });
    await em.flush();
    return { execution, task: taskMessage(agent, execution) };
  });
  const logger = deps.logger.child({ orgId: task.orgId, agentId: task.agentId, executionId: task.executionId });
  try {
    await publishTask(deps.nc, task, deps.publishTimeoutMs);
    logger.debug("task queued");
  } catch (error) {
    logger.warn({ err: error }, "could not queue the task now; the sweeper will");
  }
  return execution;
}

export interface CancelDeps {
  nc: NatsConnection;
  logger: Logger;
  /**
   * Where a cancel decided here is recorded as the execution's outcome, so a worker that receives
   * the queued task later answers from it instead of running it.
   */
  outcomes: OutcomeStore;
  /**
   * How long to wait for the worker holding the execution. Only that worker answers, so a cancel
   * of an execution no worker holds always waits this long: keep it short.
   */
  replyTimeoutMs: number;
}

/** The result of a cancel: `forwarded` when a worker had it (its CANCELLED event follows). */
export interface CancelResult {
  execution: IAgentExecution;
  forwarded: boolean;
}

/** The error an execution cancelled on request carries. */
export const cancelledByRequest: WireError = { code: "CANCELLED", message: "cancelled on request", retryable: false };


/**
 * Cancels an execution of the caller's org. A running or queued one is cancelled by the worker
 * holding it: every worker hears `nf.<org>.agent.<agent>.cancel`, only the holder answers, and its
 * CANCELLED status event reaches the ledger and the WebSockets like any other (`forwarded`). When
 * no worker answers within `replyTimeoutMs` and the row is still PENDING, the task never reached
 * a worker (or its worker is gone): the row is marked CANCELLED here, conditionally.
 *
 * Throws NOT_FOUND for an execution the caller can't see (malformed id, another org), CONFLICT
 * when it has already ended — or is RUNNING with no worker holding it, which means it is ending
 * right now — UNAVAILABLE when NATS fails otherwise, and a worker's typed rejection as is.
 */
export async function cancelExecution(deps: CancelDeps, scope: OrgScope, orgId: string, executionId: string): Promise<CancelResult> {
  const load = async (em: EntityManager) => {
    const found = executionIdSchema.safeParse(executionId).success
      ? await em.findOne(AgentExecution, { id: executionId, organization: orgId })
      : null;
    if (!found) throw new NeuroflowError("NOT_FOUND", "execution not found");
    return found;
  };
  const ended = (status: string) => new NeuroflowError("CONFLICT", `execution already ended: ${status}`);
  const before = await scope(load);
  if (isTerminal(before.status)) throw ended(before.status);
  const agentId = before.agent.id;
  const logger = deps.logger.child({ orgId, agentId, executionId });

  const request: AgentCancel = { type: "agent.cancel", executionId, orgId, agentId };
  const forwarded = await askHolderToCancel(deps.nc, subjects.agentCancel(orgId, agentId), request, deps.replyTimeoutMs);
  if (forwarded) {
    logger.info("a runtime worker cancelled the execution");
    return { execution: await scope(load), forwarded: true };
  }

  const cancelled = await scope(async (em) => {
    const changed = await cancelPendingExecution(em, { orgId, agentId, executionId }, cancelledByRequest, new Date());
    // Loaded after the raw update, in the same transaction: it reads the new row.
    const execution = await load(em);
    if (!changed) {
      if (isTerminal(execution.status)) throw ended(execution.status);
      throw new NeuroflowError("CONFLICT", "no runtime worker holds this execution; it may be ending right now");
    }
    const agent = await em.findOneOrFail(AiAgent, { id: agentId, organization: orgId });
    const at = (execution.completedAt ?? new Date()).toISOString();
    const event: AgentStatusChanged = {
      type: "agent.status.changed",
      orgId,
      agentId,
      // The agent's own status is whatever its worker last said: this cancel does not change it.
      status: agent.status,
      workerId: "control-plane",
      at,
      queued: 0,
      execution: { executionId, status: "CANCELLED", startedAt: at, completedAt: at, error: cancelledByRequest },
    };
    await deps.outcomes.commit(executionId, event);
    return { execution, event };
  });
  // Like a worker's outcome, on the bus: every control plane stores it (a no-op here) and relays it.
  deps.nc.publish(subjects.agentStatus(orgId, agentId), encodeJson(cancelled.event));
  logger.info("cancelled a pending execution no worker held");
  return { execution: cancelled.execution, forwarded: false };
}
