import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { connectOptionsFor, createTenancy, mintServiceCreds } from "../../common/nats-tenancy.js";
import { startSecuredNats } from "../../test/support/nats-auth.js";
import { ensureNatsServer, stopChild } from "../../test/support/services.js";
import { measureLangGraph } from "./langgraph-baseline.js";
import { measureBareNats } from "./nats-baseline.js";
import { startRuntimeWorker } from "../../test/support/runtime-worker.js";
import { startPersistedRuntime } from "./persisted-column.js";
import { cpuMeter } from "./process-cpu.js";
import { measureRuntime } from "./runtime-column.js";
import type { RoundStats } from "./common.js";
import type { CpuTargets } from "./process-cpu.js";
import { COLUMN_NAMES, reportTeamVote, type TeamVoteColumn } from "./table.js";

/**
 * The team-vote benchmark, every column in one run on one machine: LangGraph.js in process, bare
 * NATS request/reply against a real nats-server in operator mode (JWT auth, service credentials, as
 * production runs it), and the NeuroFlow runtime — a runtime worker process hosting the 7 agent
 * actors and the team actor — twice: `runtime/no-persistence` sends each round's team.run straight
 * to the pool (runtime-column.ts); `runtime`, the issue's column, starts each round through the
 * control plane's TeamRunner and counts it once the control plane's TeamEventSubscriber has stored
 * its ballots in Postgres (persisted-column.ts; this process plays the control plane). Each runtime
 * column gets a fresh worker, and CPU per round of each process involved. Prints the tables and
 * writes bench/results/team-vote.json.
 *
 *   npm run bench:teams -- [--seconds 5 --warmup 3 --in-flight 64 --voters both --checkpointer yes --postgres durable]
 *
 * Every column first runs at its measuring load for the warm-up (default 3 s) and discards it: a
 * fresh runtime worker takes a few seconds after its agents' first tasks before its CPU per round
 * settles (with a 1 s warm-up the first seconds of the window cost it up to twice as much per round).
 *
 * `--voters`: where the 7 bare-NATS responders run. `same-process` (column `bare-nats`): in this
 * process, on a second connection. `helper-process` (column `bare-nats/helper`): in a child process
 * (nats-voters.ts), so answering and requesting+tallying use different cores. `both` (default).
 * `--checkpointer yes` adds the graph compiled with LangGraph's MemorySaver (`langgraph+memory-saver`).
 * `--postgres durable|fast`: Postgres as deployed (fsync on, the default) or as the test suite runs
 * it (fsync off, asynchronous commit).
 */
const flags = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) flags.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const seconds = Number(flags.get("seconds") ?? 5);
const warmupSeconds = Number(flags.get("warmup") ?? 3);
const inFlight = Number(flags.get("in-flight") ?? 64);
const voters = flags.get("voters") ?? "both";
const withCheckpointer = flags.get("checkpointer") === "yes";
const postgresMode = flags.get("postgres") ?? "durable";
if (postgresMode !== "durable" && postgresMode !== "fast") throw new Error(`--postgres: durable or fast, not ${postgresMode}`);
if (!["same-process", "helper-process", "both"].includes(voters)) throw new Error(`--voters: same-process, helper-process or both, not ${voters}`);
const measure = { seconds, warmupSeconds, inFlight };
const loadAtStart = loadavg().map((load) => +load.toFixed(2));
const helperColumn = COLUMN_NAMES.bareNatsHelper;

const columns: TeamVoteColumn[] = [];
const say = (line: string) => console.error(line);

say(`measuring ${COLUMN_NAMES.langgraph} …`);
columns.push({ name: COLUMN_NAMES.langgraph, ...(await measureLangGraph(measure)) });
if (withCheckpointer) {
  say("measuring langgraph+memory-saver …");
  columns.push({ name: "langgraph+memory-saver", ...(await measureLangGraph({ ...measure, checkpointer: true })) });
}

