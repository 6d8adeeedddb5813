import type { QueryResult } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { TeamLogEntry, TeamRunOutputWire } from "../../runtime/protocol/index.js";
import type { TerminalStatus } from "./execution-ledger.js";
import { endingRecord, endingValues, teamEndingOfOutput } from "./team-ledger.js";

/**
 * The team ledger's replies (see team-ledger.ts): what a run's reply writes to its row — one reply
 * ({@link recordTeamReply}, with {@link completeTeamRecord} its second half) or a batch of them
 * ({@link recordTeamReplies}, the TeamRunner's way).
 */

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
 * (below), which has this effect row for row; this is its one-reply fallback.
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

/** A run's successful reply, as the TeamRunner received it. */
export interface TeamReply {
  orgId: string;
  teamId: string;
  executionId: string;
  output: TeamRunOutputWire;
}

/** What one reply did to its TeamExecution row. */
export interface TeamReplyOutcome {
  /** The reply ended the row (false: it had ended already, or there is no such row). */
  ended: boolean;
}

/** A locked row as the batch needs it. */
interface LockedRow {
  id: string;
  team_id: string;
  status: string;
  results_empty: boolean;
  log_length: number;
}

/** What the batch writes to one row: the ending (at most one reply's), the results to set, the entries to append. */
interface RowWrite extends Partial<ReturnType<typeof endingRecord>> {
  id: string;
  team_id: string;
  ends: boolean;
  results?: unknown[];
  entries: unknown[];
}

const OPEN = new Set(["PENDING", "RUNNING"]);

/**
 * recordTeamReply for a run of replies of one org, in two statements whatever
 * their number, with the same effect row for row as applying them one at a time in order:
 *
 * - The rows concerned are locked first, in id order (as applyTeamEvents does), and read: status,
 *   whether `results` is empty, how many log entries are stored. Locked, they cannot change until
 *   commit, so what each reply does is decided here from those values, in batch order: a reply
 *   whose team is the row's ends a PENDING/RUNNING row (`ended`), and completes one already ended
 *   with its status (`completed`); a later reply of the same execution sees the row as the earlier
 *   one left it. A row a competing writer is ending (the log's final entry) is read once that
 *   writer commits, as recordTeamReply's recheck finds it.
 * - One UPDATE (jsonb_to_recordset of one record per row) writes the ending columns of the reply
 *   that ended the row (the duration measured from the row's start when the reply has none), the
 *   `results` of the first reply that found them empty, and the log entries each reply had past
 *   the stored ones, in seq order, one reply after the other.
 * - In the same statement the team totals fold every row the batch ended: per team, `runs` more
 *   executions of which `successes` COMPLETED, `success_rate` as the mean over all of them (equal
 *   to folding them one at a time up to float rounding). Team rows are locked in id order before
 *   they are written, after the executions, so the batch queues up behind applyTeamEvents, the
 *   single-reply path and another control-plane replica instead of deadlocking with them.
 *
 * Returns one outcome per reply. Run it inside one unit of work for `orgId` (Database.asSystem);
 * every reply must be of that org (throws otherwise). SQL errors propagate and the whole batch
 * rolls back.
 */
