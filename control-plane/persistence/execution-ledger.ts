import type { QueryResult } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { AgentStatusChanged, ExecutionProgress, WireError } from "../../runtime/protocol/index.js";

/** The statuses an execution ends in; once there, a row never changes again. */
export const terminalStatuses = ["COMPLETED", "FAILED", "CANCELLED"] as const;
export type TerminalStatus = (typeof terminalStatuses)[number];

/** Whether `status` is one an execution ends in. */
export function isTerminal(status: string): status is TerminalStatus {
  return terminalStatuses.some((terminal) => terminal === status);
}

/** How one execution ends: what endExecution writes (and the batch ledger, execution-batch-ledger.ts). */
export interface ExecutionEnding {
  orgId: string;
  agentId: string;
  executionId: string;
  status: TerminalStatus;
  /** Left as stored when null (a task cancelled before it started has no start). */
  startedAt: string | null;
  completedAt: string;
  durationMs: number | null;
  workerId: string | null;
  progress?: ExecutionProgress;
  error?: WireError;
}

/**
 * The column values an ending writes (output as `{ text }`, tokens, cost in USD = micro-USD / 1e6),
 * by column name; `started_at`, `provider`, `model` and `worker_id` only fill in what the row lacks.
 */
export function endingColumns(ending: ExecutionEnding) {
  const progress = ending.progress;
  const usage = progress?.usage ?? { promptTokens: 0, completionTokens: 0 };
  return {
    status: ending.status,
    started_at: ending.startedAt,
    completed_at: ending.completedAt,
    duration: ending.durationMs,
    output: progress?.output === undefined ? null : { text: progress.output },
    error: ending.error ?? null,
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    tokens_used: usage.promptTokens + usage.completionTokens,
    cost: (progress?.costMicroUsd ?? 0) / 1_000_000,
    provider: progress?.provider ?? null,
    model: progress?.model ?? null,
    worker_id: ending.workerId,
  };
}

/** How one ending moves its agent's rolled-up metrics (what endExecution adds in SQL, here for a fold in memory). */
export function foldAgentMetrics(
  metrics: { totalExecutions: number; successRate: number; avgResponseTime: number },
  ending: Pick<ExecutionEnding, "status" | "durationMs">,
): { totalExecutions: number; successRate: number; avgResponseTime: number } {
  const n = metrics.totalExecutions;
  // Same float8 operations, in the same order, as endExecution's SQL: folding in memory gives the very same doubles.
  return {
    totalExecutions: n + 1,
    successRate: (metrics.successRate * n + (ending.status === "COMPLETED" ? 1 : 0)) / (n + 1),
    avgResponseTime: (metrics.avgResponseTime * n + (ending.durationMs ?? 0)) / (n + 1),
  };
}

/**
 * Moves one execution from PENDING/RUNNING to a terminal status and, when it moved, folds it into
 * the agent's metrics: every ending counts toward `total_executions`, only COMPLETED toward the
 * success rate. Conditional on the row not being terminal yet, so a repeated or late ending
 * changes nothing. Returns whether the row changed; SQL errors propagate.
 */
async function endExecution(em: EntityManager, ending: ExecutionEnding): Promise<boolean> {
  const c = endingColumns(ending);
  const result = await em.execute<QueryResult>(
    `update neuroflow_agent_executions
        set status = ?, started_at = coalesce(started_at, ?), completed_at = ?, duration = ?,
            output = ?, error = ?, prompt_tokens = ?, completion_tokens = ?, tokens_used = ?, cost = ?,
            provider = coalesce(?, provider), model = coalesce(?, model), worker_id = coalesce(?, worker_id), updated_at = now()
      where id = ? and organization_id = ? and agent_id = ? and status in ('PENDING', 'RUNNING')`,
    [
      c.status,
      c.started_at,
      c.completed_at,
      c.duration,
      c.output === null ? null : JSON.stringify(c.output),
      c.error === null ? null : JSON.stringify(c.error),
      c.prompt_tokens,
      c.completion_tokens,
      c.tokens_used,
      c.cost,
      c.provider,
      c.model,
      c.worker_id,
      ending.executionId,
      ending.orgId,
      ending.agentId,
    ],
    "run",
  );
  const changed = result.affectedRows === 1;
  if (changed) {
    const success = ending.status === "COMPLETED" ? 1 : 0;
    await em.execute(
      `update neuroflow_ai_agents
          set success_rate = (success_rate * total_executions + ?) / (total_executions + 1),
              avg_response_time = (avg_response_time * total_executions + ?) / (total_executions + 1),
              total_executions = total_executions + 1,
              updated_at = now()
        where id = ? and organization_id = ?`,
      [success, ending.durationMs ?? 0, ending.agentId, ending.orgId],
      "run",
    );
  }
  return changed;
}

