import type { EntityManager } from "@mikro-orm/postgresql";
import type { AgentStatusChanged } from "../../runtime/protocol/index.js";
import { endingColumns, endingOfStatusEvent, foldAgentMetrics, type ExecutionEnding } from "./execution-ledger.js";

/**
 * The status ledger for a run of events: what applyStatusEvent (execution-ledger.ts) does to the
 * database for each event of `events`, one after another in that order, in five statements
 * whatever the number of events. The result is the same row for row, down to the bits of the
 * agents' float metrics:
 *
 * - the rows about to change are locked first, executions then agents, each in id order — the
 *   order every other ledger writer takes them in (cancelPendingExecution: execution, then
 *   agent), so two control-plane replicas applying overlapping batches wait for each other
 *   instead of deadlocking;
 * - per execution only two events can change its row: the first RUNNING (PENDING → RUNNING) and
 *   the first terminal status after it; every later one of the batch would find the row already
 *   moved. They are applied in two multi-row UPDATEs carrying the same conditions as the
 *   single-event ones, so a row already moved by an earlier batch or by another writer stays;
 * - the endings that did move a row are folded into their agent's metrics in memory, in event
 *   order, from the values read under the lock (foldAgentMetrics does endExecution's float8
 *   arithmetic), and written with the agent's newest status in one UPDATE: the agent takes the
 *   status of its event with the latest `at` (the last of those on a tie), if not older than the
 *   stored one — what the single-event updates converge to.
 *
 * Returns, per event, whether it changed its execution row (what applyStatusEvent returns). Run it
 * inside one unit of work for `orgId` (Database.asSystem); every event must be of that org. SQL
 * errors propagate and the caller's transaction rolls back whole: a batch is applied entirely or
 * not at all.
 */
