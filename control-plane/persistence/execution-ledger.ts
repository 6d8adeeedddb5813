import type { QueryResult } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { AgentStatusChanged } from "../../runtime/protocol/index.js";

/**
 * Applies one `agent.status.changed` event to the database: the execution row moves forward
 * (PENDING → RUNNING → COMPLETED/FAILED, never backwards, so a duplicate or late event changes
 * nothing) and the agent's status and rolled-up metrics follow. Returns whether the execution row
 * changed. Run it inside one unit of work for the event's org (Database.asSystem).
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
  } else if (execution && (execution.status === "COMPLETED" || execution.status === "FAILED")) {
    const usage = execution.usage ?? { promptTokens: 0, completionTokens: 0 };
    const result = await em.execute<QueryResult>(
      `update neuroflow_agent_executions
          set status = ?, started_at = coalesce(started_at, ?), completed_at = ?, duration = ?,
              output = ?, error = ?, prompt_tokens = ?, completion_tokens = ?, tokens_used = ?, cost = ?,
              provider = coalesce(?, provider), model = coalesce(?, model), worker_id = ?, updated_at = now()
        where id = ? and organization_id = ? and agent_id = ? and status in ('PENDING', 'RUNNING')`,
      [
        execution.status,
        execution.startedAt,
        execution.completedAt ?? event.at,
        execution.durationMs ?? null,
        execution.output === undefined ? null : JSON.stringify({ text: execution.output }),
        execution.error ? JSON.stringify(execution.error) : null,
        usage.promptTokens,
        usage.completionTokens,
        usage.promptTokens + usage.completionTokens,
        (execution.costMicroUsd ?? 0) / 1_000_000,
        execution.provider ?? null,
        execution.model ?? null,
        event.workerId,
        execution.executionId,
        event.orgId,
        event.agentId,
      ],
      "run",
    );
    changed = result.affectedRows === 1;
    if (changed) {
      const success = execution.status === "COMPLETED" ? 1 : 0;
      await em.execute(
        `update neuroflow_ai_agents
            set success_rate = (success_rate * total_executions + ?) / (total_executions + 1),
                avg_response_time = (avg_response_time * total_executions + ?) / (total_executions + 1),
                total_executions = total_executions + 1,
                updated_at = now()
          where id = ? and organization_id = ?`,
        [success, execution.durationMs ?? 0, event.agentId, event.orgId],
        "run",
      );
    }
  }
  await em.execute(
    `update neuroflow_ai_agents set status = ?, last_active_at = ?, updated_at = now()
      where id = ? and organization_id = ?`,
    [event.status, event.at, event.agentId, event.orgId],
    "run",
  );
  return changed;
}
