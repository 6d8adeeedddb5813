import type { NatsConnection } from "@nats-io/transport-node";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { Logger } from "pino";
import { AgentExecution, type IAgentExecution, type IAiAgent } from "../../entities/index.js";
import {
  decodeJson,
  encodeJson,
  NeuroflowError,
  subjects,
  taskAckSchema,
  type AgentTask,
} from "../../runtime/protocol/index.js";

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
