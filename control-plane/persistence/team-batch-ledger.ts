import type { EntityManager } from "@mikro-orm/postgresql";
import type { TeamExecEvent } from "../../runtime/protocol/index.js";
import { endingRecord, teamEndingOf, type TeamEnding } from "./team-ledger.js";

/** What one team event did to its TeamExecution row. */
export interface TeamEventOutcome {
  /** Its entry was appended to the log (false: already stored, or past a gap). */
  appended: boolean;
  /** It was the log's final entry and it ended the row (false: the row had ended already). */
  ended: boolean;
}

/**
 * The team ledger for a run of log entries (team-ledger.ts, one entry at a time): in one
 * statement per kind of write, whatever the number of entries.
 *
 * - The rows concerned are locked first, in id order, so the lengths read are the ones appended
 *   to (the run's reply may append at the same time, completeTeamRecord) and two control-plane
 *   replicas applying overlapping batches queue up instead of deadlocking.
 * - Per execution the entries are taken in `seq` order: each is appended when it is the next one
 *   (the log holds `seq - 1` entries), exactly appendTeamLogEntry's rule; a repeat changes nothing,
 *   and so does everything past a gap (the reply fills it in). One UPDATE appends every
 *   execution's new entries. (appendTeamLogEntry applied one by one in arrival order would drop
 *   an entry that arrived before its predecessor in the same batch; in seq order it is kept.)
 * - Final entries (team.completed / team.failed / team.cancelled) end their row as
 *   endTeamExecution would, taken by team then arrival, all in one statement
 *   ({@link endTeamExecutions}); team rows are locked in id order.
 *
 * Returns one outcome per event. Run it inside one unit of work for `orgId` (Database.asSystem);
 * every event must be of that org. SQL errors propagate and the whole batch rolls back.
 */
export async function applyTeamEvents(em: EntityManager, orgId: string, events: readonly TeamExecEvent[]): Promise<TeamEventOutcome[]> {
  for (const event of events) if (event.orgId !== orgId) throw new Error(`team event of org ${event.orgId} in a batch of org ${orgId}`);
  const outcomes: TeamEventOutcome[] = events.map(() => ({ appended: false, ended: false }));
  const executionIds = [...new Set(events.map((event) => event.executionId))].sort();
  const rows = await em.execute<Array<{ id: string; team_id: string; length: number }>>(
    `select id, team_id, jsonb_array_length(log) as length from neuroflow_team_executions
      where organization_id = ? and id = any(?::uuid[]) order by id for update`,
    // A uuid array literal (every id went through the protocol's uuid schema): an index condition.
    [orgId, `{${executionIds.join(",")}}`],
  );

  const byRow = new Map<string, number[]>();
  events.forEach((event, index) => {
    const key = `${event.executionId}/${event.teamId}`;
    const indexes = byRow.get(key);
    if (indexes) indexes.push(index);
    else byRow.set(key, [index]);
  });
  const appends: Array<{ id: string; team_id: string; entries: unknown[] }> = [];
  for (const row of rows) {
    // A row takes its own execution's entries only when they name its team too (as appendTeamLogEntry's WHERE).
    const mine = (byRow.get(`${row.id}/${row.team_id}`) ?? []).sort((a, b) => events[a]!.seq - events[b]!.seq || a - b);
    let next = row.length + 1;
    const entries: unknown[] = [];
    for (const index of mine) {
      const event = events[index]!;
      if (event.seq !== next) continue;
      entries.push({ seq: event.seq, at: event.at, event: event.event });
      outcomes[index]!.appended = true;
      next += 1;
    }
    if (entries.length > 0) appends.push({ id: row.id, team_id: row.team_id, entries });
  }
  if (appends.length > 0) {
    await em.execute(
      `update neuroflow_team_executions t
          set log = t.log || v.entries, updated_at = now()
         from jsonb_to_recordset(?::jsonb) as v(id uuid, team_id uuid, entries jsonb)
        where t.id = any(?::uuid[]) and t.id = v.id and t.team_id = v.team_id and t.organization_id = ?`,
      [JSON.stringify(appends), `{${appends.map((append) => append.id).join(",")}}`, orgId],
    );
  }

  const endings = events
    .map((event, index) => ({ ending: teamEndingOf(event), index }))
    .filter((item): item is { ending: NonNullable<typeof item.ending>; index: number } => item.ending !== undefined)
    .sort((a, b) => (a.ending.teamId < b.ending.teamId ? -1 : a.ending.teamId > b.ending.teamId ? 1 : a.index - b.index));
  const ended = await endTeamExecutions(em, orgId, endings.map(({ ending }) => ending));
  endings.forEach(({ index }, i) => (outcomes[index]!.ended = ended[i]!));
  return outcomes;
}

