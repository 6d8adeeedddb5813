import { randomBytes, randomUUID } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { TeamEventSubscriber } from "../../control-plane/bus/team-event-subscriber.js";
import { TeamRunner } from "../../control-plane/dispatch/team-runner.js";
import { Database } from "../../control-plane/persistence/database.js";
import { createOrganization } from "../../control-plane/persistence/seed.js";
import { AgentTeam, AiAgent, TeamMember } from "../../entities/index.js";
import { decodeJson, encodeJson, subjects, teamDefinitionSchema, teamRunReplySchema, type TeamExecEvent } from "../../runtime/protocol/index.js";
import { startPostgres } from "../../test/support/services.js";
import { OPTIONS, VOTER_COUNT, type MeasureOptions, type RoundStats } from "./common.js";
import { findProcess } from "./process-cpu.js";
import { expectSevenBallots, measureStandingTeams, voteRequest, type StandingTeam } from "./runtime-column.js";

/**
 * The runtime column with the ballots persisted: the same 7-agent DEMOCRATIC vote rounds, started
 * and stored by the control plane's own code against a real Postgres. This process plays the
 * control plane: a `TeamRunner` (control-plane/dispatch/team-runner.ts) records each run as a
 * RUNNING TeamExecution row (after loading the team and its member agents) and sends the
 * `team.run` request to the runtime pool, then records the reply; a `TeamEventSubscriber`
 * (control-plane/bus/team-event-subscriber.ts) stores every coordination log entry the worker
 * publishes (one message per step) — the answers, the 7 ballots, the tally, the decision — and ends the row from the final
 * entry. A round counts once the subscriber has committed its final entry (its `relay` runs after
 * the commit, and an entry is stored only after every earlier one) with all 7 ballots and the
 * tally among the entries it stored. After measuring, every counted round's row is read back and
 * must be COMPLETED with 7 stored ballots.
 *
 * The agents' status events are not stored here (no StatusSubscriber): the issue asks for the
 * ballots. Teams and agents are rows of one organization, created before the warm-up.
 */

/** How Postgres runs: `durable` (defaults, fsync on) or `fast` (the test suite's: no fsync, asynchronous commit). */
export type PostgresMode = "durable" | "fast";

/**
 * How a round is started. `team-runner`: as the control plane starts a run (the default, above).
 * `insert` (for finding where the time goes): the execution row is inserted with one SQL statement
 * and the `team.run` request sent by this process, whose reply is checked but not recorded — only
 * the TeamEventSubscriber's storing of the log is the control plane's.
 */
export type RunStart = "team-runner" | "insert";

export interface PersistedRuntime {
  /** The postmaster's process id (its backends are its children), when found. */
  readonly postgresPid: number | undefined;
  /** Measures rounds as described above with `inFlight` standing teams. */
  measure(options: MeasureOptions): Promise<RoundStats & { stored: number }>;
  /** Stops the subscriber and the runner, closes the database and stops Postgres. */
  stop(): Promise<void>;
}

/** A run being watched: the entries its subscriber has stored so far, and who waits for the last. */
interface Watched {
  stored: Array<{ event: { type: string; abstained?: boolean } }>;
  done: (error?: Error) => void;
}

/**
 * Starts Postgres (in a temp dir of its own, removed by `stop`), migrates it, creates the
 * organization, and starts the control plane's TeamRunner and TeamEventSubscriber on `nc` (the
 * control plane's own connection).
 */