/** Starts nats-voters.ts as a child process and resolves once it is subscribed. */
async function startVoterProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./nats-voters.ts", import.meta.url))], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("nats-voters did not get ready in 30 s")), 30_000);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      if (chunk.includes("ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-voters exited with ${code}`));
    });
  }).catch(async (error: unknown) => {
    await stopChild(child, 2_000);
    throw error;
  });
  child.stdout.resume();
  return { stop: () => stopChild(child, 5_000) };
}

const dir = mkdtempSync(join(tmpdir(), "neuroflow-bench-team-vote-"));
const tenancy = await createTenancy();
const nats = await startSecuredNats({ binary: ensureNatsServer(say), dataDir: join(dir, "nats"), secrets: tenancy });
const connections: NatsConnection[] = [];
const stops: Array<() => Promise<unknown>> = [];
try {
  const serviceConnection = async (name: string) => {
    const creds = await mintServiceCreds(tenancy, name, { ttlSeconds: 3600 });
    const nc = await connect({ servers: nats.url, name, ...connectOptionsFor(creds) });
    connections.push(nc);
    return nc;
  };
  const requester = await serviceConnection("bench-team");
  if (voters !== "helper-process") {
    const responders = await serviceConnection("bench-voters");
    say(`measuring ${COLUMN_NAMES.bareNats} …`);
    columns.push({ name: COLUMN_NAMES.bareNats, ...(await measureBareNats(requester, { ...measure, responders })) });
  }
  if (voters !== "same-process") {
    const credsFile = join(dir, "voters.creds");
    writeFileSync(credsFile, (await mintServiceCreds(tenancy, "bench-voters", { ttlSeconds: 3600 })).creds, { mode: 0o600 });
    const orgId = randomUUID();
    const helper = await startVoterProcess({ NATS_URL: nats.url, NATS_CREDS_FILE: credsFile, VOTE_ORG_ID: orgId });
    stops.push(helper.stop);
    say(`measuring ${helperColumn} …`);
    columns.push({ name: helperColumn, ...(await measureBareNats(requester, { ...measure, responders: "external", orgId })) });
  }
  const workerCreds = join(dir, "worker.creds");
  writeFileSync(workerCreds, (await mintServiceCreds(tenancy, "bench-worker", { ttlSeconds: 3600 })).creds, { mode: 0o600 });
  /** One runtime column on a fresh worker, with CPU per round of the worker, nats-server and this process (+ `more`). */
  const runtimeColumn = async (name: string, run: (options: typeof measure & { onWindow: (edge: "start" | "end") => Promise<void> }) => Promise<RoundStats>, more: CpuTargets = {}) => {
    const worker = await startRuntimeWorker({ natsUrl: nats.url, workerId: `bench-${name.replace(/\W+/g, "-")}`, env: { NATS_CREDS: workerCreds, SIMULATED_LATENCY_MS: "0" } });
    try {
      const meter = cpuMeter(() => ({ worker: { pid: worker.process.pid }, "nats-server": { pid: nats.process.pid }, bench: { pid: process.pid }, ...more }));
      say(`measuring ${name} …`);
      const stats = await run({ ...measure, onWindow: meter.onWindow });
      columns.push({ name, ...stats, cpuUsPerRound: meter.perRound(stats.rounds) });
    } finally {
      await worker.stop();
    }
  };
  await runtimeColumn(COLUMN_NAMES.runtimeNoPersistence, (options) => measureRuntime(requester, randomUUID(), options));
  say(`starting Postgres (${postgresMode}) and the control plane's TeamRunner and TeamEventSubscriber …`);
  const persisted = await startPersistedRuntime(await serviceConnection("bench-control-plane"), postgresMode);
  try {
    await runtimeColumn(COLUMN_NAMES.runtime, async (options) => {
      const { stored: _stored, ...stats } = await persisted.measure(options);
      return stats;
    }, { postgres: { pid: persisted.postgresPid, tree: true } });
  } finally {
    await persisted.stop();
  }
} finally {
  for (const stop of stops) await stop();
  for (const nc of connections) await nc.close();
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
}

reportTeamVote(columns, {
  ...measure,
  loadAverageAtStart: loadAtStart,
  notes: [
    "langgraph: @langchain/langgraph 1.7.3 + @langchain/core 1.4.0, in process, compiled once, no checkpointer unless named",
    `${COLUMN_NAMES.bareNats}: nats-server in operator mode, service creds; 7 responders on one connection, the requester on another, both in this process`,
    `${helperColumn}: the same, with the 7 responders in a child process (bench/team-vote/nats-voters.ts)`,
    `${COLUMN_NAMES.runtimeNoPersistence}: one runtime worker process (agent actors + team actor, simulated model at 0 latency), one team.run request per round straight to the pool; the team events are published and not stored`,
    `${COLUMN_NAMES.runtime}: the same worker setup; each round started by the control plane's TeamRunner (execution row in Postgres ${postgresMode === "durable" ? "with fsync on" : "with fsync off, asynchronous commit"}) and counted once its TeamEventSubscriber has committed the final log entry with the 7 ballots; every counted row read back COMPLETED with 7 ballots; agent status events not stored`,
    "cpuUsPerRound: CPU µs per round in the measured window, from /proc; bench is this process (in the runtime column it is the control plane, TeamRunner + TeamEventSubscriber); postgres counts the postmaster and its backends",
  ],
});
