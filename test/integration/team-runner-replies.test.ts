import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TeamEventSubscriber } from "../../control-plane/bus/team-event-subscriber.js";
import { TeamRunner } from "../../control-plane/dispatch/team-runner.js";
import { ControlPlaneMetrics } from "../../control-plane/http/metrics.js";
import { createLedgerOrg, startIngestRig, type IngestRig, type LedgerOrg } from "../support/ingest.js";
import { startRuntimeWorker, type RuntimeWorker } from "../support/runtime-worker.js";
import { balancedPlacement, storedLogSchema } from "../support/team-runs.js";

const RUNS = 48;
const WORKER_ID = "replies-a";

/**
 * The TeamRunner's replies recorded in batches (OrgBatchWriter + recordTeamReplies), end to end: a
 * real runtime worker runs many DEMOCRATIC votes at once on a nats-server of this file's own, and a
 * TeamEventSubscriber stores their logs meanwhile, so replies race the logs' final entries. stop()
 * must not resolve before every reply is recorded.
 */
describe("TeamRunner records replies in batches", () => {
  let rig: IngestRig;
  let worker: RuntimeWorker;
  let org: LedgerOrg;

  beforeAll(async () => {
    rig = await startIngestRig({ databaseUrl: inject("databaseUrl"), authSecret: inject("authSecret"), logger: pino({ level: "silent" }) });
    worker = await startRuntimeWorker({ natsUrl: rig.natsUrl, workerId: WORKER_ID, env: { SIMULATED_LATENCY_MS: "5" } });
    await balancedPlacement(rig.nc, [WORKER_ID]);
    org = await createLedgerOrg(rig.db, { agents: 3, executions: 0 });
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await rig?.stop();
  });

  it(`ends ${RUNS} concurrent runs COMPLETED with results and whole logs, counting each once, before stop() resolves`, { timeout: 120_000 }, async () => {
    const teamId = randomUUID();
    await rig.db.asSystem(org.orgId, async (em) => {
      await em.execute(
        `insert into neuroflow_agent_teams (id, organization_id, name, structure, coordination, created_at, updated_at)
         values (?, ?, 'voters', 'DEMOCRATIC', ?::jsonb, now(), now())`,
        [teamId, org.orgId, JSON.stringify({ rule: { kind: "majority" } })],
      );
      for (const [i, agentId] of org.agentIds.entries()) {
        await em.execute(
          `insert into neuroflow_team_members (id, organization_id, team_id, agent_id, role, priority, created_at, updated_at)
           values (?, ?, ?, ?, 'WORKER', ?, now(), now())`,
          [randomUUID(), org.orgId, teamId, agentId, i],
        );
      }
    });
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    const metrics = new ControlPlaneMetrics({ wsClients: () => 0 });
    const events = new TeamEventSubscriber({ nc: rig.nc, db: rig.db, logger, relay: () => undefined });
    const runner = new TeamRunner({ nc: rig.nc, db: rig.db, logger, metrics, runTimeoutMs: 60_000 });
    await rig.nc.flush();

    const body = { prompt: "Which colour?", answerKey: { options: ["red", "green", "blue"], correct: "green" } };
    const started = await Promise.all(
      Array.from({ length: RUNS }, () => runner.start((work) => rig.db.asSystem(org.orgId, work), { orgId: org.orgId, teamId }, body)),
    );
    // Resolves once every reply is in and recorded: nothing below polls. Each is logged once its
    // batch committed, with whether it ended its row — all of them by now, read before any other await.
    await runner.stop();
    const ended = lines.map((line) => JSON.parse(line) as { msg: string; executionId?: string; changed?: unknown }).filter((line) => line.msg === "team execution ended");
    expect(ended.map((line) => line.executionId).sort()).toEqual(started.map((execution) => execution.id).sort());
    for (const line of ended) expect(typeof line.changed).toBe("boolean");
    await events.stop();

    const rows = await rig.db.asSystem(org.orgId, (em) =>
      em.execute<Array<{ id: string; status: string; output: unknown; results: unknown[]; log: unknown; tokens_used: number; duration: number | null }>>(
        `select id, status, output, results, log, tokens_used, duration from neuroflow_team_executions where team_id = ?`,
        [teamId],
      ),
    );
    expect(rows.map((row) => row.id).sort()).toEqual(started.map((execution) => execution.id).sort());
    for (const row of rows) {
      expect(row, row.id).toMatchObject({ status: "COMPLETED", output: { answer: "green" }, duration: expect.any(Number) });
      expect(row.results.length, row.id).toBeGreaterThan(0);
      expect(row.tokens_used, row.id).toBeGreaterThan(0);
      const log = storedLogSchema.parse(row.log);
      expect(log.map((entry) => entry.seq), row.id).toEqual(log.map((_, i) => i + 1));
      expect(log[0]?.event.type, row.id).toBe("team.started");
      expect(log.at(-1)?.event.type, row.id).toBe("team.completed");
    }
    const [team] = await rig.db.asSystem(org.orgId, (em) =>
      em.execute<Array<{ total_executions: number; success_rate: number }>>(`select total_executions, success_rate from neuroflow_agent_teams where id = ?`, [teamId]),
    );
    expect(team).toEqual({ total_executions: RUNS, success_rate: 1 });

    // Every reply went through the writer.
    const sizes = await metrics.ingestBatchSize.get();
    const sum = sizes.values.find((value) => value.metricName === "neuroflow_ingest_batch_size_sum" && value.labels["stream"] === "team-reply");
    expect(sum?.value).toBe(RUNS);
  });
});
