import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TeamEventSubscriber } from "../../control-plane/bus/team-event-subscriber.js";
import { ControlPlaneMetrics } from "../../control-plane/http/metrics.js";
import { applyTeamEvents, endTeamExecutions } from "../../control-plane/persistence/team-batch-ledger.js";
import { appendTeamLogEntry, endTeamExecution, teamEndingOf, type TeamEnding } from "../../control-plane/persistence/team-ledger.js";
import { subjects, teamExecEventsOf, type TeamExecEvent, type TeamExecEvents } from "../../runtime/protocol/index.js";
import { testLogger } from "../support/harness.js";
import {
  createLedgerOrg,
  interleave,
  readLedger,
  seeded,
  startIngestRig,
  teamEventOf,
  teamMessagesOf,
  teamScript,
  type IngestRig,
  type LedgerOrg,
} from "../support/ingest.js";

/**
 * The team-event subscriber writes in batches (OrgBatchWriter + applyTeamEvents). Like
 * status-ingest.test.ts: one script played into two organizations, one through the subscriber
 * (its own nats-server; a step's entries in one TeamExecEvents message, as a worker publishes
 * them), one through the old path (appendTeamLogEntry + endTeamExecution, one transaction per
 * entry, same order), every column compared.
 */
describe("team log entries stored in batches", () => {
  let rig: IngestRig;

  beforeAll(async () => {
    rig = await startIngestRig({ databaseUrl: inject("databaseUrl"), authSecret: inject("authSecret"), logger: testLogger });
  });

  afterAll(async () => {
    await rig?.stop();
  });

  const subjectOf = (message: TeamExecEvents) => subjects.teamExecEvents(message.orgId, message.teamId, message.executionId);

  async function oneByOne(events: readonly TeamExecEvent[]): Promise<void> {
    for (const event of events) {
      await rig.db
        .asSystem(event.orgId, async (em) => {
          await appendTeamLogEntry(em, event);
          const ending = teamEndingOf(event);
          if (ending) await endTeamExecution(em, ending);
        })
        .catch(() => undefined);
    }
  }

  function subscribe() {
    const metrics = new ControlPlaneMetrics({ wsClients: () => 0 });
    const relayed: TeamExecEvent[] = [];
    const subscriber = new TeamEventSubscriber({ nc: rig.nc, db: rig.db, logger: testLogger, metrics, relay: (event) => relayed.push(event) });
    return { subscriber, metrics, relayed };
  }

  it("stores the runs' logs and endings exactly as one entry at a time, across orgs; stop() drains them", { timeout: 120_000 }, async () => {
    const shape = { agents: 1, executions: 0, teams: 6, teamExecutions: 12 };
    const pairs: Array<{ batched: LedgerOrg; twin: LedgerOrg }> = [];
    for (let k = 0; k < 2; k++) pairs.push({ batched: await createLedgerOrg(rig.db, shape), twin: await createLedgerOrg(rig.db, shape) });
    const scripts = pairs.map(({ batched }, k) => teamScript(40 + k, { teams: shape.teams, executions: shape.teamExecutions, agentId: batched.agentIds[0]! }));
    // Two orgs' runs interleaved by message, each in its own order.
    const messages = interleave(
      scripts.map((script, k) => teamMessagesOf(script.map((entry) => teamEventOf(pairs[k]!.batched, entry)))),
      seeded(41),
    );
    const published = messages.flatMap(teamExecEventsOf);
    expect(messages.length).toBeLessThan(published.length);

    const { subscriber, metrics, relayed } = subscribe();
    for (let i = 0; i < messages.length; i += 300) {
      for (const message of messages.slice(i, i + 300)) rig.nc.publish(subjectOf(message), JSON.stringify(message));
      await rig.nc.flush();
    }
    await subscriber.stop();

    for (const [k, { batched, twin }] of pairs.entries()) {
      await oneByOne(scripts[k]!.map((entry) => teamEventOf(twin, entry)));
      const [mine, theirs] = [await readLedger(rig.db, batched), await readLedger(rig.db, twin)];
      expect(mine).toEqual(theirs);
      // Every run's log whole and in seq order, each run counted once.
      for (const runs of mine.teamExecutions) {
        for (const run of runs) {
          const log = run?.log as Array<{ seq: number }>;
          expect(log.map((entry) => entry.seq)).toEqual(log.map((_, i) => i + 1));
          expect(["COMPLETED", "FAILED", "CANCELLED"]).toContain(run?.status);
        }
      }
      expect(mine.teams.map((team) => team?.total_executions)).toEqual(batched.teamIds.map(() => shape.teamExecutions));
      expect(relayed.filter((event) => event.orgId === batched.orgId)).toEqual(published.filter((event) => event.orgId === batched.orgId));
    }
    const cycles = (await metrics.ingestBatchSize.get()).values.find((v) => v.metricName === "neuroflow_ingest_batch_size_count")?.value;
    expect(cycles).toBeLessThan(published.length);
  });

  it("within one batch: entries in seq order, repeats and gaps left out, a run ended once", async () => {
    const org = await createLedgerOrg(rig.db, { agents: 1, executions: 0, teams: 1, teamExecutions: 1 });
    const entry = (seq: number, type: "contribution" | "completed" = "contribution"): TeamExecEvent => ({
      orgId: org.orgId,
      teamId: org.teamIds[0]!,
      executionId: org.teamExecutionIds[0]![0]!,
      seq,
      at: new Date(Date.parse("2030-01-01T01:00:00.000Z") + seq).toISOString(),
      event:
        type === "completed"
          ? { type: "team.completed", answer: "yes", participation: [], usage: { promptTokens: 1, completionTokens: 2 }, costMicroUsd: 3 }
          : { type: "team.contribution", round: 1, agentId: org.agentIds[0]!, text: `step ${seq}` },
    });
    const apply = (events: TeamExecEvent[]) => rig.db.asSystem(org.orgId, (em) => applyTeamEvents(em, org.orgId, events));

    expect(await apply([entry(2), entry(1), entry(1), entry(4)])).toEqual([
      { appended: true, ended: false },
      { appended: true, ended: false },
      { appended: false, ended: false },
      { appended: false, ended: false },
    ]);
    expect(await apply([entry(5, "completed"), entry(4), entry(3), entry(5, "completed")])).toEqual([
      { appended: true, ended: true },
      { appended: true, ended: false },
      { appended: true, ended: false },
      { appended: false, ended: false },
    ]);
    expect(await apply([entry(5, "completed")])).toEqual([{ appended: false, ended: false }]);
    const ledger = await readLedger(rig.db, org);
    expect((ledger.teamExecutions[0]![0]!.log as Array<{ seq: number }>).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(ledger.teamExecutions[0]![0]).toMatchObject({ status: "COMPLETED", output: { answer: "yes" }, tokens_used: 3 });
    expect(ledger.teams[0]).toEqual({ total_executions: 1, success_rate: 1 });
  });

  it("ends a batch's runs in one statement exactly as one at a time: several of a team, repeats, a wrong team, an ended row", async () => {
    const shape = { agents: 1, executions: 0, teams: 2, teamExecutions: 4 };
    const [org, twin] = [await createLedgerOrg(rig.db, shape), await createLedgerOrg(rig.db, shape)];
    // In the order applyTeamEvents takes them; `[team, run]` index into the org's teams and their runs.
    const script: Array<{ at: [number, number]; team?: number; status: TeamEnding["status"]; durationMs: number | null }> = [
      { at: [0, 0], status: "COMPLETED", durationMs: 40 },
      { at: [0, 1], status: "FAILED", durationMs: null },
      { at: [0, 0], status: "FAILED", durationMs: 7 }, // a repeat: the row has ended
      { at: [0, 2], team: 1, status: "COMPLETED", durationMs: 5 }, // names the other team: no row
      { at: [0, 2], status: "CANCELLED", durationMs: 9 },
      { at: [1, 0], status: "COMPLETED", durationMs: 12 },
      { at: [1, 1], status: "COMPLETED", durationMs: 13 },
      { at: [0, 3], status: "COMPLETED", durationMs: 3 }, // ended before the batch (below)
    ];
    const endingsOf = (o: LedgerOrg): TeamEnding[] =>
      script.map(({ at: [t, r], team, status, durationMs }, i) => ({
        orgId: o.orgId,
        teamId: o.teamIds[team ?? t]!,
        executionId: o.teamExecutionIds[t]![r]!,
        status,
        ...(status === "COMPLETED" ? { answer: `answer ${i}` } : { error: { code: status === "FAILED" ? "TIMEOUT" : "CANCELLED", message: `ending ${i}`, retryable: false } }),
        participation: [{ agentId: "00000000-0000-4000-8000-000000000001", calls: i + 1, failures: 0, tokens: { promptTokens: i, completionTokens: 2 * i }, costMicroUsd: 10 * i }],
        usage: { promptTokens: i, completionTokens: 2 * i },
        costMicroUsd: 10 * i,
        completedAt: new Date(Date.UTC(2026, 10, 26, 4, 0, i)).toISOString(),
        durationMs,
      }));
    const endedBefore = (o: LedgerOrg) => ({ ...endingsOf(o)[7]!, status: "FAILED" as const, completedAt: new Date(Date.UTC(2026, 10, 26, 3)).toISOString() });

    const batched = await rig.db.asSystem(org.orgId, async (em) => {
      await endTeamExecution(em, endedBefore(org));
      return endTeamExecutions(em, org.orgId, endingsOf(org));
    });
    const oneByOne = await rig.db.asSystem(twin.orgId, async (em) => {
      await endTeamExecution(em, endedBefore(twin));
      const ended: boolean[] = [];
      for (const ending of endingsOf(twin)) ended.push(await endTeamExecution(em, ending));
      return ended;
    });
    expect(batched).toEqual([true, true, false, false, true, true, true, false]);
    expect(batched).toEqual(oneByOne);
    const [mine, theirs] = [await readLedger(rig.db, org), await readLedger(rig.db, twin)];
    expect(mine.teamExecutions).toEqual(theirs.teamExecutions);
    // Team totals: equal up to float rounding (a mean folded at once or one run at a time).
    expect(mine.teams.map((team) => team?.total_executions)).toEqual(theirs.teams.map((team) => team?.total_executions));
    mine.teams.forEach((team, t) => expect(Number(team?.success_rate)).toBeCloseTo(Number(theirs.teams[t]?.success_rate), 12));
    expect(mine.teams.map((team) => team?.total_executions)).toEqual([4, 2]);
  });

  it("skips a malformed message whole and an entry the database refuses without failing their batch-mates", { timeout: 60_000 }, async () => {
    const shape = { agents: 1, executions: 0, teams: 3, teamExecutions: 4 };
    const [org, twin] = [await createLedgerOrg(rig.db, shape), await createLedgerOrg(rig.db, shape)];
    const script = teamScript(77, { teams: shape.teams, executions: shape.teamExecutions, agentId: org.agentIds[0]! });
    // A NUL character: valid JSON, but Postgres's jsonb refuses it.
    const refusedAt = script.findIndex((entry) => entry.event.type === "team.contribution" && entry.seq === 2);
    const playing = script.map((entry, i) =>
      i === refusedAt && entry.event.type === "team.contribution" ? { ...entry, event: { ...entry.event, text: "bad\u0000byte" } } : entry,
    );
    const events = playing.map((entry) => teamEventOf(org, entry));
    const messages = teamMessagesOf(events);

    const { subscriber, relayed } = subscribe();
    for (const [i, message] of messages.entries()) {
      if (i === 5) {
        const [first] = message.entries;
        // Not JSON; a gap in the seqs; no entries; another execution's entries on this subject.
        rig.nc.publish(subjectOf(message), "{ not json");
        rig.nc.publish(subjectOf(message), JSON.stringify({ ...message, entries: [first, { ...first!, seq: first!.seq + 2 }] }));
        rig.nc.publish(subjectOf(message), JSON.stringify({ ...message, entries: [] }));
        rig.nc.publish(subjectOf(message), JSON.stringify({ ...message, executionId: org.teamExecutionIds.flat().find((id) => id !== message.executionId) }));
      }
      rig.nc.publish(subjectOf(message), JSON.stringify(message));
    }
    await rig.nc.flush();
    await subscriber.stop();

    await oneByOne(playing.map((entry) => teamEventOf(twin, entry)));
    expect(await readLedger(rig.db, org)).toEqual(await readLedger(rig.db, twin));
    expect(relayed).toEqual(events.filter((_, i) => i !== refusedAt));
  });
});
