import type { QueryResult } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { TeamExecution, type ITeamExecution } from "../../entities/index.js";
import type {
  TeamExecEvent,
  TeamLogEntry,
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
 * execution's org (Database.asSystem, or the caller's OrgScope); SQL errors propagate.
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
function endingValues(ending: TeamEnding): unknown[] {
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

/** The log entries of `new_log` (jsonb) past what `log` holds, in seq order, appended to it: completeTeamRecord's rule. */
const appendMissingEntries = `log || coalesce(
  (select jsonb_agg(entry order by (entry->>'seq')::int) from jsonb_array_elements(new_log) as entry
    where (entry->>'seq')::int > jsonb_array_length(log)),
  '[]'::jsonb)`;

/**
 * What a run's reply does to its row: endTeamExecution with the reply's ending
 * (teamEndingOfOutput), then completeTeamRecord with its results and log — in one statement
 * rather than three, since every run ends with a reply. Same effect, row for row:
 *
 * - `ended` is endTeamExecution's UPDATE, also setting what completeTeamRecord would then set on
 *   the row it just ended (its results and log, as they were: ending does not touch them);
 * - `counted` folds the run into the team's totals only when `ended` changed the row;
 * - `completed` is completeTeamRecord's UPDATE, only when `ended` did not change the row. Its
 *   condition is completeTeamRecord's, and is rechecked on the newest row version after a wait
 *   for its lock: a row a competing writer is ending with the reply's status (the log's final
 *   entry) is completed once that writer commits, as the separate statement would find it.
 *
 * `counted` and `completed` test `ended` with an uncorrelated EXISTS, which Postgres evaluates
 * once, before their scan (a one-time filter): `ended` has run by then, so rows are still locked
 * execution first, then team, and no statement part updates the row `ended` did. Returns whether
 * the reply ended the row. The TeamRunner records replies in batches with recordTeamReplies
 * (team-reply-batch.ts), which has this effect row for row; this is its one-reply fallback.
 */
export async function recordTeamReply(em: EntityManager, run: { orgId: string; teamId: string; executionId: string }, output: TeamRunOutputWire): Promise<boolean> {
  const ending = teamEndingOfOutput(run, output);
  const row = [run.executionId, run.orgId, run.teamId];
  const [result] = await em.execute<Array<{ ended: boolean }>>(
    `with reply as (
       select ?::text as new_status, ?::jsonb as new_output, ?::jsonb as new_error, ?::jsonb as new_participation,
              ?::int as new_tokens, ?::float8 as new_cost, ?::timestamptz as new_completed_at, ?::int as new_duration,
              ?::jsonb as new_results, ?::jsonb as new_log
     ),
     ended as (
       update neuroflow_team_executions
          set status = new_status, output = new_output, error = new_error, agent_participation = new_participation,
              tokens_used = new_tokens, cost = new_cost, completed_at = new_completed_at,
              duration = coalesce(new_duration, greatest(0, round(extract(epoch from (new_completed_at - coalesce(started_at, created_at))) * 1000))::int),
              results = case when jsonb_array_length(results) = 0 then new_results else results end,
              log = ${appendMissingEntries},
              updated_at = now()
         from reply
        where id = ? and organization_id = ? and team_id = ? and status in ('PENDING', 'RUNNING')
        returning 1
     ),
     counted as (
       update neuroflow_agent_teams
          set success_rate = (success_rate * total_executions + ?) / (total_executions + 1),
              total_executions = total_executions + 1,
              updated_at = now()
        where id = ? and organization_id = ? and exists (select 1 from ended)
     ),
     completed as (
       update neuroflow_team_executions
          set results = case when jsonb_array_length(results) = 0 then new_results else results end,
              log = ${appendMissingEntries},
              updated_at = now()
         from reply
        where id = ? and organization_id = ? and team_id = ? and status in ('PENDING', 'RUNNING', new_status)
          and not exists (select 1 from ended)
     )
     select exists (select 1 from ended) as ended`,
    [
      ...endingValues(ending),
      JSON.stringify(output.results),
      JSON.stringify(output.log),
      ...row,
      ending.status === "COMPLETED" ? 1 : 0,
      run.teamId,
      run.orgId,
      ...row,
    ],
  );
  return result?.ended === true;
}