/** The ending a status event stands for: undefined unless its execution is in a terminal status. */
export function endingOfStatusEvent(event: AgentStatusChanged): ExecutionEnding | undefined {
  const execution = event.execution;
  if (!execution || !isTerminal(execution.status)) return undefined;
  // A task cancelled in the mailbox never started: its event's start is only the cancel time.
  const neverStarted = execution.status === "CANCELLED" && execution.attempt === undefined;
  return {
    orgId: event.orgId,
    agentId: event.agentId,
    executionId: execution.executionId,
    status: execution.status,
    startedAt: neverStarted ? null : execution.startedAt,
    completedAt: execution.completedAt ?? event.at,
    durationMs: neverStarted ? null : (execution.durationMs ?? null),
    workerId: event.workerId,
    progress: execution,
    ...(execution.error ? { error: execution.error } : {}),
  };
}

/**
 * Applies one `agent.status.changed` event to the database: the execution row moves forward
 * (PENDING → RUNNING → COMPLETED/FAILED/CANCELLED, never backwards, so a duplicate or late event
 * — a retry's repeated RUNNING among them — changes nothing) and the agent's status and rolled-up
 * metrics follow. Returns whether the execution row changed. Run it inside one unit of work for
 * the event's org (Database.asSystem); SQL errors propagate.
 */
export async function applyStatusEvent(em: EntityManager, event: AgentStatusChanged): Promise<boolean> {
  const execution = event.execution;
  let changed = false;
  if (execution?.status === "RUNNING") {
    const result = await em.execute<QueryResult>(
      `update neuroflow_agent_executions
          set status = 'RUNNING', started_at = ?, provider = ?, model = ?, worker_id = ?, updated_at = now()
        where id = ? and organization_id = ? and agent_id = ? and status = 'PENDING'`,
      [execution.startedAt, execution.provider ?? null, execution.model ?? null, event.workerId, execution.executionId, event.orgId, event.agentId],
      "run",
    );
    changed = result.affectedRows === 1;
  } else {
    const ending = endingOfStatusEvent(event);
    if (ending) changed = await endExecution(em, ending);
  }
  await em.execute(
    // Only a newer event moves the status: every control-plane replica applies every event, and a
    // slow replica's late RUNNING must not overwrite the IDLE that followed it.
    `update neuroflow_ai_agents set status = ?, last_active_at = ?, updated_at = now()
      where id = ? and organization_id = ? and (last_active_at is null or last_active_at <= ?)`,
    [event.status, event.at, event.agentId, event.orgId, event.at],
    "run",
  );
  return changed;
}

/**
 * Cancels an execution that is still PENDING and that no worker holds (its task never reached
 * one, or the worker holding it is gone): CANCELLED with `error`, counted like any other ending.
 * Conditional, so it loses cleanly to a status event that moved the row first. Returns whether
 * the row changed; SQL errors propagate. Runs in the caller's unit of work for `orgId`.
 */
export async function cancelPendingExecution(
  em: EntityManager,
  target: { orgId: string; agentId: string; executionId: string },
  error: WireError,
  at: Date,
): Promise<boolean> {
  const pending = await em.execute<Array<{ id: string }>>(
    `select id from neuroflow_agent_executions
      where id = ? and organization_id = ? and agent_id = ? and status = 'PENDING' for update`,
    [target.executionId, target.orgId, target.agentId],
  );
  if (pending.length === 0) return false;
  return endExecution(em, {
    ...target,
    status: "CANCELLED",
    startedAt: null,
    completedAt: at.toISOString(),
    durationMs: null,
    workerId: null,
    error,
  });
}
