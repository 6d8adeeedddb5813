import { RequestError, TimeoutError, type NatsConnection } from "@nats-io/transport-node";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { Logger } from "pino";
import { AgentExecution, type IAgentExecution, type IAiAgent } from "../../entities/index.js";
import {
  cancelReplySchema,
  decodeJson,
  encodeJson,
  executionIdSchema,
  NeuroflowError,
  subjects,
  taskAckSchema,
  type AgentCancel,
  type AgentTask,
  type WireError,
} from "../../runtime/protocol/index.js";
import { cancelPendingExecution, isTerminal } from "../persistence/execution-ledger.js";

export interface DispatchDeps {
  nc: NatsConnection;
  logger: Logger;
  ackTimeoutMs: number;
}

/** Runs `work` as one committed unit of work in the caller's org (see Database.asUser). */
export type OrgScope = <T>(work: (em: EntityManager) => Promise<T>) => Promise<T>;

/**
 * Gives a task to an agent. The execution row is committed (PENDING) before the task is
 * published, so the database is the ledger of work and a status event can never arrive for a row
 * that isn't there yet; the runtime worker's ack confirms delivery. When no worker answers, the
 * execution is marked FAILED and UNAVAILABLE is thrown; a worker's typed rejection is marked
 * FAILED and rethrown with its code. `loadAgent` throws NOT_FOUND for an agent the caller can't see.
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
    const task: AgentTask = {
      type: "agent.task",
      executionId: execution.id,
      orgId: agent.organization.id,
      agentId: agent.id,
      prompt,
      agent: { name: agent.name, personality: agent.personality, modelConfig: agent.modelConfig, capabilities: agent.capabilities },
      submittedAt: execution.createdAt.toISOString(),
    };
    return { execution, task };
  });
  const logger = deps.logger.child({ orgId: task.orgId, agentId: task.agentId, executionId: task.executionId });

  let failure: NeuroflowError | undefined;
  try {
    const reply = await deps.nc.request(subjects.agentTask(task.orgId, task.agentId), encodeJson(task), {
      timeout: deps.ackTimeoutMs,
    });
    const ack = decodeJson(taskAckSchema, reply.data, "task ack");
    if (!ack.ok) failure = NeuroflowError.fromWire(ack.error);
  } catch (cause) {
    failure =
      cause instanceof NeuroflowError
        ? cause
        : new NeuroflowError("UNAVAILABLE", "no runtime worker took the task; is a worker running?", { cause, retryable: true });
  }
  if (failure) {
    logger.warn({ error: failure.toWire() }, "task dispatch failed");
    const error = failure.toWire();
    // Conditional: a status event may already have moved the row on.
    await scope((em) =>
      em.nativeUpdate(AgentExecution, { id: execution.id, status: "PENDING" }, { status: "FAILED", error, completedAt: new Date() }),
    );
    execution.status = "FAILED";
    execution.error = error;
    throw failure;
  }
  logger.debug("task accepted by a runtime worker");
  return execution;
}

export interface CancelDeps {
  nc: NatsConnection;
  logger: Logger;
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

/** Whether a request failed only because nobody answered (timeout, or no subscriber at all). */
function unanswered(error: unknown): boolean {
  return error instanceof TimeoutError || (error instanceof RequestError && error.isNoResponders());
}

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
  let forwarded = false;
  try {
    const reply = await deps.nc.request(subjects.agentCancel(orgId, agentId), encodeJson(request), { timeout: deps.replyTimeoutMs });
    const answer = decodeJson(cancelReplySchema, reply.data, "cancel reply");
    if (!answer.ok) throw NeuroflowError.fromWire(answer.error);
    forwarded = answer.found;
  } catch (cause) {
    if (cause instanceof NeuroflowError) throw cause;
    if (!unanswered(cause)) throw new NeuroflowError("UNAVAILABLE", "could not reach the runtime workers", { cause, retryable: true });
  }
  if (forwarded) {
    logger.info("a runtime worker cancelled the execution");
    return { execution: await scope(load), forwarded: true };
  }

  return scope(async (em) => {
    const changed = await cancelPendingExecution(em, { orgId, agentId, executionId }, cancelledByRequest, new Date());
    // Loaded after the raw update, in the same transaction: it reads the new row.
    const execution = await load(em);
    if (changed) {
      logger.info("cancelled a pending execution no worker held");
      return { execution, forwarded: false };
    }
    if (isTerminal(execution.status)) throw ended(execution.status);
    throw new NeuroflowError("CONFLICT", "no runtime worker holds this execution; it may be ending right now");
  });
}
