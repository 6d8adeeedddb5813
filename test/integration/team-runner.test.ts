import { randomUUID } from "node:crypto";
import type { Subscription } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TeamRunSweeper } from "../../control-plane/dispatch/team-run-sweeper.js";
import { TeamRunner } from "../../control-plane/dispatch/team-runner.js";
import { createOrganization, demoAgents } from "../../control-plane/persistence/seed.js";
import { endTeamExecution, teamEndingOfOutput } from "../../control-plane/persistence/team-ledger.js";
import { completeTeamRecord, recordTeamReply } from "../../control-plane/persistence/team-replies.js";
import { compareMembers, teamExecutionView } from "../../control-plane/persistence/team-views.js";
import { AgentTeam, TeamExecution, TeamMember } from "../../entities/index.js";
import {
  decodeJson,
  encodeJson,
  NeuroflowError,
  subjects,
  teamCoordinationSchema,
  teamRunRequestSchema,
  type RunTeamBody,
  type TeamRunOutputWire,
  type TeamRunReply,
  type TeamRunRequest,
} from "../../runtime/protocol/index.js";
import { testLogger } from "../support/harness.js";
import { startIngestRig, type IngestRig } from "../support/ingest.js";

interface Org {
  orgId: string;
  agentIds: string[];
}

interface MemberRow {
  agentId: string;
  role: "LEADER" | "WORKER" | "COORDINATOR" | "SPECIALIST";
  priority: number;
  /** Postgres timestamptz text, microseconds included. */
  createdAt: string;
}

/**
 * TeamRunner against a real Postgres and a nats-server of its own, this test answering the
 * `team.run` requests in place of a runtime worker: what `start` records and sends for a team as
 * stored (member order, profiles, coordination), its refusals (nothing recorded), and how the
 * reply — or a worker's refusal — ends the row.
 */
