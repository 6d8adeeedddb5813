import { randomUUID } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { StatusSubscriber } from "../../control-plane/bus/status-subscriber.js";
import type { BatchingOptions } from "../../control-plane/bus/org-batch-writer.js";
import { ControlPlaneMetrics } from "../../control-plane/http/metrics.js";
import { Database } from "../../control-plane/persistence/database.js";
import { openOrm } from "../../control-plane/persistence/orm.js";
import type { AgentStatusChanged } from "../../runtime/protocol/index.js";
import { createLedgerOrg, interleave, type LedgerOrg, readLedger, seeded, statusEventOf, statusScript, statusSubject } from "../../test/support/ingest.js";
import { ensureNatsServer, startNats, startPostgres } from "../../test/support/services.js";
import { writeResult } from "../runtime/report.js";
import { percentile, round } from "../runtime/stats.js";
import { SequentialStatusSubscriber } from "./sequential-status-subscriber.js";

/**
 * How fast the control plane stores `agent.status.changed` events: the status subscriber as it was
 * (one transaction per event, bench/control-plane/sequential-status-subscriber.ts) against the
 * batching one (control-plane/bus/status-subscriber.ts) and a few of its settings, on one Postgres
 * and one nats-server started here.
 *
 * Each column gets fresh organizations (`--orgs`, `--agents` agents each, PENDING executions) and
 * a seeded script of what their workers publish (RUNNING, retries, endings, repeats, late events:
 * test/support/ingest.ts), about `--events` events in all, published in bursts of 1000 as fast as
 * NATS takes them. Stored events/s = events ÷ (first publish → last event relayed, which the
 * subscriber does after the commit). Lag = publish → relayed, per event. The columns run in turn
 * `--rounds` times (rates: the median round). Each column's rows are checked against the script:
 * every agent's total_executions equals its executions that ended.
 *
 *   npm run bench:ingest [-- --events 8000 --orgs 4 --agents 25 --rounds 1 --fsync on|off --columns before,after,...]
 *
 * Postgres runs with fsync on by default (commits wait for the disk, as in production); `--fsync
 * off` shows the CPU-bound picture. Writes bench/results/status-ingest.json.
 */
const flags = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) flags.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const number = (name: string, fallback: number) => {
  const value = Number(flags.get(name) ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
};
const options = {
  events: number("events", 8000),
  orgs: number("orgs", 4),
  agents: number("agents", 25),
  rounds: number("rounds", 1),
  fsync: (flags.get("fsync") ?? "on") === "on",
};

interface Column {
  name: string;
  what: string;
  batching?: BatchingOptions;
}
const allColumns: Column[] = [
  { name: "before", what: "one transaction per event, in arrival order (the old subscriber)" },
  { name: "after", what: "batched: up to 500 events per cycle, one transaction per org, 2 orgs at a time (defaults)", batching: {} },
  { name: "after/max-50", what: "batched, at most 50 events per cycle", batching: { maxBatch: 50 } },
  { name: "after/1-org", what: "batched, one org's transaction at a time", batching: { orgConcurrency: 1 } },
  { name: "after/4-orgs", what: "batched, 4 orgs' transactions at a time", batching: { orgConcurrency: 4 } },
];
const wanted = (flags.get("columns") ?? allColumns.map((c) => c.name).join(",")).split(",");
const columns = allColumns.filter((column) => wanted.includes(column.name));
if (columns.length !== wanted.length) throw new Error(`--columns: pick from ${allColumns.map((c) => c.name).join(", ")}`);

interface Measurement {
  column: string;
  round: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  publishSeconds: number;
  lagP50Ms: number;
  lagP99Ms: number;
  meanBatch: number | null;
  cpuSecondsPerKEvents: number;
  load1Before: number;
  load1After: number;
}

const silent = pino({ level: "silent" });
const dir = mkdtempSync(join(tmpdir(), "neuroflow-bench-ingest-"));
// mkdtemp makes it 0700; as root, Postgres runs as the `postgres` user and must reach its data dir.
chmodSync(dir, 0o755);
const say = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const pg = await startPostgres({ dataDir: join(dir, "pg"), password: "bench", unsafeFast: !options.fsync });
  const nats = await startNats({ binary: ensureNatsServer(say), dataDir: join(dir, "nats") });
  const nc = await connect({ servers: nats.url, name: "bench-ingest" });
  await (await openOrm(pg.url, silent)).close();
  const db = await Database.open({ databaseUrl: pg.url, authSecret: `bench-${randomUUID()}` }, silent);
  const measurements: Measurement[] = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const column of columns) {
        const measured = await measure(column, round, { nc, db });
        measurements.push(measured);
        say(`${column.name} round ${round}: ${round2(measured.eventsPerSecond)} events/s (${measured.events} events in ${round2(measured.seconds)} s)`);
      }
    }
  } finally {
    await nc.close();
    await db.close();
    await nats.stop();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const summary = columns.map((column) => {
    const mine = measurements.filter((m) => m.column === column.name).sort((a, b) => a.eventsPerSecond - b.eventsPerSecond);
    const median = mine[Math.floor(mine.length / 2)]!;
    return { ...median, what: column.what };
  });
  const before = summary.find((row) => row.column === "before")?.eventsPerSecond;
  console.table(
    summary.map((row) => ({
      column: row.column,
      events: row.events,
      "stored events/s": round(row.eventsPerSecond, 0),
      "× before": before ? `${(row.eventsPerSecond / before).toFixed(1)}×` : "",
      "lag p50 (ms)": round(row.lagP50Ms, 0),
      "lag p99 (ms)": round(row.lagP99Ms, 0),
      "mean batch": row.meanBatch === null ? "" : round(row.meanBatch, 1),
      "cpu s / 1k events": round(row.cpuSecondsPerKEvents, 3),
      "load1 before→after": `${row.load1Before.toFixed(2)}→${row.load1After.toFixed(2)}`,
    })),
  );
  const path = writeResult("status-ingest", {
    at: new Date().toISOString(),
    machine: { cores: availableParallelism(), loadavg: loadavg() },
    options,
    note: "stored events/s: events ÷ (first publish → last event relayed after its commit); cpu: this process (subscriber + publisher), not Postgres",
    summary,
    measurements,
  });
  say(`wrote ${path}`);
}

