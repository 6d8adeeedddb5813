import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { endTeamExecution, teamEndingOfOutput } from "../../control-plane/persistence/team-ledger.js";
import { recordTeamReplies, recordTeamReply, type TeamReply } from "../../control-plane/persistence/team-replies.js";
import type { TeamRunOutputWire } from "../../runtime/protocol/index.js";
import { testLogger } from "../support/harness.js";
import { createLedgerOrg, seeded, startIngestRig, type IngestRig, type LedgerOrg } from "../support/ingest.js";

type Status = "PENDING" | "RUNNING" | "COMPLETED" | "FAILED" | "CANCELLED";
type Ending = "COMPLETED" | "FAILED" | "CANCELLED";

/** A team's totals before the batch. */
interface TeamState {
  total: number;
  successes: number;
}

/** A row's state when the replies arrive: its team (by index), status, stored log length, whether results are stored. */
interface RowState {
  team: number;
  status: Status;
  stored: number;
  results: boolean;
}

/** A reply of a batch: its row (by index, or none stored), the team it names, and what it carries. */
interface ReplyPlan {
  row: number | "missing";
  team: number;
  status: Ending;
  logLength: number;
  /** The reply's log out of seq order (the ledger sorts it). */
  shuffled: boolean;
  results: boolean;
  durationMs: number;
}

interface Scenario {
  teams: TeamState[];
  rows: RowState[];
  replies: ReplyPlan[];
}

/** One copy of a scenario's rows in the database. */
interface Copy {
  teamIds: string[];
  executionIds: string[];
}

const at = (seconds: number) => new Date(Date.UTC(2030, 0, 5, 0, 0, seconds)).toISOString();

/**
 * recordTeamReplies (the TeamRunner's batched reply writes) against recordTeamReply applied one
 * reply at a time, on a database of this file's own: seeded scenarios of row states and batches
 * are played into two copies of the same rows, which must end up identical with the same
 * outcomes; then the batch waiting for a competing writer that ends a row.
 */
