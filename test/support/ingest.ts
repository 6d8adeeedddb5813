import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { Database } from "../../control-plane/persistence/database.js";
import { createOrganization, demoAgents } from "../../control-plane/persistence/seed.js";
import { subjects, toTeamExecEvents, type AgentStatus, type AgentStatusChanged, type ExecutionProgress, type TeamExecEvent, type TeamExecEvents } from "../../runtime/protocol/index.js";
import { createScratchDatabase } from "./scratch-database.js";
import { ensureNatsServer, startNats } from "./services.js";

/**
 * What the status and team-event ingest tests (and bench/control-plane/status-ingest.ts) share:
 * a private nats-server, so the subscribers under test are the only ones storing what is
 * published (every control plane of a test run subscribes to every org's events on the shared
 * bus); organizations with agents, PENDING executions, teams and team executions; seeded event
 * scripts written against indexes, so one script can be played into two organizations (one
 * through the batching subscriber, one one event at a time through the old path) and their rows
 * compared; and a read of an org's ledger rows by index.
 */

export interface IngestRig {
  readonly nc: NatsConnection;
  readonly db: Database;
  readonly natsUrl: string;
  /** The owner's URL of the rig's own database. */
  readonly databaseUrl: string;
  stop(): Promise<void>;
}

/**
 * A nats-server of its own (no auth, loopback, free port) and a database of its own on the given
 * Postgres server (created, migrated, dropped at stop): the PENDING rows these tests leave
 * unfinished on purpose must be out of reach of the sweepers of other test files' control planes.
 */