export async function startPersistedRuntime(nc: NatsConnection, mode: PostgresMode, starts: RunStart = "team-runner"): Promise<PersistedRuntime> {
  const dir = mkdtempSync(join(tmpdir(), "neuroflow-bench-pg-"));
  // Postgres runs as the postgres user when we are root: it must reach the data dir.
  chmodSync(dir, 0o755);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const dataDir = join(dir, "data");
  let pg: Awaited<ReturnType<typeof startPostgres>>;
  try {
    pg = await startPostgres({ dataDir, password: randomBytes(12).toString("hex"), unsafeFast: mode === "fast" });
  } catch (error) {
    removeDir();
    throw error;
  }
  const logger = pino({ level: "warn" }, pino.destination(2));
  let db: Database | undefined;
  try {
    db = await Database.open({ databaseUrl: pg.url, authSecret: randomBytes(32).toString("hex") }, logger);
  } catch (error) {
    await pg.stop();
    removeDir();
    throw error;
  }
  const database = db;
  const id = randomUUID().slice(0, 8);
  const org = await createOrganization(database, {
    name: `Bench ${id}`,
    slug: `bench-${id}`,
    user: { email: `bench-${id}@bench.neuroflow.dev`, name: "Bench", password: randomUUID() },
    agents: [],
  }).catch(async (error: unknown) => {
    await database.close();
    await pg.stop();
    removeDir();
    throw error;
  });
  const watched = new Map<string, Watched>();
  const runner = new TeamRunner({ nc, db: database, logger });
  const subscriber = new TeamEventSubscriber({
    nc,
    db: database,
    logger,
    relay: (event: TeamExecEvent) => {
      const run = watched.get(event.executionId);
      if (run === undefined) return;
      run.stored.push(event);
      const type = event.event.type;
      if (type === "team.completed") run.done();
      else if (type === "team.failed" || type === "team.cancelled") run.done(new Error(`execution ${event.executionId}: ${type}`));
    },
  });
  await nc.flush();

  /** The team's rows: 7 agents (the standing team's ids and profiles), the DEMOCRATIC team, its members. */
  const setUp = (team: StandingTeam) =>
    database.asSystem(org.orgId, async (em) => {
      const coordination = teamDefinitionSchema.parse({
        structure: "DEMOCRATIC",
        coordination: { rule: { kind: "majority", quorum: 0, tieBreak: "random", abstentionsCount: false }, debateRounds: 0, memberTimeoutMs: 30_000 },
        members: team.members.map((member) => ({ agentId: member.agentId, role: member.role, priority: member.priority })),
      }).coordination;
      const row = em.create(AgentTeam, { id: team.teamId, organization: org.orgId, name: `team-${team.teamId}`, description: null, structure: "DEMOCRATIC", coordination, createdBy: org.userId });
      for (const member of team.members) {
        const { name, personality, modelConfig, capabilities } = member.profile;
        em.create(AiAgent, { id: member.agentId, organization: org.orgId, createdBy: org.userId, name, description: null, personality, modelConfig, capabilities, memory: {} });
        em.create(TeamMember, { organization: org.orgId, team: row, agent: member.agentId, role: member.role, priority: member.priority });
      }
      await em.flush();
    });

  const counted: string[] = [];
  /** Inserts the RUNNING row and sends the request; resolves with the reply, checked. */
  const startDirectly = async (team: StandingTeam, roundId: string, executionId: string) => {
    const request = voteRequest(org.orgId, team, roundId, executionId);
    await database.asSystem(org.orgId, (em) =>
      em.execute(
        `insert into neuroflow_team_executions
           (id, organization_id, team_id, structure, coordination, status, input, agent_participation, results, log, started_at, created_at, updated_at)
         values (?, ?, ?, 'DEMOCRATIC', ?::jsonb, 'RUNNING', ?::jsonb, '[]', '[]', '[]', now(), now(), now())`,
        [executionId, org.orgId, team.teamId, JSON.stringify(request.coordination.coordination), JSON.stringify({ ...request.task, seed: request.seed })],
      ),
    );
    return nc.request(subjects.teamExecRun(org.orgId, team.teamId, executionId), encodeJson(request), { timeout: 30_000 }).then((msg) => {
      const reply = decodeJson(teamRunReplySchema, msg.data, "team run reply");
      if (!reply.ok || reply.output.status !== "COMPLETED") throw new Error(`round ${roundId}: the run did not complete`);
    });
  };
  const vote = async (team: StandingTeam, roundId: string) => {
    let replied: Promise<void> = Promise.resolve();
    let executionId: string;
    if (starts === "insert") {
      executionId = randomUUID();
      replied = startDirectly(team, roundId, executionId);
    } else {
      const execution = await runner.start(
        (work) => database.asSystem(org.orgId, work),
        { orgId: org.orgId, teamId: team.teamId },
        { prompt: `Round ${roundId}: is the answer yes?`, answerKey: { options: [...OPTIONS], correct: "yes" }, seed: 1 },
      );
      executionId = execution.id;
    }
    const run: Watched = { stored: [], done: () => undefined };
    const finished = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`round ${roundId}: its final entry was not stored within 30 s`)), 30_000);
      run.done = (error) => {
        clearTimeout(timer);
        watched.delete(executionId);
        if (error) reject(error);
        else resolve();
      };
    });
    // Registered before any of the run's events can be stored: they arrive over the bus, after this turn.
    watched.set(executionId, run);
    await Promise.all([finished, replied]);
    expectSevenBallots(roundId, run.stored);
    counted.push(executionId);
  };

  return {
    postgresPid: findProcess(dataDir),
    async measure(options) {
      const stats = await measureStandingTeams(vote, { ...options, setUp });
      // Read back: each counted round's row ended COMPLETED with its 7 ballots stored.
      const [row] = await database.asSystem(org.orgId, (em) =>
        em.execute<Array<{ count: string | number }>>(
          `select count(*) as count from neuroflow_team_executions
            where organization_id = ? and status = 'COMPLETED'
              and (select count(*) from jsonb_array_elements(log) as entry where entry->'event'->>'type' = 'team.ballot') = ?
              and id in (select jsonb_array_elements_text(?::jsonb)::uuid)`,
          [org.orgId, VOTER_COUNT, JSON.stringify(counted)],
        ),
      );
      const stored = Number(row?.count ?? 0);
      if (stored !== counted.length) throw new Error(`${counted.length} rounds counted, but only ${stored} rows hold a COMPLETED run with its ${VOTER_COUNT} ballots`);
      return { ...stats, stored };
    },
    async stop() {
      await subscriber.stop();
      await runner.stop();
      await database.close();
      await pg.stop();
      removeDir();
    },
  };
}
