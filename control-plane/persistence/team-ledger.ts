import type { QueryResult } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import type {
  TeamExecEvent,
  TeamLogEntry,
  TeamParticipation,
  TeamRunOutputWire,
  TokenUsage,
  WireError,
} from "../../runtime/protocol/index.js";
import type { TerminalStatus } from "./execution-ledger.js";

/**
 * The team execution ledger: a TeamExecution row's log grows entry by entry as the worker
 * publishes them, and the row ends exactly once — from the run's reply or from the log's final
 * entry, whichever is applied first. Every write is conditional, so a repeated, late or competing
 * write changes nothing. Run each function inside one unit of work for the execution's org
 * (Database.asSystem); SQL errors propagate.
 */

/** How one team execution ended. */
export interface TeamEnding {
  orgId: string;
  teamId: string;
  executionId: string;
  status: TerminalStatus;
  answer?: string;
  error?: WireError;
  participation: TeamParticipation[];
  usage: TokenUsage;
  costMicroUsd: number;
  completedAt: string;
  /** Null: measured from the row's `started_at` to `completedAt`. */
  durationMs: number | null;
}

/**
 * Appends one published log entry, stored as `{ seq, at, event }`, if it is the next one: the log
 * holds `seq - 1` entries. A seq already stored (a repeat) changes nothing; so does one past a gap,
 * which the run's reply fills in later (completeTeamRecord). Returns whether it was appended.
 */
export async function appendTeamLogEntry(em: EntityManager, event: TeamExecEvent): Promise<boolean> {
  const entry = { seq: event.seq, at: event.at, event: event.event };
  const result = await em.execute<QueryResult>(
    `update neuroflow_team_executions
        set log = log || jsonb_build_array(?::jsonb), updated_at = now()
      where id = ? and organization_id = ? and team_id = ? and jsonb_array_length(log) = ?`,
    [JSON.stringify(entry), event.executionId, event.orgId, event.teamId, event.seq - 1],
    "run",
  );
  return result.affectedRows === 1;
}

/** The ending a log's final entry (team.completed / team.failed / team.cancelled) stands for; undefined for any other entry. */
export function teamEndingOf(event: TeamExecEvent): TeamEnding | undefined {
  const step = event.event;
  const base = {
    orgId: event.orgId,
    teamId: event.teamId,
    executionId: event.executionId,
    completedAt: event.at,
    durationMs: null,
  };
  switch (step.type) {
    case "team.completed":
      return { ...base, status: "COMPLETED", answer: step.answer, participation: step.participation, usage: step.usage, costMicroUsd: step.costMicroUsd };
    case "team.failed":
      return { ...base, status: "FAILED", error: step.error, participation: step.participation, usage: step.usage, costMicroUsd: step.costMicroUsd };
    case "team.cancelled":
      return { ...base, status: "CANCELLED", error: step.error, participation: step.participation, usage: step.usage, costMicroUsd: step.costMicroUsd };
    default:
      return undefined;
  }
}

/** The ending a run's reply carries. */
export function teamEndingOfOutput(run: { orgId: string; teamId: string; executionId: string }, output: TeamRunOutputWire): TeamEnding {
  return {
    ...run,
    status: output.status,
    ...(output.answer !== undefined ? { answer: output.answer } : {}),
    ...(output.error ? { error: output.error } : {}),
    participation: output.participation,
    usage: output.usage,
    costMicroUsd: output.costMicroUsd,
    completedAt: output.completedAt,
    durationMs: output.durationMs,
  };
}

/**
 * Moves a PENDING/RUNNING team execution to its terminal status with its answer (`output:
 * { answer }`), error, participation, tokens (prompt + completion), cost (USD, like agent
 * executions: micro-USD / 1e6), completion time and duration, and folds it into the team's
 * `total_executions` / `success_rate` (only COMPLETED counts as a success). Conditional on the
 * row not being terminal yet. Returns whether the row changed.
 */
export async function endTeamExecution(em: EntityManager, ending: TeamEnding): Promise<boolean> {
  const result = await em.execute<QueryResult>(
    `update neuroflow_team_executions
        set status = ?, output = ?::jsonb, error = ?::jsonb, agent_participation = ?::jsonb,
            tokens_used = ?, cost = ?, completed_at = ?,
            duration = coalesce(?::int, greatest(0, round(extract(epoch from (?::timestamptz - coalesce(started_at, created_at))) * 1000))::int),
            updated_at = now()
      where id = ? and organization_id = ? and team_id = ? and status in ('PENDING', 'RUNNING')`,
    [
      ending.status,
      ending.answer === undefined ? null : JSON.stringify({ answer: ending.answer }),
      ending.error ? JSON.stringify(ending.error) : null,
      JSON.stringify(ending.participation),
      ending.usage.promptTokens + ending.usage.completionTokens,
      ending.costMicroUsd / 1_000_000,
      ending.completedAt,
      ending.durationMs,
      ending.completedAt,
      ending.executionId,
      ending.orgId,
      ending.teamId,
    ],
    "run",
  );
  const changed = result.affectedRows === 1;
  if (changed) {
    await em.execute(
      `update neuroflow_agent_teams
          set success_rate = (success_rate * total_executions + ?) / (total_executions + 1),
              total_executions = total_executions + 1,
              updated_at = now()
        where id = ? and organization_id = ?`,
      [ending.status === "COMPLETED" ? 1 : 0, ending.teamId, ending.orgId],
      "run",
    );
  }
  return changed;
}

/**
 * What only the run's reply has: the structure's `results` (set once, while still empty), and the
 * log entries not stored yet — lost on the bus or still on their way — appended after the stored
 * ones exactly as their events would have stored them (`at` included), so a terminal row always
 * holds its whole log and a late event finds its seq taken. Applies only while the
 * row's status is the reply's or still open, so a reply that lost the race to a local cancel does
 * not rewrite that record. Idempotent. Returns whether the row was in such a status.
 */
export async function completeTeamRecord(
  em: EntityManager,
  run: { orgId: string; teamId: string; executionId: string },
  output: { status: TerminalStatus; results: unknown[]; log: (TeamLogEntry & { at?: string | undefined })[] },
): Promise<boolean> {
  const result = await em.execute<QueryResult>(
    `update neuroflow_team_executions
        set results = case when jsonb_array_length(results) = 0 then ?::jsonb else results end,
            log = log || coalesce(
              (select jsonb_agg(entry order by (entry->>'seq')::int) from jsonb_array_elements(?::jsonb) as entry
                where (entry->>'seq')::int > jsonb_array_length(log)),
              '[]'::jsonb),
            updated_at = now()
      where id = ? and organization_id = ? and team_id = ? and status in ('PENDING', 'RUNNING', ?)`,
    [JSON.stringify(output.results), JSON.stringify(output.log), run.executionId, run.orgId, run.teamId, output.status],
    "run",
  );
  return result.affectedRows === 1;
}
