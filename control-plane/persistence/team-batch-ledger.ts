import type { EntityManager } from "@mikro-orm/postgresql";
import type { TeamExecEvent } from "../../runtime/protocol/index.js";
import { endTeamExecution, teamEndingOf } from "./team-ledger.js";

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
 * - Final entries (team.completed / team.failed / team.cancelled) end their row with
 *   endTeamExecution, by team then arrival, so team rows are locked in one order too.
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
  for (const { ending, index } of endings) outcomes[index]!.ended = await endTeamExecution(em, ending);
  return outcomes;
}
