import type { QueryResult } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { TeamExecution, type ITeamExecution } from "../../entities/index.js";
import type {
  TeamExecEvent,
  TeamParticipation,
  TeamRunOutputWire,
  TeamStructure,
  TokenUsage,
  WireError,
} from "../../runtime/protocol/index.js";
import type { TerminalStatus } from "./execution-ledger.js";

/**
 * The team execution ledger: a TeamExecution row starts RUNNING, its log grows entry by entry as
 * the worker publishes them, and the row ends exactly once — from the run's reply or from the
 * log's final entry, whichever is applied first. Every later write is conditional, so a repeated,
 * late or competing write changes nothing. Run each function inside one unit of work for the
 * execution's org (Database.asSystem, or the caller's OrgScope); SQL errors propagate. What a
 * run's reply writes is in team-replies.ts, batches of log entries in team-batch-ledger.ts.
 */

/** A team execution as it starts: what the row records besides its empty log, results and totals. */
export interface TeamStart {
  orgId: string;
  teamId: string;
  executionId: string;
  structure: TeamStructure;
  coordination: Record<string, unknown>;
  input: Record<string, unknown>;
  startedAt: Date;
}

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
 * Records a team execution RUNNING: structure, coordination and input as given, no output or
 * error, empty participation, results and log, no tokens or cost, started (and created) at
 * `startedAt`. One INSERT, so a run starts without the ORM's unit of work; the returned entity
 * holds the row's values without reading it back, and is not managed: changing it writes nothing.
 * A duplicate id or a row outside the transaction's org (row-level security) makes the INSERT fail.
 */
export async function startTeamExecution(em: EntityManager, start: TeamStart): Promise<ITeamExecution> {
  await em.execute(
    `insert into neuroflow_team_executions
       (id, organization_id, team_id, structure, coordination, status, input, output, error, agent_participation, results, log,
        tokens_used, cost, started_at, completed_at, duration, created_at, updated_at)
     values (?, ?, ?, ?, ?::jsonb, 'RUNNING', ?::jsonb, null, null, '[]', '[]', '[]', 0, 0, ?, null, null, ?, ?)`,
    [
      start.executionId,
      start.orgId,
      start.teamId,
      start.structure,
      JSON.stringify(start.coordination),
      JSON.stringify(start.input),
      start.startedAt,
      start.startedAt,
      start.startedAt,
    ],
    "run",
  );
  return em.create(
    TeamExecution,
    {
      id: start.executionId,
      organization: start.orgId,
      team: start.teamId,
      structure: start.structure,
      coordination: start.coordination,
      status: "RUNNING",
      input: start.input,
      output: null,
      error: null,
      agentParticipation: [],
      results: [],
      log: [],
      tokensUsed: 0,
      cost: 0,
      startedAt: start.startedAt,
      completedAt: null,
      duration: null,
      createdAt: start.startedAt,
      updatedAt: start.startedAt,
    },
    // Already stored: left out of the unit of work, which would otherwise write it again at commit
    // (even as `managed`, it takes the JSON columns for changed and issues an UPDATE).
    { persist: false },
  );
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

/**
 * The ending of a run that ends with `error` and nothing to account (it never ran, or nobody knows
 * how it went): no participation, tokens or cost; the duration is measured from the row's start.
 */
export function teamEndingOfError(
  run: { orgId: string; teamId: string; executionId: string },
  status: Extract<TerminalStatus, "FAILED" | "CANCELLED">,
  error: WireError,
): TeamEnding {
  return {
    ...run,
    status,
    error,
    participation: [],
    usage: { promptTokens: 0, completionTokens: 0 },
    costMicroUsd: 0,
    completedAt: new Date().toISOString(),
    durationMs: null,
  };
}

/**
 * An ending's column values, as one record of `jsonb_to_recordset` in the batch ledgers:
 * status, output (`{ answer }` or null), error, participation, tokens (prompt + completion), cost
 * (USD), completion time, duration (null: measured from the row's start).
 */
export function endingRecord(ending: TeamEnding) {
  return {
    status: ending.status,
    output: ending.answer === undefined ? null : { answer: ending.answer },
    error: ending.error ?? null,
    participation: ending.participation,
    tokens: ending.usage.promptTokens + ending.usage.completionTokens,
    cost: ending.costMicroUsd / 1_000_000,
    completed_at: ending.completedAt,
    duration: ending.durationMs,
  };
}

/**
 * The values an ending writes, in the order both ending statements take them: status, output,
 * error, participation, tokens, cost (USD), completion time, duration.
 */
export function endingValues(ending: TeamEnding): unknown[] {
  const record = endingRecord(ending);
  return [
    record.status,
    record.output === null ? null : JSON.stringify(record.output),
    record.error === null ? null : JSON.stringify(record.error),
    JSON.stringify(record.participation),
    record.tokens,
    record.cost,
    record.completed_at,
    record.duration,
  ];
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
      ...endingValues(ending),
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