describe("recordTeamReplies", () => {
  let rig: IngestRig;
  let org: LedgerOrg;

  beforeAll(async () => {
    rig = await startIngestRig({ databaseUrl: inject("databaseUrl"), authSecret: inject("authSecret"), logger: testLogger });
    org = await createLedgerOrg(rig.db, { agents: 1, executions: 0 });
  }, 60_000);

  afterAll(async () => {
    await rig?.stop();
  });

  const entry = (seq: number, tag: string) => ({
    seq,
    at: at(seq),
    event: { type: "team.answer" as const, round: 1, agentId: org.agentIds[0]!, text: `answer ${seq} from ${tag}`, answer: "yes" },
  });

  const outputOf = (plan: ReplyPlan, tag: string, random: () => number): TeamRunOutputWire => {
    const agentId = org.agentIds[0]!;
    const tokens = { promptTokens: 10 + Math.floor(random() * 90), completionTokens: Math.floor(random() * 20) };
    const log = Array.from({ length: plan.logLength }, (_, i) => entry(i + 1, tag));
    if (plan.shuffled) log.reverse();
    return {
      status: plan.status,
      ...(plan.status === "COMPLETED" ? { answer: `answer of ${tag}` } : { error: { code: "UNAVAILABLE", message: `no quorum in ${tag}`, retryable: false } }),
      participation: [{ agentId, calls: 2, failures: 0, tokens, costMicroUsd: 7 }],
      usage: tokens,
      costMicroUsd: Math.floor(random() * 1_000),
      results: plan.results ? [{ tally: tag }] : [],
      log,
      startedAt: at(0),
      completedAt: at(30),
      durationMs: plan.durationMs,
      workerId: "batch-worker",
    };
  };

  /** A seeded scenario: 1–3 teams, 1–6 rows, a batch of 1–10 replies (repeats of an execution likely). */
  const scenarioOf = (seed: number): Scenario => {
    const random = seeded(seed);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const teams = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
      const total = Math.floor(random() * 5);
      return { total, successes: Math.floor(random() * (total + 1)) };
    });
    const rows = Array.from({ length: 1 + Math.floor(random() * 6) }, () => ({
      team: Math.floor(random() * teams.length),
      status: pick(["RUNNING", "RUNNING", "PENDING", "COMPLETED", "FAILED", "CANCELLED"] as const),
      stored: Math.floor(random() * 5),
      results: random() < 0.3,
    }));
    const replies = Array.from({ length: 1 + Math.floor(random() * 10) }, (): ReplyPlan => {
      const row = random() < 0.05 ? "missing" : Math.floor(random() * rows.length);
      const ownTeam = row === "missing" ? 0 : rows[row]!.team;
      return {
        row,
        // Now and then a reply naming another team than its row's: it changes nothing.
        team: random() < 0.08 ? Math.floor(random() * teams.length) : ownTeam,
        status: pick(["COMPLETED", "COMPLETED", "FAILED", "CANCELLED"] as const),
        logLength: Math.floor(random() * 6),
        shuffled: random() < 0.2,
        results: random() < 0.7,
        durationMs: Math.floor(random() * 10_000),
      };
    });
    return { teams, rows, replies };
  };

  /** Stores a copy of the scenario's teams and rows. */
  const store = (scenario: Scenario): Promise<Copy> =>
    rig.db.asSystem(org.orgId, async (em) => {
      const teamIds = scenario.teams.map(() => randomUUID());
      const executionIds = scenario.rows.map(() => randomUUID());
      await em.execute(
        `insert into neuroflow_agent_teams (id, organization_id, name, structure, coordination, total_executions, success_rate, created_at, updated_at)
         select id, ?, 'batch ' || id, 'DEMOCRATIC', '{}', total, rate, now(), now()
           from jsonb_to_recordset(?::jsonb) as v(id uuid, total int, rate float8)`,
        [org.orgId, JSON.stringify(scenario.teams.map((team, i) => ({ id: teamIds[i], total: team.total, rate: team.total === 0 ? 0 : team.successes / team.total })))],
      );
      const rows = scenario.rows.map((row, i) => ({
        id: executionIds[i],
        team_id: teamIds[row.team],
        status: row.status,
        results: row.results ? [{ stored: true }] : [],
        log: Array.from({ length: row.stored }, (_, s) => entry(s + 1, "stored")),
      }));
      await em.execute(
        `insert into neuroflow_team_executions (id, organization_id, team_id, structure, coordination, status, input, agent_participation, results, log, started_at, created_at, updated_at)
         select id, ?, team_id, 'DEMOCRATIC', '{}', status, '{}', '[]', results, log, ?::timestamptz, now(), now()
           from jsonb_to_recordset(?::jsonb) as v(id uuid, team_id uuid, status text, results jsonb, log jsonb)`,
        [org.orgId, at(1), JSON.stringify(rows)],
      );
      return { teamIds, executionIds };
    });

  /** The copy's replies: the scenario's with this copy's ids (the outputs are shared). */
  const repliesOf = (scenario: Scenario, copy: Copy, outputs: TeamRunOutputWire[]): TeamReply[] =>
    scenario.replies.map((plan, i) => ({
      orgId: org.orgId,
      teamId: copy.teamIds[plan.team]!,
      executionId: plan.row === "missing" ? randomUUID() : copy.executionIds[plan.row]!,
      output: outputs[i]!,
    }));

  /** The copy's rows, ids replaced by indexes. */
  const read = (copy: Copy) =>
    rig.db.asSystem(org.orgId, async (em) => {
      const executions = await em.execute<Array<{ id: string; team_id: string; row: Record<string, unknown> }>>(
        `select id, team_id, to_jsonb(e) - 'id' - 'team_id' - 'created_at' - 'updated_at' as row
           from neuroflow_team_executions e where id = any(?::uuid[])`,
        [`{${copy.executionIds.join(",")}}`],
      );
      const teams = await em.execute<Array<{ id: string; total_executions: number; success_rate: number }>>(
        `select id, total_executions, success_rate from neuroflow_agent_teams where id = any(?::uuid[])`,
        [`{${copy.teamIds.join(",")}}`],
      );
      const executionById = new Map<string, Record<string, unknown>>(
        executions.map((execution) => [execution.id, { team: copy.teamIds.indexOf(execution.team_id), ...execution.row }]),
      );
      const teamById = new Map(teams.map((team) => [team.id, { total_executions: team.total_executions, success_rate: team.success_rate }]));
      return { executions: copy.executionIds.map((id) => executionById.get(id)), teams: copy.teamIds.map((id) => teamById.get(id)) };
    });

  it("leaves the rows and team totals exactly as recordTeamReply applied one reply at a time, with the same outcomes", { timeout: 120_000 }, async () => {
    const coverage = { ended: 0, notEnded: 0, teamEndedTwice: 0, executionTwice: 0, missing: 0, otherTeam: 0 };
    for (let seed = 1; seed <= 80; seed++) {
      const scenario = scenarioOf(seed);
      const random = seeded(seed * 7919);
      const outputs = scenario.replies.map((plan, i) => outputOf(plan, `reply ${i}`, random));
      const [batched, oneByOne] = [await store(scenario), await store(scenario)];

      const batchOutcomes = await rig.db.asSystem(org.orgId, (em) => recordTeamReplies(em, org.orgId, repliesOf(scenario, batched, outputs)));
      const singleOutcomes: Array<{ ended: boolean }> = [];
      for (const reply of repliesOf(scenario, oneByOne, outputs)) {
        singleOutcomes.push({ ended: await rig.db.asSystem(org.orgId, (em) => recordTeamReply(em, reply, reply.output)) });
      }

      const label = `seed ${seed}: ${JSON.stringify(scenario)}`;
      expect(batchOutcomes, label).toEqual(singleOutcomes);
      const [after, expected] = [await read(batched), await read(oneByOne)];
      expect(after.executions, label).toEqual(expected.executions);
      // Totals folded at once: the same mean, up to float rounding.
      expect(after.teams.map((team) => team?.total_executions), label).toEqual(expected.teams.map((team) => team?.total_executions));
      after.teams.forEach((team, i) => expect(team?.success_rate, label).toBeCloseTo(expected.teams[i]!.success_rate, 12));

      for (const outcome of singleOutcomes) coverage[outcome.ended ? "ended" : "notEnded"] += 1;
      const endedPerTeam = new Map<number, number>();
      singleOutcomes.forEach((outcome, i) => {
        if (outcome.ended) endedPerTeam.set(scenario.replies[i]!.team, (endedPerTeam.get(scenario.replies[i]!.team) ?? 0) + 1);
      });
      if ([...endedPerTeam.values()].some((count) => count > 1)) coverage.teamEndedTwice += 1;
      const rowsReplied = scenario.replies.filter((plan) => plan.row !== "missing").map((plan) => plan.row);
      if (new Set(rowsReplied).size < rowsReplied.length) coverage.executionTwice += 1;
      coverage.missing += scenario.replies.filter((plan) => plan.row === "missing").length;
      coverage.otherTeam += scenario.replies.filter((plan) => plan.row !== "missing" && plan.team !== scenario.rows[plan.row]!.team).length;
    }
    // The seeds reach every case the batch treats apart.
    for (const [what, count] of Object.entries(coverage)) expect(count, what).toBeGreaterThan(0);
  });

  it("waits for a competing writer ending a row, then completes that row and ends the others", { timeout: 30_000 }, async () => {
    const scenario: Scenario = {
      teams: [{ total: 2, successes: 1 }],
      rows: [
        { team: 0, status: "RUNNING", stored: 2, results: false },
        { team: 0, status: "RUNNING", stored: 0, results: false },
      ],
      replies: [],
    };
    const copy = await store(scenario);
    const random = seeded(5);
    const plan = (row: number, status: Ending): ReplyPlan => ({ row, team: 0, status, logLength: 4, shuffled: false, results: true, durationMs: 1_000 });
    const outputs = [outputOf(plan(0, "COMPLETED"), "raced", random), outputOf(plan(1, "FAILED"), "free", random)];
    const replies = repliesOf({ ...scenario, replies: [plan(0, "COMPLETED"), plan(1, "FAILED")] }, copy, outputs);

    // The log's final entry of row 0 is being stored: its writer has ended the row (without the whole log) and not committed.
    let release = () => undefined as void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let endedByLog: () => void = () => undefined;
    const endedFirst = new Promise<void>((resolve) => (endedByLog = resolve));
    const logWriter = rig.db.asSystem(org.orgId, async (em) => {
      await endTeamExecution(em, { ...teamEndingOfOutput(replies[0]!, outputs[0]!), completedAt: at(40), durationMs: null });
      endedByLog();
      await held;
    });
    await endedFirst;
    const batch = rig.db.asSystem(org.orgId, (em) => recordTeamReplies(em, org.orgId, replies));
    await expect
      .poll(() => rig.db.asSystem(null, async (em) => Number((await em.execute<Array<{ n: string }>>("select count(*) as n from pg_locks where not granted"))[0]?.n)), { timeout: 10_000 })
      .toBeGreaterThan(0);
    release();
    await logWriter;

    expect(await batch).toEqual([{ ended: false }, { ended: true }]);
    const { executions, teams } = await read(copy);
    // Row 0 keeps the log writer's ending and gets the reply's results and missing entries.
    expect(executions[0]).toMatchObject({ status: "COMPLETED", completed_at: expect.stringContaining("2030-01-05T00:00:40"), results: [{ tally: "raced" }] });
    expect((executions[0]!["log"] as Array<{ seq: number; event: { text: string } }>).map((e) => [e.seq, e.event.text])).toEqual([
      [1, "answer 1 from stored"],
      [2, "answer 2 from stored"],
      [3, "answer 3 from raced"],
      [4, "answer 4 from raced"],
    ]);
    expect(executions[1]).toMatchObject({ status: "FAILED", duration: 1_000, results: [{ tally: "free" }], error: { message: "no quorum in free" } });
    expect(executions[1]!["log"]).toHaveLength(4);
    // Both runs counted once: 1 of 2 before, then the log writer's success and the batch's failure.
    expect(teams[0]).toEqual({ total_executions: 4, success_rate: 0.5 });
  });
});