/**
 * endTeamExecution (team-ledger.ts) for the endings of one batch, applied in the given order, in
 * one statement whatever their number: a row is ended by the first ending that names its
 * execution and team while it is PENDING or RUNNING (a later one finds it ended, as it would
 * applied one at a time), and each team's totals fold every run of it the statement ended — per
 * team, `runs` more executions of which `successes` COMPLETED, the same mean as folding them one
 * at a time up to float rounding. Team rows are locked in id order, after the executions (which
 * applyTeamEvents has locked already). Returns, per ending, whether it ended its row.
 */
export async function endTeamExecutions(em: EntityManager, orgId: string, endings: readonly TeamEnding[]): Promise<boolean[]> {
  const ended = endings.map(() => false);
  // The first ending per (execution, team): the only one that can change its row.
  const first = new Map<string, number>();
  endings.forEach((ending, i) => {
    const key = `${ending.executionId.toLowerCase()}/${ending.teamId.toLowerCase()}`;
    if (!first.has(key)) first.set(key, i);
  });
  if (first.size === 0) return ended;
  const records = [...first.values()].map((i) => ({ id: endings[i]!.executionId, team_id: endings[i]!.teamId, ...endingRecord(endings[i]!) }));
  const rows = await em.execute<Array<{ id: string; team_id: string }>>(
    `with v as (
       select * from jsonb_to_recordset(?::jsonb) as v(id uuid, team_id uuid, status text, output jsonb, error jsonb, participation jsonb,
              tokens int, cost float8, completed_at timestamptz, duration int)
     ),
     ended as (
       update neuroflow_team_executions e
          set status = v.status, output = v.output, error = v.error, agent_participation = v.participation,
              tokens_used = v.tokens, cost = v.cost, completed_at = v.completed_at,
              duration = coalesce(v.duration, greatest(0, round(extract(epoch from (v.completed_at - coalesce(e.started_at, e.created_at))) * 1000))::int),
              updated_at = now()
         from v
        where e.id = any(?::uuid[]) and e.id = v.id and e.team_id = v.team_id and e.organization_id = ? and e.status in ('PENDING', 'RUNNING')
        returning e.id, e.team_id, e.status
     ),
     folds as (
       select team_id as id, count(*)::int as runs, (count(*) filter (where status = 'COMPLETED'))::int as successes from ended group by team_id
     ),
     locked as (
       select id from neuroflow_agent_teams where organization_id = ? and id in (select id from folds) order by id for update
     ),
     counted as (
       update neuroflow_agent_teams t
          set success_rate = (t.success_rate * t.total_executions + f.successes) / (t.total_executions + f.runs),
              total_executions = t.total_executions + f.runs,
              updated_at = now()
         from folds f
        where t.id in (select id from locked) and t.id = f.id and t.organization_id = ?
     )
     select id, team_id from ended`,
    [JSON.stringify(records), `{${records.map((record) => record.id).join(",")}}`, orgId, orgId, orgId],
  );
  for (const row of rows) {
    const i = first.get(`${row.id}/${row.team_id}`);
    if (i !== undefined) ended[i] = true;
  }
  return ended;
}