export async function applyStatusEvents(em: EntityManager, orgId: string, events: readonly AgentStatusChanged[]): Promise<boolean[]> {
  for (const event of events) if (event.orgId !== orgId) throw new Error(`status event of org ${event.orgId} in a batch of org ${orgId}`);
  const { starts, endings } = movingEvents(events);
  const changed = events.map(() => false);

  const executionIds = [...new Set([...starts, ...endings].map((index) => events[index]!.execution!.executionId))].sort();
  if (executionIds.length > 0) {
    await em.execute(
      `select id from neuroflow_agent_executions where organization_id = ? and id = any(?::uuid[]) order by id for update`,
      [orgId, uuidArray(executionIds)],
    );
  }
  const agentIds = [...new Set(events.map((event) => event.agentId))].sort();
  const agents = await em.execute<Array<{ id: string; total_executions: number; success_rate: number; avg_response_time: number }>>(
    `select id, total_executions, success_rate, avg_response_time from neuroflow_ai_agents
      where organization_id = ? and id = any(?::uuid[]) order by id for update`,
    [orgId, uuidArray(agentIds)],
  );

  if (starts.length > 0) {
    const rows = starts.map((index) => {
      const event = events[index]!;
      const execution = event.execution!;
      return {
        ord: index,
        id: execution.executionId,
        agent_id: event.agentId,
        started_at: execution.startedAt,
        provider: execution.provider ?? null,
        model: execution.model ?? null,
        worker_id: event.workerId,
      };
    });
    const started = await em.execute<Array<{ ord: number }>>(
      `update neuroflow_agent_executions e
          set status = 'RUNNING', started_at = v.started_at, provider = v.provider, model = v.model, worker_id = v.worker_id, updated_at = now()
         from jsonb_to_recordset(?::jsonb) as v(ord int, id uuid, agent_id uuid, started_at timestamptz, provider text, model text, worker_id text)
        where e.id = any(?::uuid[]) and e.id = v.id and e.organization_id = ? and e.agent_id = v.agent_id and e.status = 'PENDING'
        returning v.ord`,
      [JSON.stringify(rows), uuidArray(rows.map((row) => row.id)), orgId],
    );
    for (const row of started) changed[row.ord] = true;
  }

  const ended: ExecutionEnding[] = [];
  if (endings.length > 0) {
    const rows = endings.map((index) => ({ ord: index, id: events[index]!.execution!.executionId, agent_id: events[index]!.agentId, ...endingColumns(endingOf(events[index]!)) }));
    const moved = await em.execute<Array<{ ord: number }>>(
      `update neuroflow_agent_executions e
          set status = v.status, started_at = coalesce(e.started_at, v.started_at), completed_at = v.completed_at, duration = v.duration,
              output = v.output, error = v.error, prompt_tokens = v.prompt_tokens, completion_tokens = v.completion_tokens,
              tokens_used = v.tokens_used, cost = v.cost, provider = coalesce(v.provider, e.provider), model = coalesce(v.model, e.model),
              worker_id = coalesce(v.worker_id, e.worker_id), updated_at = now()
         from jsonb_to_recordset(?::jsonb) as v(ord int, id uuid, agent_id uuid, status text, started_at timestamptz, completed_at timestamptz,
              duration int, output jsonb, error jsonb, prompt_tokens int, completion_tokens int, tokens_used int, cost float8,
              provider text, model text, worker_id text)
        where e.id = any(?::uuid[]) and e.id = v.id and e.organization_id = ? and e.agent_id = v.agent_id and e.status in ('PENDING', 'RUNNING')
        returning v.ord`,
      [JSON.stringify(rows), uuidArray(rows.map((row) => row.id)), orgId],
    );
    for (const row of moved) changed[row.ord] = true;
    // In event order: the fold is order-sensitive in its last bits, like the single-event updates.
    for (const index of endings) if (changed[index]) ended.push(endingOf(events[index]!));
  }

  const metrics = new Map(agents.map((agent) => [agent.id, { totalExecutions: agent.total_executions, successRate: agent.success_rate, avgResponseTime: agent.avg_response_time }]));
  const folded = new Map<string, { totalExecutions: number; successRate: number; avgResponseTime: number }>();
  for (const ending of ended) {
    const current = folded.get(ending.agentId) ?? metrics.get(ending.agentId);
    if (current) folded.set(ending.agentId, foldAgentMetrics(current, ending));
  }
  await em.execute(
    // Only a newer event moves the status: every control-plane replica applies every event, and a
    // slow replica's late RUNNING must not overwrite the IDLE that followed it.
    `update neuroflow_ai_agents a
        set status = case when a.last_active_at is null or a.last_active_at <= l.at then l.status else a.status end,
            last_active_at = case when a.last_active_at is null or a.last_active_at <= l.at then l.at else a.last_active_at end,
            success_rate = coalesce(m.success_rate, a.success_rate),
            avg_response_time = coalesce(m.avg_response_time, a.avg_response_time),
            total_executions = coalesce(m.total_executions, a.total_executions),
            updated_at = case when a.last_active_at is null or a.last_active_at <= l.at or m.agent_id is not null then now() else a.updated_at end
       from (select distinct on (s.agent_id) s.agent_id, s.status, s.at
               from jsonb_to_recordset(?::jsonb) as s(ord int, agent_id uuid, status text, at timestamptz)
              order by s.agent_id, s.at desc, s.ord desc) l
       left join jsonb_to_recordset(?::jsonb) as m(agent_id uuid, success_rate float8, avg_response_time float8, total_executions int)
         on m.agent_id = l.agent_id
      where a.id = any(?::uuid[]) and a.id = l.agent_id and a.organization_id = ?`,
    [
      JSON.stringify(events.map((event, ord) => ({ ord, agent_id: event.agentId, status: event.status, at: event.at }))),
      JSON.stringify(
        [...folded].map(([agentId, m]) => ({
          agent_id: agentId,
          success_rate: m.successRate,
          avg_response_time: m.avgResponseTime,
          total_executions: m.totalExecutions,
        })),
      ),
      uuidArray(agentIds),
      orgId,
    ],
  );
  return changed;
}

/**
 * A Postgres array literal of uuids, for `= any(?::uuid[])`: an index condition, where a join to a
 * JSON record set alone leaves the planner guessing. Safe to build as text: every id went through
 * the protocol's uuid schema (a malformed one makes the cast fail, refusing the batch).
 */
function uuidArray(ids: readonly string[]): string {
  return `{${ids.join(",")}}`;
}

function endingOf(event: AgentStatusChanged): ExecutionEnding {
  const ending = endingOfStatusEvent(event);
  if (!ending) throw new Error("not an ending");
  return ending;
}

/**
 * The events that can move their execution row, by index: per (execution, agent) the first
 * RUNNING before any terminal status, and the first terminal status. Every other event of the
 * batch would find the row already past it (or not its row: a row matches id, org and agent).
 */
function movingEvents(events: readonly AgentStatusChanged[]): { starts: number[]; endings: number[] } {
  const started = new Set<string>();
  const ended = new Set<string>();
  const starts: number[] = [];
  const endings: number[] = [];
  events.forEach((event, index) => {
    const execution = event.execution;
    if (!execution) return;
    const key = `${execution.executionId}/${event.agentId}`;
    if (ended.has(key)) return;
    if (execution.status === "RUNNING") {
      if (!started.has(key)) starts.push(index);
      started.add(key);
    } else if (endingOfStatusEvent(event)) {
      endings.push(index);
      ended.add(key);
    }
  });
  return { starts, endings };
}
