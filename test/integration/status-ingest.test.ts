import { MikroORM } from "@mikro-orm/postgresql";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { StatusSubscriber } from "../../control-plane/bus/status-subscriber.js";
import { ControlPlaneMetrics } from "../../control-plane/http/metrics.js";
import { applyStatusEvents } from "../../control-plane/persistence/execution-batch-ledger.js";
import { applyStatusEvent } from "../../control-plane/persistence/execution-ledger.js";
import { ormConfig } from "../../control-plane/persistence/mikro-orm.config.js";
import type { AgentStatusChanged } from "../../runtime/protocol/index.js";
import { eventually, testLogger } from "../support/harness.js";
import {
  createLedgerOrg,
  interleave,
  missingExecutionId,
  readLedger,
  seeded,
  startIngestRig,
  statusEventOf,
  statusScript,
  statusSubject,
  type IngestRig,
  type LedgerOrg,
} from "../support/ingest.js";

/**
 * The status subscriber writes in batches (OrgBatchWriter + applyStatusEvents). Every test plays
 * one script into two organizations — one through the subscriber under test, on a nats-server of
 * its own, one through the old path (applyStatusEvent, one transaction per event, in the same
 * order) — and compares every column the ledger writes, floats to the bit.
 */
describe("status events stored in batches", () => {
  let rig: IngestRig;

  beforeAll(async () => {
    rig = await startIngestRig({ databaseUrl: inject("databaseUrl"), authSecret: inject("authSecret"), logger: testLogger });
  });

  afterAll(async () => {
    await rig?.stop();
  });

  function subscribe(batching: ConstructorParameters<typeof StatusSubscriber>[0]["batching"] = {}) {
    const metrics = new ControlPlaneMetrics({ wsClients: () => 0 });
    const relayed: AgentStatusChanged[] = [];
    const checks: Array<Promise<string | undefined>> = [];
    const subscriber = new StatusSubscriber({
      nc: rig.nc,
      db: rig.db,
      logger: testLogger,
      metrics,
      batching,
      relay: (event) => {
        relayed.push(event);
        // Relayed only once stored: a read started now sees the row at least where the event put it.
        const execution = event.execution;
        if (execution && execution.status !== "RUNNING" && execution.executionId !== missingExecutionId && checks.length < 60) {
          checks.push(
            rig.db.asSystem(event.orgId, async (em) => {
              const [row] = await em.execute<Array<{ status: string }>>("select status from neuroflow_agent_executions where id = ?", [execution.executionId]);
              return row?.status;
            }),
          );
        }
      },
    });
    return { subscriber, metrics, relayed, checks };
  }

  async function publish(events: readonly AgentStatusChanged[], burst = 400): Promise<void> {
    for (let i = 0; i < events.length; i += burst) {
      for (const event of events.slice(i, i + burst)) rig.nc.publish(statusSubject(event), JSON.stringify(event));
      await rig.nc.flush();
    }
  }

  /** The old path: one transaction per event, in order; an event the database refuses is skipped. */
  async function oneByOne(events: readonly AgentStatusChanged[]): Promise<void> {
    for (const event of events) await rig.db.asSystem(event.orgId, (em) => applyStatusEvent(em, event)).catch(() => undefined);
  }

  async function metric(metrics: ControlPlaneMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
    const found = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
    return (found?.values ?? [])
      .filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted))
      .reduce((sum, value) => sum + value.value, 0);
  }

  it("applies thousands of events for many agents, published in bursts, exactly as one at a time; stop() drains them", { timeout: 240_000 }, async () => {
    const shape = { agents: 25, executions: 18 };
    const pairs: Array<{ batched: LedgerOrg; twin: LedgerOrg; seed: number }> = [];
    for (const seed of [11, 12, 13]) pairs.push({ batched: await createLedgerOrg(rig.db, shape), twin: await createLedgerOrg(rig.db, shape), seed });
    const scripts = pairs.map(({ seed }) => statusScript(seed, shape));
    // The three orgs' streams interleaved, each in its own order, as three workers would publish them.
    const published = interleave(
      scripts.map((script, k) => script.map((scripted) => statusEventOf(pairs[k]!.batched, scripted))),
      seeded(99),
    );
    expect(published.length).toBeGreaterThan(3000);

    const { subscriber, metrics, relayed, checks } = subscribe();
    await publish(published);
    await subscriber.stop();

    for (const [k, { batched, twin }] of pairs.entries()) {
      await oneByOne(scripts[k]!.map((scripted) => statusEventOf(twin, scripted)));
      const [mine, theirs] = [await readLedger(rig.db, batched), await readLedger(rig.db, twin)];
      expect(mine).toEqual(theirs);
      // Each ending counted once: an agent's count is its executions that ended.
      mine.agents.forEach((agent, i) => {
        const ended = mine.executions[i]!.filter((row) => row && ["COMPLETED", "FAILED", "CANCELLED"].includes(String(row.status))).length;
        expect(agent?.total_executions).toBe(ended);
      });
      // Relayed after storing, each org's events in publishing order.
      expect(relayed.filter((event) => event.orgId === batched.orgId)).toEqual(published.filter((event) => event.orgId === batched.orgId));
    }
    expect(relayed).toHaveLength(published.length);
    for (const status of await Promise.all(checks)) expect(["COMPLETED", "FAILED", "CANCELLED"]).toContain(status);
    expect(await metric(metrics, "neuroflow_status_events_total", { outcome: "rejected" })).toBe(0);
    expect(await metric(metrics, "neuroflow_status_events_total")).toBe(published.length);
    // Batches did form: fewer write cycles than events.
    const cycles = (await metrics.ingestBatchSize.get()).values.find((v) => v.metricName === "neuroflow_ingest_batch_size_count")?.value;
    expect(cycles).toBeLessThan(published.length);
  });

  it("within one batch: only the first RUNNING and the first ending move a row; repeats, late events and other orgs' rows change nothing", async () => {
    const [org, twin, other] = [await createLedgerOrg(rig.db, { agents: 2, executions: 4 }), await createLedgerOrg(rig.db, { agents: 2, executions: 4 }), await createLedgerOrg(rig.db, { agents: 1, executions: 1 })];
    const t = (ms: number) => new Date(Date.parse("2031-01-01T00:00:00.000Z") + ms).toISOString();
    const batch = (o: LedgerOrg): AgentStatusChanged[] => {
      const ev = (agent: number, at: number, status: AgentStatusChanged["status"], execution?: AgentStatusChanged["execution"]): AgentStatusChanged => ({
        type: "agent.status.changed",
        orgId: o.orgId,
        agentId: o.agentIds[agent]!,
        status,
        workerId: "w-1",
        at: t(at),
        queued: 0,
        ...(execution ? { execution } : {}),
      });
      const e = (agent: number, index: number) => o.executionIds[agent]![index]!;
      const completed = { executionId: e(0, 0), status: "COMPLETED" as const, startedAt: t(1), completedAt: t(3), durationMs: 2000, output: "done", usage: { promptTokens: 3, completionTokens: 4 }, costMicroUsd: 7, attempt: 1 };
      return [
        ev(0, 1, "BUSY", { executionId: e(0, 0), status: "RUNNING", startedAt: t(1), provider: "simulated", model: "sim-1", attempt: 1 }),
        ev(0, 3, "IDLE", completed),
        ev(0, 4, "BUSY", { executionId: e(0, 0), status: "RUNNING", startedAt: t(1), provider: "simulated", model: "sim-1", attempt: 1 }),
        ev(0, 3, "IDLE", completed),
        ev(0, 5, "IDLE", { ...completed, status: "FAILED", error: { code: "INTERNAL", message: "late", retryable: false } }),
        ev(1, 2, "BUSY", { executionId: e(1, 0), status: "RUNNING", startedAt: t(2), provider: "simulated", model: "sim-2", attempt: 1 }),
        ev(1, 6, "BUSY", { executionId: e(1, 0), status: "RUNNING", startedAt: t(6), provider: "simulated", model: "sim-3", attempt: 2 }),
        ev(1, 6, "IDLE", { executionId: e(1, 1), status: "CANCELLED", startedAt: t(6), error: { code: "CANCELLED", message: "never started", retryable: false } }),
        // Agent 1 names agent 0's execution: not its row.
        ev(1, 7, "IDLE", { executionId: e(0, 1), status: "COMPLETED", startedAt: t(7), completedAt: t(7), durationMs: 1 }),
        // Older than what agent 0 already showed: its status stays IDLE.
        ev(0, 0, "OFFLINE"),
      ];
    };
    const mine = batch(org);
    // This org's unit of work, another org's agent and execution: row-level security and the org filter leave them alone.
    const intruder: AgentStatusChanged = { ...mine[1]!, agentId: other.agentIds[0]!, execution: { ...mine[1]!.execution!, executionId: other.executionIds[0]![0]! } };
    const before = await readLedger(rig.db, other);

    const changed = await rig.db.asSystem(org.orgId, (em) => applyStatusEvents(em, org.orgId, [...mine, intruder]));
    expect(changed).toEqual([true, true, false, false, false, true, false, true, false, false, false]);
    await oneByOne(batch(twin));
    const after = await readLedger(rig.db, org);
    expect(after).toEqual(await readLedger(rig.db, twin));
    expect(after.executions[0]![0]).toMatchObject({ status: "COMPLETED", duration: 2000, tokens_used: 7 });
    expect(after.executions[1]![0]).toMatchObject({ status: "RUNNING", model: "sim-2" });
    expect(after.executions[0]![1]).toMatchObject({ status: "PENDING" });
    expect(after.agents.map((agent) => [agent?.status, agent?.total_executions])).toEqual([["IDLE", 1], ["IDLE", 1]]);
    expect(await readLedger(rig.db, other)).toEqual(before);

    // The whole batch again (a replica, a redelivery): nothing moves.
    expect(await rig.db.asSystem(org.orgId, (em) => applyStatusEvents(em, org.orgId, mine))).toEqual(mine.map(() => false));
    expect(await readLedger(rig.db, org)).toEqual(after);
  });

  it("skips a malformed message and an event the database refuses without failing their batch-mates", { timeout: 60_000 }, async () => {
    const shape = { agents: 6, executions: 8 };
    const [org, twin] = [await createLedgerOrg(rig.db, shape), await createLedgerOrg(rig.db, shape)];
    const script = statusScript(21, shape);
    // A model name longer than the column (varchar 200): Postgres refuses that event's write.
    const refusedAt = script.findIndex((s) => s.execution?.progress.status === "COMPLETED" && s.execution.index >= 0);
    const refused = { ...script[refusedAt]!, execution: { ...script[refusedAt]!.execution!, progress: { ...script[refusedAt]!.execution!.progress, model: "m".repeat(300) } } };
    const playing = script.map((s, i) => (i === refusedAt ? refused : s));
    const events = playing.map((s) => statusEventOf(org, s));

    const { subscriber, metrics, relayed } = subscribe();
    const middle = Math.floor(events.length / 2);
    for (const [i, event] of events.entries()) {
      if (i === middle) {
        rig.nc.publish(statusSubject(event), "{ not json");
        rig.nc.publish(statusSubject({ ...event, agentId: org.agentIds[(playing[i]!.agent + 1) % shape.agents]! }), JSON.stringify(event));
      }
      rig.nc.publish(statusSubject(event), JSON.stringify(event));
    }
    await rig.nc.flush();
    await subscriber.stop();

    await oneByOne(playing.map((s) => statusEventOf(twin, s)));
    expect(await readLedger(rig.db, org)).toEqual(await readLedger(rig.db, twin));
    expect(relayed).toEqual(events.filter((_, i) => i !== refusedAt));
    expect(await metric(metrics, "neuroflow_status_events_total", { outcome: "rejected" })).toBe(3);
    expect(await metric(metrics, "neuroflow_ingest_recoveries_total", { action: "dropped" })).toBe(1);
  });

  it("retries a batch whose connection was lost: nothing lost, nothing counted twice", { timeout: 60_000 }, async () => {
    const shape = { agents: 4, executions: 6 };
    const [org, twin] = [await createLedgerOrg(rig.db, shape), await createLedgerOrg(rig.db, shape)];
    const script = statusScript(31, shape);
    const owner = await MikroORM.init(ormConfig(rig.databaseUrl, { ensureDatabase: false }));
    const { subscriber, metrics, relayed } = subscribe({ retryInitialMs: 20 });
    try {
      await owner.em.fork().transactional(async (em) => {
        const [me] = await em.execute<Array<{ pid: number }>>("select pg_backend_pid() as pid");
        // Hold agent 0 so the subscriber's transaction waits on it, then cut that transaction's connection.
        await em.execute("select id from neuroflow_ai_agents where id = ? for update", [org.agentIds[0]]);
        await publish(script.map((s) => statusEventOf(org, s)));
        const blocked = await eventually(async () => {
          // pg_stat_activity is read once per transaction unless the snapshot is cleared.
          await em.execute("select pg_stat_clear_snapshot()");
          const rows = await em.execute<Array<{ pid: number }>>("select pid from pg_stat_activity where ? = any(pg_blocking_pids(pid))", [me!.pid]);
          return rows[0]?.pid;
        });
        await em.execute("select pg_terminate_backend(?)", [blocked]);
        await eventually(async () => ((await metric(metrics, "neuroflow_ingest_recoveries_total", { action: "retry" })) > 0 ? true : undefined));
      });
    } finally {
      await owner.close();
    }
    await subscriber.stop();
    await oneByOne(script.map((s) => statusEventOf(twin, s)));
    expect(await readLedger(rig.db, org)).toEqual(await readLedger(rig.db, twin));
    expect(relayed).toHaveLength(script.length);
    expect(await metric(metrics, "neuroflow_ingest_recoveries_total", { action: "dropped" })).toBe(0);
  });

  it("with the database stuck, keeps at most maxQueued events waiting, dropping the oldest, and stores the rest once it answers", { timeout: 60_000 }, async () => {
    const shape = { agents: 3, executions: 4 };
    const org = await createLedgerOrg(rig.db, shape);
    const events = statusScript(61, shape).map((s) => statusEventOf(org, s));
    expect(events.length).toBeGreaterThan(10);
    const owner = await MikroORM.init(ormConfig(rig.databaseUrl, { ensureDatabase: false }));
    // One event per write cycle: the first is taken and waits on the held rows; the others queue up.
    const { subscriber, metrics, relayed } = subscribe({ maxBatch: 1, maxQueued: 5 });
    try {
      await owner.em.fork().transactional(async (em) => {
        await em.execute("select id from neuroflow_ai_agents where organization_id = ? for update", [org.orgId]);
        await publish(events);
        const overflow = events.length - 1 - 5;
        await eventually(async () => ((await metric(metrics, "neuroflow_ingest_recoveries_total", { action: "overflow" })) === overflow ? true : undefined));
        expect(await metric(metrics, "neuroflow_ingest_queued")).toBe(5);
        expect(await metric(metrics, "neuroflow_status_events_total", { outcome: "rejected" })).toBe(overflow);
      });
    } finally {
      await owner.close();
    }
    await subscriber.stop();
    // Stored once the rows were let go: the first event and the newest five, in order.
    expect(relayed).toEqual([events[0], ...events.slice(-5)]);
  });

  it("after stop(), gives up on a database that keeps failing instead of hanging, and counts what it drops", { timeout: 60_000 }, async () => {
    const shape = { agents: 3, executions: 4 };
    const org = await createLedgerOrg(rig.db, shape);
    const events = statusScript(51, shape).map((s) => statusEventOf(org, s));
    const before = await readLedger(rig.db, org);
    const owner = await MikroORM.init(ormConfig(rig.databaseUrl, { ensureDatabase: false }));
    const { subscriber, metrics, relayed } = subscribe({ retryInitialMs: 10, retryMaxMs: 20, giveUpAfterCloseMs: 300 });
    try {
      await owner.em.fork().transactional(async (em) => {
        const [me] = await em.execute<Array<{ pid: number }>>("select pg_backend_pid() as pid");
        // Every agent held, every transaction waiting on them cut: the database "fails" until we let go.
        await em.execute("select id from neuroflow_ai_agents where organization_id = ? for update", [org.orgId]);
        await publish(events);
        let cutting = true;
        const cutter = (async () => {
          while (cutting) {
            // pg_stat_activity is read once per transaction unless the snapshot is cleared: new connections would stay unseen.
            await em.execute("select pg_stat_clear_snapshot()");
            await em.execute("select pg_terminate_backend(pid) from pg_stat_activity where ? = any(pg_blocking_pids(pid))", [me!.pid]);
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        })();
        await eventually(async () => ((await metric(metrics, "neuroflow_ingest_recoveries_total", { action: "retry" })) > 0 ? true : undefined));
        await subscriber.stop();
        cutting = false;
        await cutter;
      });
    } finally {
      await owner.close();
    }
    expect(relayed).toHaveLength(0);
    expect(await metric(metrics, "neuroflow_ingest_recoveries_total", { action: "dropped" })).toBe(events.length);
    expect(await metric(metrics, "neuroflow_status_events_total", { outcome: "rejected" })).toBe(events.length);
    expect(await readLedger(rig.db, org)).toEqual(before);
  });
});