describe("TeamRunner", () => {
  let rig: IngestRig;
  let runner: TeamRunner;
  let org: Org;
  let other: Org;
  let worker: Subscription;
  /** How the fake worker answers a run at once, by team; a team without one waits for `answer`. */
  const answers = new Map<string, (request: TeamRunRequest) => TeamRunReply>();
  /** Every run request the fake worker received, by execution, and how to answer it later. */
  const requests = new Map<string, { request: TeamRunRequest; answer: (reply: TeamRunReply) => void }>();

  const newOrg = async (): Promise<Org> => {
    const tag = randomUUID().slice(0, 8);
    const seeded = await createOrganization(rig.db, {
      name: `Runner ${tag}`,
      slug: `runner-${tag}`,
      user: { email: `runner-${tag}@test.neuroflow.dev`, name: "Runner", password: `pw-${tag}` },
      agents: Array.from({ length: 5 }, (_, i) => ({ ...demoAgents[i % demoAgents.length]!, name: `agent ${i}` })),
    });
    return { orgId: seeded.orgId, agentIds: seeded.agents.map((agent) => agent.id) };
  };

  /** A team stored as is, without the API's checks, its members created at the given times. */
  const storeTeam = (owner: Org, team: { structure: string; coordination: unknown; isActive?: boolean; members: MemberRow[] }) =>
    rig.db.asSystem(owner.orgId, async (em) => {
      const teamId = randomUUID();
      await em.execute(
        `insert into neuroflow_agent_teams (id, organization_id, name, structure, coordination, is_active, created_at, updated_at)
         values (?, ?, ?, ?, ?::jsonb, ?, now(), now())`,
        [teamId, owner.orgId, `team ${teamId}`, team.structure, JSON.stringify(team.coordination), team.isActive ?? true],
      );
      for (const member of team.members) {
        await em.execute(
          `insert into neuroflow_team_members (id, organization_id, team_id, agent_id, role, priority, created_at, updated_at)
           values (?, ?, ?, ?, ?, ?, ?::timestamptz, now())`,
          [randomUUID(), owner.orgId, teamId, member.agentId, member.role, member.priority, member.createdAt],
        );
      }
      return teamId;
    });

  const workers = (owner: Org, count: number): MemberRow[] =>
    owner.agentIds.slice(0, count).map((agentId, i) => ({ agentId, role: "WORKER", priority: i, createdAt: "2030-01-01T00:00:00Z" }));

  /** Starts a run as `scopeOrg` (the caller's org) of the team `teamId` the caller asks for in `owner`'s org. */
  const start = (owner: Org, teamId: string, body: RunTeamBody, scopeOrg = owner.orgId) =>
    runner.start((work) => rig.db.asSystem(scopeOrg, work), { orgId: owner.orgId, teamId }, body);

  const refusal = async (promise: Promise<unknown>) => {
    const error: unknown = await promise.then(
      () => undefined,
      (cause: unknown) => cause,
    );
    if (!(error instanceof NeuroflowError)) throw new Error(`expected a NeuroflowError, got ${String(error)}`);
    return { code: error.code, message: error.message, details: error.details };
  };

  const executionsOf = (owner: Org, teamId: string) => rig.db.asSystem(owner.orgId, (em) => em.count(TeamExecution, { team: teamId }));

  /** The row as the API shows it, once it has left RUNNING. */
  const ended = async (owner: Org, executionId: string) => {
    const view = () => rig.db.asSystem(owner.orgId, async (em) => teamExecutionView(await em.findOneOrFail(TeamExecution, { id: executionId })));
    await expect.poll(async () => (await view()).status, { timeout: 10_000 }).not.toBe("RUNNING");
    return view();
  };

  beforeAll(async () => {
    rig = await startIngestRig({ databaseUrl: inject("databaseUrl"), authSecret: inject("authSecret"), logger: testLogger });
    runner = new TeamRunner({ nc: rig.nc, db: rig.db, logger: testLogger, runTimeoutMs: 10_000 });
    org = await newOrg();
    other = await newOrg();
    worker = rig.nc.subscribe(subjects.anyTeamExecRun, {
      callback: (_error, msg) => {
        const request = decodeJson(teamRunRequestSchema, msg.data, "team run request");
        requests.set(request.executionId, { request, answer: (reply) => msg.respond(encodeJson(reply)) });
        const answer = answers.get(request.teamId);
        if (answer) msg.respond(encodeJson(answer(request)));
      },
    });
    await rig.nc.flush();
  });

  afterAll(async () => {
    worker?.unsubscribe();
    await runner?.stop();
    await rig?.stop();
  });

  it("records the run RUNNING, sends the members in compareMembers order with their profiles, and records the reply", async () => {
    const [a, b, c, d, e] = org.agentIds as [string, string, string, string, string];
    // b and c share priority 1 and the millisecond (not the microsecond) of their creation.
    const teamId = await storeTeam(org, {
      structure: "DEMOCRATIC",
      coordination: { rule: { kind: "majority" } },
      members: [
        { agentId: a, role: "WORKER", priority: 5, createdAt: "2030-01-01T00:00:00.000Z" },
        { agentId: b, role: "WORKER", priority: 1, createdAt: "2030-01-01T00:00:01.000900Z" },
        { agentId: c, role: "WORKER", priority: 1, createdAt: "2030-01-01T00:00:01.000100Z" },
        { agentId: d, role: "SPECIALIST", priority: 1, createdAt: "2030-01-01T00:00:00.500Z" },
        { agentId: e, role: "WORKER", priority: -2, createdAt: "2030-01-02T00:00:00.000Z" },
      ],
    });
    await rig.db.asSystem(org.orgId, (em) => em.execute("update neuroflow_ai_agents set total_executions = 4, success_rate = 0.75 where id = ?", [d]));
    const members = await rig.db.asSystem(org.orgId, async (em) => (await em.find(TeamMember, { team: teamId }, { populate: ["agent"] })).sort(compareMembers));
    // The oracle's order; b and c tie on priority and on the millisecond, so their member ids decide.
    expect(members.map((member) => member.agent.id)).toEqual([e, d, expect.any(String), expect.any(String), a]);
    expect(members.slice(2, 4).map((member) => member.agent.id).sort()).toEqual([b, c].sort());
    expect(members[2]!.createdAt.getTime()).toBe(members[3]!.createdAt.getTime());

    const at = "2030-01-03T00:00:00.000Z";
    const complete = (request: TeamRunRequest): TeamRunReply => {
      const participation = request.members.map((member) => ({ agentId: member.agentId, calls: 1, failures: 0, tokens: { promptTokens: 10, completionTokens: 5 }, costMicroUsd: 7 }));
      const totals = { participation, usage: { promptTokens: 50, completionTokens: 25 }, costMicroUsd: 35 };
      return {
        ok: true,
        output: {
          status: "COMPLETED",
          answer: "yes",
          ...totals,
          results: [{ tally: "yes" }],
          log: [
            { seq: 1, at, event: { type: "team.started", structure: "DEMOCRATIC", members: request.members.map((member) => member.agentId) } },
            { seq: 2, at, event: { type: "team.completed", answer: "yes", ...totals } },
          ],
          startedAt: at,
          completedAt: "2030-01-03T00:00:01.500Z",
          durationMs: 1_500,
          workerId: "fake-worker",
        },
      };
    };
    const execution = await start(org, teamId, { prompt: "Is it yes?", answerKey: { options: ["yes", "no"], correct: "yes" }, seed: 42 });

    // What start returns is the row as stored.
    const view = teamExecutionView(execution);
    const coordination = teamCoordinationSchema.parse({ structure: "DEMOCRATIC", coordination: { rule: { kind: "majority" } } }).coordination;
    expect(view).toEqual({
      id: execution.id,
      orgId: org.orgId,
      teamId,
      structure: "DEMOCRATIC",
      coordination,
      status: "RUNNING",
      input: { prompt: "Is it yes?", answerKey: { options: ["yes", "no"], correct: "yes" }, seed: 42 },
      output: null,
      error: null,
      agentParticipation: [],
      results: [],
      log: [],
      tokensUsed: 0,
      cost: 0,
      duration: null,
      createdAt: expect.any(String),
      startedAt: expect.any(String),
      completedAt: null,
    });
    const stored = await rig.db.asSystem(org.orgId, (em) => em.findOneOrFail(TeamExecution, { id: execution.id }));
    expect(teamExecutionView(stored)).toEqual(view);

    await expect.poll(() => requests.get(execution.id), { timeout: 10_000 }).toBeDefined();
    const { request, answer } = requests.get(execution.id)!;
    expect(request).toEqual({
      type: "team.run",
      orgId: org.orgId,
      teamId,
      executionId: execution.id,
      task: { prompt: "Is it yes?", answerKey: { options: ["yes", "no"], correct: "yes" } },
      members: members.map(({ agent, role, priority }) => ({
        agentId: agent.id,
        name: agent.name,
        role,
        priority,
        capabilities: agent.capabilities,
        ...(agent.id === d ? { successRate: 0.75 } : {}),
        profile: { name: agent.name, personality: agent.personality, modelConfig: agent.modelConfig, capabilities: agent.capabilities },
      })),
      coordination: { structure: "DEMOCRATIC", coordination },
      seed: 42,
    });

    answer(complete(request));
    const done = await ended(org, execution.id);
    expect(done).toMatchObject({
      status: "COMPLETED",
      output: { answer: "yes" },
      error: null,
      results: [{ tally: "yes" }],
      tokensUsed: 75,
      cost: 35 / 1_000_000,
      duration: 1_500,
      completedAt: "2030-01-03T00:00:01.500Z",
    });
    expect(done.agentParticipation).toHaveLength(5);
    expect(done.log).toEqual([
      { seq: 1, at, event: expect.objectContaining({ type: "team.started" }) },
      { seq: 2, at, event: expect.objectContaining({ type: "team.completed" }) },
    ]);
    const team = await rig.db.asSystem(org.orgId, (em) => em.findOneOrFail(AgentTeam, { id: teamId }));
    expect(team).toMatchObject({ totalExecutions: 1, successRate: 1 });
  });

  it("records a worker's refusal as FAILED with its error, and draws a seed when none is given", async () => {
    const teamId = await storeTeam(org, { structure: "PIPELINE", coordination: {}, members: workers(org, 2) });
    answers.set(teamId, () => ({ ok: false, error: { code: "INVALID_MESSAGE", message: "no thanks", retryable: false } }));
    const execution = await start(org, teamId, { prompt: "Go" });
    expect(execution.input).toEqual({ prompt: "Go", seed: expect.any(Number) });
    expect(execution.coordination).toEqual({ onStageFailure: "stop", maxRetries: 1 });
    expect(await ended(org, execution.id)).toMatchObject({
      status: "FAILED",
      error: { code: "INVALID_MESSAGE", message: "no thanks" },
      output: null,
      log: [],
      duration: expect.any(Number),
    });
    const team = await rig.db.asSystem(org.orgId, (em) => em.findOneOrFail(AgentTeam, { id: teamId }));
    expect(team).toMatchObject({ totalExecutions: 1, successRate: 0 });
  });

  it("refuses a team the caller can't see (NOT_FOUND) and one that cannot run (CONFLICT), recording nothing", async () => {
    const runnable = await storeTeam(org, { structure: "COLLABORATIVE", coordination: {}, members: workers(org, 2) });
    const notFound = { code: "NOT_FOUND", message: "team not found", details: undefined };
    expect(await refusal(start(org, "not-a-uuid", { prompt: "x" }))).toEqual(notFound);
    expect(await refusal(start(org, randomUUID(), { prompt: "x" }))).toEqual(notFound);
    // Another org's team: neither by its own org's id nor through the caller's.
    expect(await refusal(start(org, runnable, { prompt: "x" }, other.orgId))).toEqual(notFound);
    expect(await refusal(start(other, runnable, { prompt: "x" }))).toEqual(notFound);

    const inactive = await storeTeam(org, { structure: "COLLABORATIVE", coordination: {}, isActive: false, members: workers(org, 2) });
    expect(await refusal(start(org, inactive, { prompt: "x" }))).toEqual({ code: "CONFLICT", message: "this team is deactivated", details: undefined });

    const empty = await storeTeam(org, { structure: "COLLABORATIVE", coordination: {}, members: [] });
    expect(await refusal(start(org, empty, { prompt: "x" }))).toEqual({ code: "CONFLICT", message: "this team has no members", details: undefined });

    const retired = other.agentIds[4]!;
    await rig.db.asSystem(other.orgId, (em) => em.execute("update neuroflow_ai_agents set is_active = false where id = ?", [retired]));
    const withRetired = await storeTeam(other, { structure: "COLLABORATIVE", coordination: {}, members: [...workers(other, 2), { agentId: retired, role: "WORKER", priority: 9, createdAt: "2030-01-01T00:00:00Z" }] });
    expect(await refusal(start(other, withRetired, { prompt: "x" }))).toEqual({
      code: "CONFLICT",
      message: `member agent ${retired} is deactivated`,
      details: { agentId: retired },
    });

    // Stored before a rule changed: no LEADER for a HIERARCHICAL team; a coordination value out of range.
    const leaderless = await storeTeam(org, { structure: "HIERARCHICAL", coordination: {}, members: workers(org, 3) });
    expect(await refusal(start(org, leaderless, { prompt: "x" }))).toEqual({
      code: "CONFLICT",
      message: "this team cannot run as configured: HIERARCHICAL needs exactly one LEADER (found 0)",
      details: ["HIERARCHICAL needs exactly one LEADER (found 0)"],
    });
    const outOfRange = await storeTeam(org, { structure: "HIERARCHICAL", coordination: { maxSubtasks: 99 }, members: workers(org, 3) });
    const invalid = await refusal(start(org, outOfRange, { prompt: "x" }));
    expect(invalid).toMatchObject({ code: "CONFLICT", message: expect.stringMatching(/^this team cannot run as configured: coordination\.coordination\.maxSubtasks: /) });
    expect(invalid.details).toEqual([expect.stringMatching(/^coordination\.coordination\.maxSubtasks: /)]);

    for (const [owner, teamId] of [[org, runnable], [org, inactive], [org, empty], [other, withRetired], [org, leaderless], [org, outOfRange]] as const) {
      expect(await executionsOf(owner, teamId)).toBe(0);
    }
  });
  it("sweeps runs no control plane will end: cancels them on the bus and records them FAILED, in every org", async () => {
    const mine = await storeTeam(org, { structure: "PIPELINE", coordination: {}, members: workers(org, 2) });
    const theirs = await storeTeam(other, { structure: "PIPELINE", coordination: {}, members: workers(other, 2) });
    // Nobody answers these runs: they stay RUNNING, as when the worker and the control plane died.
    const abandoned = await start(org, mine, { prompt: "left behind" });
    const abandonedElsewhere = await start(other, theirs, { prompt: "left behind too" });
    const fresh = await start(org, mine, { prompt: "still going" });
    const backdate = (owner: Org, executionId: string) =>
      rig.db.asSystem(owner.orgId, (em) => em.execute(`update neuroflow_team_executions set started_at = now() - interval '1 hour' where id = ?`, [executionId]));
    await backdate(org, abandoned.id);
    await backdate(other, abandonedElsewhere.id);
    const cancels: string[] = [];
    const listening = rig.nc.subscribe(subjects.anyTeamExecCancel, { callback: (_error, msg) => void cancels.push(msg.subject) });
    await rig.nc.flush();

    const sweeper = new TeamRunSweeper({ db: rig.db, nc: rig.nc, logger: testLogger, intervalMs: 60_000, abandonedAfterMs: 60_000 });
    expect(await sweeper.sweepOnce()).toBe(2);
    expect(await sweeper.sweepOnce()).toBe(0);

    const timedOut = { code: "TIMEOUT", message: "the team execution did not end within 60000 ms and no control plane recorded its end" };
    expect(await ended(org, abandoned.id)).toMatchObject({ status: "FAILED", error: timedOut });
    expect(await ended(other, abandonedElsewhere.id)).toMatchObject({ status: "FAILED", error: timedOut });
    const stillRunning = await rig.db.asSystem(org.orgId, (em) => em.findOneOrFail(TeamExecution, { id: fresh.id }));
    expect(stillRunning.status).toBe("RUNNING");
    await expect.poll(() => [...cancels].sort()).toEqual(
      [subjects.teamExecCancel(org.orgId, mine, abandoned.id), subjects.teamExecCancel(other.orgId, theirs, abandonedElsewhere.id)].sort(),
    );
    listening.unsubscribe();

    // The runner's requests are answered, so it stops at once; an ended row keeps the sweeper's outcome.
    const refusal = { ok: false as const, error: { code: "UNAVAILABLE" as const, message: "gone", retryable: true } };
    for (const run of [abandoned, abandonedElsewhere, fresh]) requests.get(run.id)?.answer(refusal);
    expect((await ended(org, fresh.id)).error).toMatchObject({ code: "UNAVAILABLE" });
    expect((await ended(org, abandoned.id)).error).toEqual(timedOut);
  });

  it("records a reply in one statement exactly as endTeamExecution then completeTeamRecord do, whatever the row's state", async () => {
    const agentId = org.agentIds[0]!;
    const at = (seconds: number) => new Date(Date.UTC(2030, 0, 5, 0, 0, seconds)).toISOString();
    const entry = (seq: number) => ({ seq, at: at(seq), event: { type: "team.answer" as const, round: 1, agentId, text: `answer ${seq}`, answer: "yes" } });
    const totals = { participation: [{ agentId, calls: 4, failures: 0, tokens: { promptTokens: 40, completionTokens: 8 }, costMicroUsd: 12 }], usage: { promptTokens: 40, completionTokens: 8 }, costMicroUsd: 12 };
    const reply = (status: "COMPLETED" | "FAILED", durationMs: number): TeamRunOutputWire => ({
      status,
      ...(status === "COMPLETED" ? { answer: "yes" } : { error: { code: "UNAVAILABLE", message: "no quorum", retryable: false } }),
      ...totals,
      results: [{ tally: { yes: 3 } }],
      log: [entry(1), entry(2), entry(3), { seq: 4, at: at(4), event: status === "COMPLETED" ? { type: "team.completed", answer: "yes", ...totals } : { type: "team.failed", error: { code: "UNAVAILABLE", message: "no quorum", retryable: false }, ...totals } }],
      startedAt: at(0),
      completedAt: at(5),
      durationMs,
      workerId: "twin-worker",
    });
    // A row's state when the reply arrives: its status, how much of the log is stored, whether results are.
    const states = [
      { status: "RUNNING", stored: 0, results: false },
      { status: "RUNNING", stored: 2, results: false },
      { status: "PENDING", stored: 0, results: false },
      { status: "COMPLETED", stored: 4, results: false },
      { status: "COMPLETED", stored: 2, results: false },
      { status: "COMPLETED", stored: 4, results: true },
      { status: "FAILED", stored: 1, results: false },
      { status: "CANCELLED", stored: 3, results: false },
    ] as const;
    const cases = states.flatMap((state) => [reply("COMPLETED", 5_000), reply("FAILED", 0)].map((output) => ({ state, output })));

    /** A team with one row in `state`; returns the run. */
    const prepare = (state: (typeof states)[number]) =>
      rig.db.asSystem(org.orgId, async (em) => {
        const [teamId, executionId] = [randomUUID(), randomUUID()];
        await em.execute(
          `insert into neuroflow_agent_teams (id, organization_id, name, structure, coordination, total_executions, success_rate, created_at, updated_at)
           values (?, ?, ?, 'DEMOCRATIC', '{}', 3, 0.5, now(), now())`,
          [teamId, org.orgId, `twin ${teamId}`],
        );
        const log = [entry(1), entry(2), entry(3), entry(4)].slice(0, state.stored);
        await em.execute(
          `insert into neuroflow_team_executions (id, organization_id, team_id, structure, coordination, status, input, agent_participation, results, log, started_at, created_at, updated_at)
           values (?, ?, ?, 'DEMOCRATIC', '{}', ?, '{}', '[]', ?::jsonb, ?::jsonb, ?, now(), now())`,
          [executionId, org.orgId, teamId, state.status, JSON.stringify(state.results ? [{ stored: true }] : []), JSON.stringify(log), at(1)],
        );
        return { orgId: org.orgId, teamId, executionId };
      });
    const read = (run: { teamId: string; executionId: string }) =>
      rig.db.asSystem(org.orgId, async (em) => {
        const [row] = await em.execute<Array<{ execution: Record<string, unknown>; team: Record<string, unknown> }>>(
          `select to_jsonb(e) - 'id' - 'team_id' - 'created_at' - 'updated_at' as execution,
                  jsonb_build_object('total_executions', t.total_executions, 'success_rate', t.success_rate) as team
             from neuroflow_team_executions e join neuroflow_agent_teams t on t.id = e.team_id
            where e.id = ?`,
          [run.executionId],
        );
        return row;
      });

    // The reply racing the log's final entry: the entry's writer has ended the row (without the
    // whole log) and not committed yet when the reply's statement starts; it waits, then completes the row.
    const raced = async (record: (run: { orgId: string; teamId: string; executionId: string }) => Promise<boolean>) => {
      const run = await prepare({ status: "RUNNING", stored: 2, results: false });
      const output = reply("COMPLETED", 5_000);
      let release = () => undefined as void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let endedByLog: () => void = () => undefined;
      const endedFirst = new Promise<void>((resolve) => (endedByLog = resolve));
      const logWriter = rig.db.asSystem(org.orgId, async (em) => {
        await endTeamExecution(em, { ...teamEndingOfOutput(run, output), completedAt: at(6), durationMs: null });
        endedByLog();
        await held;
      });
      await endedFirst;
      const recorded = record(run);
      await expect
        .poll(() => rig.db.asSystem(null, async (em) => Number((await em.execute<Array<{ n: string }>>("select count(*) as n from pg_locks where not granted"))[0]?.n)), { timeout: 10_000 })
        .toBeGreaterThan(0);
      release();
      await logWriter;
      return { ended: await recorded, row: await read(run) };
    };
    const oneStatementRace = await raced((run) => rig.db.asSystem(org.orgId, (em) => recordTeamReply(em, run, reply("COMPLETED", 5_000))));
    const twoFunctionsRace = await raced((run) =>
      rig.db.asSystem(org.orgId, async (em) => {
        const output = reply("COMPLETED", 5_000);
        const moved = await endTeamExecution(em, teamEndingOfOutput(run, output));
        await completeTeamRecord(em, run, output);
        return moved;
      }),
    );
    expect(oneStatementRace).toEqual(twoFunctionsRace);
    expect(oneStatementRace.ended).toBe(false);
    expect(oneStatementRace.row?.execution).toMatchObject({ status: "COMPLETED", results: [{ tally: { yes: 3 } }], completed_at: expect.stringContaining("2030-01-05") });
    expect(oneStatementRace.row?.execution["log"]).toHaveLength(4);

    for (const { state, output } of cases) {
      const [oneStatement, twoFunctions] = [await prepare(state), await prepare(state)];
      const ended = await rig.db.asSystem(org.orgId, (em) => recordTeamReply(em, oneStatement, output));
      const changed = await rig.db.asSystem(org.orgId, async (em) => {
        const moved = await endTeamExecution(em, teamEndingOfOutput(twoFunctions, output));
        await completeTeamRecord(em, twoFunctions, output);
        return moved;
      });
      const label = `${state.status}, ${state.stored} stored${state.results ? ", results" : ""}; reply ${output.status}`;
      expect(ended, label).toBe(changed);
      expect(await read(oneStatement), label).toEqual(await read(twoFunctions));
    }
  });
});