export async function startIngestRig(options: { databaseUrl: string; authSecret: string; logger: Logger }): Promise<IngestRig> {
  const dir = await mkdtemp(join(tmpdir(), "neuroflow-ingest-"));
  const nats = await startNats({ binary: ensureNatsServer(() => undefined), dataDir: join(dir, "nats") });
  const scratch = await createScratchDatabase(options.databaseUrl, "ingest");
  let nc: NatsConnection | undefined;
  let db: Database | undefined;
  try {
    nc = await connect({ servers: nats.url, name: "ingest-rig" });
    db = await Database.open({ databaseUrl: scratch.url, authSecret: options.authSecret }, options.logger);
    const opened = nc;
    const database = db;
    return {
      nc: opened,
      db: database,
      natsUrl: nats.url,
      databaseUrl: scratch.url,
      async stop() {
        if (!opened.isClosed()) await opened.close();
        await database.close();
        await scratch.drop();
        await nats.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await nc?.close();
    await db?.close();
    await scratch.drop();
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** An organization's ledger rows, by index: `executionIds[agent][n]`, `teamExecutionIds[team][n]`. */
export interface LedgerOrg {
  orgId: string;
  agentIds: string[];
  executionIds: string[][];
  teamIds: string[];
  teamExecutionIds: string[][];
}

/** A new organization with `agents` agents of `executions` PENDING executions each, and `teams` teams of `teamExecutions` PENDING runs each. */
export async function createLedgerOrg(
  db: Database,
  shape: { agents: number; executions: number; teams?: number; teamExecutions?: number },
): Promise<LedgerOrg> {
  const tag = randomUUID().slice(0, 8);
  const seeded = await createOrganization(db, {
    name: `Ingest ${tag}`,
    slug: `ingest-${tag}`,
    user: { email: `ingest-${tag}@test.neuroflow.dev`, name: `Ingest ${tag}`, password: `pw-${tag}` },
    agents: Array.from({ length: shape.agents }, (_, i) => ({ ...demoAgents[i % demoAgents.length]!, name: `agent ${i}` })),
  });
  const agentIds = seeded.agents.map((agent) => agent.id);
  const executionIds = agentIds.map(() => Array.from({ length: shape.executions }, () => randomUUID()));
  const teamIds = Array.from({ length: shape.teams ?? 0 }, () => randomUUID());
  const teamExecutionIds = teamIds.map(() => Array.from({ length: shape.teamExecutions ?? 0 }, () => randomUUID()));
  await db.asSystem(seeded.orgId, async (em) => {
    const executions = agentIds.flatMap((agentId, i) => executionIds[i]!.map((id) => ({ id, organization_id: seeded.orgId, agent_id: agentId })));
    if (executions.length > 0) {
      await em.execute(
        `insert into neuroflow_agent_executions (id, organization_id, agent_id, task, input, created_at, updated_at)
         select id, organization_id, agent_id, 'ingest', '{}', now(), now() from jsonb_to_recordset(?::jsonb) as v(id uuid, organization_id uuid, agent_id uuid)`,
        [JSON.stringify(executions)],
      );
    }
    for (const [t, teamId] of teamIds.entries()) {
      await em.execute(
        `insert into neuroflow_agent_teams (id, organization_id, name, structure, coordination, created_at, updated_at) values (?, ?, ?, 'DEMOCRATIC', '{}', now(), now())`,
        [teamId, seeded.orgId, `team ${t}`],
      );
      for (const id of teamExecutionIds[t]!) {
        await em.execute(
          `insert into neuroflow_team_executions (id, organization_id, team_id, structure, coordination, status, input, agent_participation, results, log, started_at, created_at, updated_at)
           values (?, ?, ?, 'DEMOCRATIC', '{}', 'RUNNING', '{}', '[]', '[]', '[]', '2030-01-01T00:00:00.000Z', now(), now())`,
          [id, seeded.orgId, teamId],
        );
      }
    }
  });
  return { orgId: seeded.orgId, agentIds, executionIds, teamIds, teamExecutionIds };
}

/** A deterministic PRNG (mulberry32): the same seed plays the same script. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A status event against indexes: `execution` names `executionIds[agent][execution]` (-1: an execution that does not exist). */
export interface ScriptedStatus {
  agent: number;
  status: AgentStatus;
  workerId: string;
  at: string;
  execution?: { index: number; progress: Omit<ExecutionProgress, "executionId"> };
}

const base = Date.parse("2030-01-01T00:00:00.000Z");
const iso = (ms: number) => new Date(base + ms).toISOString();

/**
 * What workers publish for `agents` agents running `executions` tasks each, with the awkward cases
 * mixed in at random: retried RUNNINGs (attempt 2), tasks cancelled in the mailbox (no attempt),
 * repeated endings, a RUNNING arriving after its ending, events naming an execution that does not
 * exist, equal timestamps, and late status-only events older than what the agent already showed.
 * Per agent in publishing order; the agents' streams interleaved at random.
 */
export function statusScript(seed: number, shape: { agents: number; executions: number }): ScriptedStatus[] {
  const random = seeded(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const perAgent: ScriptedStatus[][] = [];
  for (let agent = 0; agent < shape.agents; agent++) {
    const events: ScriptedStatus[] = [];
    let t = agent * 3;
    const tick = () => (t += pick([0, 1, 1, 2, 5]));
    const workerId = `worker-${agent % 3}`;
    for (let index = 0; index < shape.executions; index++) {
      const startedAt = iso(tick());
      if (random() < 0.1) {
        const error = { code: "CANCELLED" as const, message: "cancelled before it started", retryable: false };
        events.push({ agent, status: "IDLE", workerId, at: iso(t), execution: { index, progress: { status: "CANCELLED", startedAt, completedAt: iso(t), error } } });
        continue;
      }
      const provider = "simulated" as const;
      const model = pick(["sim-1", "sim-2"]);
      events.push({ agent, status: "BUSY", workerId, at: startedAt, execution: { index, progress: { status: "RUNNING", startedAt, provider, model, attempt: 1 } } });
      if (random() < 0.2) events.push({ agent, status: "BUSY", workerId, at: iso(tick()), execution: { index, progress: { status: "RUNNING", startedAt, provider, model, attempt: 2 } } });
      const durationMs = Math.floor(random() * 5000);
      const completedAt = iso(tick());
      const usage = { promptTokens: Math.floor(random() * 900), completionTokens: Math.floor(random() * 300) };
      const roll = random();
      const progress: Omit<ExecutionProgress, "executionId"> =
        roll < 0.7
          ? { status: "COMPLETED", startedAt, completedAt, durationMs, output: `answer ${agent}/${index}`, provider, model, usage, costMicroUsd: Math.floor(random() * 5000), attempt: 1 }
          : roll < 0.9
            ? { status: "FAILED", startedAt, completedAt, durationMs, error: { code: "PROVIDER_ERROR", message: "the model failed", retryable: true }, provider, model, usage, attempt: 2 }
            : { status: "CANCELLED", startedAt, completedAt, durationMs, error: { code: "CANCELLED", message: "cancelled on request", retryable: false }, attempt: 1 };
      events.push({ agent, status: "IDLE", workerId, at: completedAt, execution: { index, progress } });
      if (random() < 0.15) events.push({ agent, status: "IDLE", workerId, at: completedAt, execution: { index, progress } });
      if (random() < 0.15) events.push({ agent, status: "BUSY", workerId, at: iso(tick()), execution: { index, progress: { status: "RUNNING", startedAt, provider, model, attempt: 1 } } });
      if (random() < 0.05) events.push({ agent, status: "OFFLINE", workerId, at: iso(t - 40) });
      if (random() < 0.03) events.push({ agent, status: "BUSY", workerId, at: iso(tick()), execution: { index: -1, progress: { status: "COMPLETED", startedAt, completedAt, durationMs: 1 } } });
    }
    perAgent.push(events);
  }
  return interleave(perAgent, random);
}

/** The execution id scripted events use for an execution that does not exist. */
export const missingExecutionId = "00000000-0000-4000-8000-000000000000";

/** Several streams merged at random (seeded), each keeping its own order: what one subscriber receives from several publishers. */
export function interleave<T>(streams: readonly (readonly T[])[], random: () => number): T[] {
  const merged: T[] = [];
  const cursors = streams.map(() => 0);
  const live = streams.map((_, i) => i).filter((i) => streams[i]!.length > 0);
  while (live.length > 0) {
    const pick = Math.floor(random() * live.length);
    const stream = live[pick]!;
    merged.push(streams[stream]![cursors[stream]!]!);
    cursors[stream]! += 1;
    if (cursors[stream] === streams[stream]!.length) live.splice(pick, 1);
  }
  return merged;
}

/** A scripted event as the org's worker would publish it. */
export function statusEventOf(org: LedgerOrg, scripted: ScriptedStatus): AgentStatusChanged {
  const agentId = org.agentIds[scripted.agent]!;
  return {
    type: "agent.status.changed",
    orgId: org.orgId,
    agentId,
    status: scripted.status,
    workerId: scripted.workerId,
    at: scripted.at,
    queued: 0,
    ...(scripted.execution
      ? {
          execution: {
            executionId: scripted.execution.index < 0 ? missingExecutionId : org.executionIds[scripted.agent]![scripted.execution.index]!,
            ...scripted.execution.progress,
          },
        }
      : {}),
  };
}

/** A team log entry against indexes. */
export interface ScriptedTeamEvent {
  team: number;
  execution: number;
  seq: number;
  at: string;
  event: TeamExecEvent["event"];
}

/**
 * The log entries of `teams` × `executions` team runs: each run a few contributions then its final
 * entry (completed, failed or cancelled), some entries published twice. A run's entries come in
 * steps of one or more sharing one `at`, as a worker appends them; runs interleaved at random by
 * step, each run's entries in seq order.
 */
export function teamScript(seed: number, shape: { teams: number; executions: number; agentId: string }): ScriptedTeamEvent[] {
  const random = seeded(seed);
  const runs: ScriptedTeamEvent[][][] = [];
  const totals = { participation: [], usage: { promptTokens: 10, completionTokens: 5 }, costMicroUsd: 42 };
  for (let team = 0; team < shape.teams; team++) {
    for (let execution = 0; execution < shape.executions; execution++) {
      const steps: ScriptedTeamEvent[][] = [];
      const length = 2 + Math.floor(random() * 6);
      let t = team * 100 + execution * 7;
      let step: ScriptedTeamEvent[] = [];
      const append = (entry: Omit<ScriptedTeamEvent, "at">, newStep: boolean) => {
        if (newStep || step.length === 0) {
          if (step.length > 0) steps.push(step);
          step = [];
          t += 1;
        }
        step.push({ ...entry, at: iso(t) });
      };
      for (let seq = 1; seq <= length; seq++) {
        append({ team, execution, seq, event: { type: "team.contribution", round: 1, agentId: shape.agentId, text: `step ${seq}` } }, random() < 0.5);
        if (random() < 0.15) step.push({ ...step[step.length - 1]! });
      }
      const roll = random();
      const error = { code: "CANCELLED" as const, message: "stopped", retryable: false };
      append(
        {
          team,
          execution,
          seq: length + 1,
          event:
            roll < 0.6
              ? { type: "team.completed", answer: `answer ${team}/${execution}`, ...totals }
              : roll < 0.85
                ? { type: "team.failed", error: { ...error, code: "PROVIDER_ERROR" }, ...totals }
                : { type: "team.cancelled", error, ...totals },
        },
        random() < 0.5,
      );
      if (random() < 0.2) step.push({ ...step[step.length - 1]! });
      steps.push(step);
      runs.push(steps);
    }
  }
  return interleave(runs, random).flat();
}

/**
 * The TeamExecEvents messages a worker would publish for `events` in this order: each run of
 * adjacent entries of one execution with consecutive seqs and the same `at` in one message (a
 * repeated entry starts a new one).
 */
export function teamMessagesOf(events: readonly TeamExecEvent[]): TeamExecEvents[] {
  const messages: TeamExecEvents[] = [];
  for (const event of events) {
    const last = messages[messages.length - 1];
    const lastEntry = last?.entries[last.entries.length - 1];
    if (last && lastEntry && last.orgId === event.orgId && last.teamId === event.teamId && last.executionId === event.executionId && last.at === event.at && lastEntry.seq + 1 === event.seq) {
      last.entries.push({ seq: event.seq, event: event.event });
    } else {
      messages.push(toTeamExecEvents(event, [{ seq: event.seq, event: event.event }], event.at));
    }
  }
  return messages;
}

/** A scripted log entry as the org's worker would publish it. */
export function teamEventOf(org: LedgerOrg, scripted: ScriptedTeamEvent): TeamExecEvent {
  return {
    orgId: org.orgId,
    teamId: org.teamIds[scripted.team]!,
    executionId: org.teamExecutionIds[scripted.team]![scripted.execution]!,
    seq: scripted.seq,
    at: scripted.at,
    event: scripted.event,
  };
}

/** The subject a status event is published on. */
export const statusSubject = (event: AgentStatusChanged) => subjects.agentStatus(event.orgId, event.agentId);

/** Everything the ledgers write for an org, by index, ids left out: two orgs fed one script compare equal. */
export async function readLedger(db: Database, org: LedgerOrg) {
  return db.asSystem(org.orgId, async (em) => {
    const agents = await em.execute<Array<Record<string, unknown> & { id: string }>>(
      `select id, status, last_active_at, total_executions, success_rate, avg_response_time from neuroflow_ai_agents where organization_id = ?`,
      [org.orgId],
    );
    const executions = await em.execute<Array<Record<string, unknown> & { id: string }>>(
      `select id, status, started_at, completed_at, duration, output, error, prompt_tokens, completion_tokens, tokens_used, cost, provider, model, worker_id
         from neuroflow_agent_executions where organization_id = ?`,
      [org.orgId],
    );
    const teams = await em.execute<Array<Record<string, unknown> & { id: string }>>(
      `select id, total_executions, success_rate from neuroflow_agent_teams where organization_id = ?`,
      [org.orgId],
    );
    const teamExecutions = await em.execute<Array<Record<string, unknown> & { id: string }>>(
      `select id, status, output, error, agent_participation, tokens_used, cost, completed_at, duration, log from neuroflow_team_executions where organization_id = ?`,
      [org.orgId],
    );
    const byId = <T extends { id: string }>(rows: T[]) => new Map(rows.map(({ id, ...rest }) => [id, rest]));
    const agentRows = byId(agents);
    const executionRows = byId(executions);
    const teamRows = byId(teams);
    const teamExecutionRows = byId(teamExecutions);
    return {
      agents: org.agentIds.map((id) => agentRows.get(id)),
      executions: org.executionIds.map((ids) => ids.map((id) => executionRows.get(id))),
      teams: org.teamIds.map((id) => teamRows.get(id)),
      teamExecutions: org.teamExecutionIds.map((ids) => ids.map((id) => teamExecutionRows.get(id))),
    };
  });
}
