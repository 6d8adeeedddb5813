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

interface Ending {
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
 * Moves one execution from PENDING/RUNNING to a terminal status and, when it moved, folds it into
 * the agent's metrics: every ending counts toward `total_executions`, only COMPLETED toward the
 * success rate. Conditional on the row not being terminal yet, so a repeated or late ending
 * changes nothing. Returns whether the row changed; SQL errors propagate.
 */
async function endExecution(em: EntityManager, ending: Ending): Promise<boolean> {
  const progress = ending.progress;
  const usage = progress?.usage ?? { promptTokens: 0, completionTokens: 0 };
  const result = await em.execute<QueryResult>(
    `update neuroflow_agent_executions
        set status = ?, started_at = coalesce(started_at, ?), completed_at = ?, duration = ?,
            output = ?, error = ?, prompt_tokens = ?, completion_tokens = ?, tokens_used = ?, cost = ?,
            provider = coalesce(?, provider), model = coalesce(?, model), worker_id = coalesce(?, worker_id), updated_at = now()
      where id = ? and organization_id = ? and agent_id = ? and status in ('PENDING', 'RUNNING')`,
    [
      ending.status,
      ending.startedAt,
      ending.completedAt,
      ending.durationMs,
      progress?.output === undefined ? null : JSON.stringify({ text: progress.output }),
      ending.error ? JSON.stringify(ending.error) : null,
      usage.promptTokens,
      usage.completionTokens,
      usage.promptTokens + usage.completionTokens,
      (progress?.costMicroUsd ?? 0) / 1_000_000,
      progress?.provider ?? null,
      progress?.model ?? null,
      ending.workerId,
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
  } else if (execution && isTerminal(execution.status)) {
    // A task cancelled in the mailbox never started: its event's start is only the cancel time.
    const neverStarted = execution.status === "CANCELLED" && execution.attempt === undefined;
    changed = await endExecution(em, {
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
    });
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