async function measure(column: Column, round: number, deps: { nc: NatsConnection; db: Database }): Promise<Measurement> {
  const executions = Math.max(1, Math.ceil(options.events / options.orgs / options.agents / 2.4));
  const orgs: LedgerOrg[] = [];
  for (let k = 0; k < options.orgs; k++) orgs.push(await createLedgerOrg(deps.db, { agents: options.agents, executions }));
  const random = seeded(1000 * round + columns.indexOf(column));
  const scripts = orgs.map((_, k) => statusScript(Math.floor(random() * 1e9) + k, { agents: options.agents, executions }));
  const events = interleave(
    scripts.map((script, k) => script.map((scripted) => statusEventOf(orgs[k]!, scripted))),
    random,
  );

  const publishedAt = new Map<string, number[]>(orgs.map((org) => [org.orgId, []]));
  const relayedCount = new Map<string, number>(orgs.map((org) => [org.orgId, 0]));
  const lags: number[] = [];
  let relayed = 0;
  let allRelayed!: () => void;
  const done = new Promise<void>((resolve) => (allRelayed = resolve));
  const relay = (event: AgentStatusChanged) => {
    // Per org, the n-th event relayed is the n-th published (order is kept within an org).
    const n = relayedCount.get(event.orgId) ?? 0;
    relayedCount.set(event.orgId, n + 1);
    lags.push(performance.now() - (publishedAt.get(event.orgId)?.[n] ?? Number.NaN));
    relayed += 1;
    if (relayed === events.length) allRelayed();
  };
  const metrics = new ControlPlaneMetrics({ wsClients: () => 0 });
  const subscriber = column.batching
    ? new StatusSubscriber({ nc: deps.nc, db: deps.db, logger: silent, metrics, relay, batching: column.batching })
    : new SequentialStatusSubscriber({ nc: deps.nc, db: deps.db, relay });
  await deps.nc.flush();

  const load1Before = loadavg()[0]!;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < events.length; i += 1000) {
    for (const event of events.slice(i, i + 1000)) {
      publishedAt.get(event.orgId)!.push(performance.now());
      deps.nc.publish(statusSubject(event), JSON.stringify(event));
    }
    await deps.nc.flush();
  }
  const publishSeconds = (performance.now() - started) / 1000;
  await done;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const load1After = loadavg()[0]!;
  await subscriber.stop();

  for (const org of orgs) {
    const ledger = await readLedger(deps.db, org);
    ledger.agents.forEach((agent, i) => {
      const ended = ledger.executions[i]!.filter((row) => row && ["COMPLETED", "FAILED", "CANCELLED"].includes(String(row.status))).length;
      if (agent?.total_executions !== ended) throw new Error(`${column.name}: agent ${i} of org ${org.orgId} counts ${String(agent?.total_executions)} endings, ${ended} rows ended`);
    });
  }
  const batches = (await metrics.ingestBatchSize.get()).values;
  const sum = batches.find((v) => v.metricName === "neuroflow_ingest_batch_size_sum")?.value ?? 0;
  const count = batches.find((v) => v.metricName === "neuroflow_ingest_batch_size_count")?.value ?? 0;
  lags.sort((a, b) => a - b);
  return {
    column: column.name,
    round,
    events: events.length,
    seconds,
    eventsPerSecond: events.length / seconds,
    publishSeconds,
    lagP50Ms: percentile(lags, 50),
    lagP99Ms: percentile(lags, 99),
    meanBatch: count > 0 ? sum / count : null,
    cpuSecondsPerKEvents: ((cpu.user + cpu.system) / 1e6 / events.length) * 1000,
    load1Before,
    load1After,
  };
}

const round2 = (value: number) => round(value, 2);

await main();