export async function recordTeamReplies(em: EntityManager, orgId: string, replies: readonly TeamReply[]): Promise<TeamReplyOutcome[]> {
  for (const reply of replies) if (reply.orgId !== orgId) throw new Error(`team reply of org ${reply.orgId} in a batch of org ${orgId}`);
  const outcomes: TeamReplyOutcome[] = replies.map(() => ({ ended: false }));
  if (replies.length === 0) return outcomes;
  const executionIds = [...new Set(replies.map((reply) => reply.executionId.toLowerCase()))].sort();
  const rows = await em.execute<LockedRow[]>(
    `select id, team_id, status, jsonb_array_length(results) = 0 as results_empty, jsonb_array_length(log) as log_length
       from neuroflow_team_executions
      where organization_id = ? and id = any(?::uuid[]) order by id for update`,
    // A uuid array literal (every id went through the protocol's uuid schema): an index condition.
    [orgId, `{${executionIds.join(",")}}`],
  );

  const byExecution = new Map<string, number[]>();
  replies.forEach((reply, index) => {
    const key = reply.executionId.toLowerCase();
    const indexes = byExecution.get(key);
    if (indexes) indexes.push(index);
    else byExecution.set(key, [index]);
  });
  const writes: RowWrite[] = [];
  const folds = new Map<string, { id: string; runs: number; successes: number }>();
  for (const row of rows) {
    let status = row.status;
    let resultsEmpty = row.results_empty;
    let length = Number(row.log_length);
    const write: RowWrite = { id: row.id, team_id: row.team_id, ends: false, entries: [] };
    let touched = false;
    for (const index of byExecution.get(row.id) ?? []) {
      const reply = replies[index]!;
      // As recordTeamReply's WHERE: the row must be the reply's team's too.
      if (reply.teamId.toLowerCase() !== row.team_id) continue;
      const { output } = reply;
      if (OPEN.has(status)) {
        const ending = teamEndingOfOutput(reply, output);
        Object.assign(write, { ends: true, ...endingRecord(ending) });
        status = ending.status;
        outcomes[index]!.ended = true;
        const fold = folds.get(row.team_id) ?? { id: row.team_id, runs: 0, successes: 0 };
        fold.runs += 1;
        if (ending.status === "COMPLETED") fold.successes += 1;
        folds.set(row.team_id, fold);
      } else if (status !== output.status) {
        continue;
      }
      // completeTeamRecord's part: results while still empty, then the entries past the stored ones.
      if (resultsEmpty && output.results.length > 0) {
        write.results = output.results;
        resultsEmpty = false;
      }
      const missing = output.log.filter((entry) => entry.seq > length).sort((a, b) => a.seq - b.seq);
      write.entries.push(...missing);
      length += missing.length;
      touched = true;
    }
    if (touched) writes.push(write);
  }
  if (writes.length === 0) return outcomes;

  const teams = [...folds.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // Keys left out (undefined) read as NULL: `results` NULL keeps the row's, `duration` NULL is measured.
  await em.execute(
    `with replied as (
       update neuroflow_team_executions e
          set status = case when v.ends then v.status else e.status end,
              output = case when v.ends then v.output else e.output end,
              error = case when v.ends then v.error else e.error end,
              agent_participation = case when v.ends then v.participation else e.agent_participation end,
              tokens_used = case when v.ends then v.tokens else e.tokens_used end,
              cost = case when v.ends then v.cost else e.cost end,
              completed_at = case when v.ends then v.completed_at else e.completed_at end,
              duration = case when v.ends
                then coalesce(v.duration, greatest(0, round(extract(epoch from (v.completed_at - coalesce(e.started_at, e.created_at))) * 1000))::int)
                else e.duration end,
              results = coalesce(v.results, e.results),
              log = e.log || v.entries,
              updated_at = now()
         from jsonb_to_recordset(?::jsonb) as v(id uuid, team_id uuid, ends boolean, status text, output jsonb, error jsonb,
              participation jsonb, tokens int, cost float8, completed_at timestamptz, duration int, results jsonb, entries jsonb)
        where e.id = any(?::uuid[]) and e.id = v.id and e.team_id = v.team_id and e.organization_id = ?
     ),
     locked as (
       select id from neuroflow_agent_teams where organization_id = ? and id = any(?::uuid[]) order by id for update
     )
     update neuroflow_agent_teams t
        set success_rate = (t.success_rate * t.total_executions + f.successes) / (t.total_executions + f.runs),
            total_executions = t.total_executions + f.runs,
            updated_at = now()
       from jsonb_to_recordset(?::jsonb) as f(id uuid, runs int, successes int)
      where t.id in (select id from locked) and t.id = f.id and t.organization_id = ?`,
    [
      JSON.stringify(writes),
      `{${writes.map((write) => write.id).join(",")}}`,
      orgId,
      orgId,
      `{${teams.map((team) => team.id).join(",")}}`,
      JSON.stringify(teams),
      orgId,
    ],
  );
  return outcomes;
}
