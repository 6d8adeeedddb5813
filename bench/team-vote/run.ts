import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { connectOptionsFor, createTenancy, mintServiceCreds } from "../../common/nats-tenancy.js";
import { startSecuredNats } from "../../test/support/nats-auth.js";
import { ensureNatsServer, stopChild } from "../../test/support/services.js";
import { measureLangGraph } from "./langgraph-baseline.js";
import { measureBareNats } from "./nats-baseline.js";
import { startRuntimeWorker } from "../../test/support/runtime-worker.js";
import { measureRuntime } from "./runtime-column.js";
import { COLUMN_NAMES, reportTeamVote, type TeamVoteColumn } from "./table.js";

/**
 * The team-vote benchmark, every column in one run on one machine: LangGraph.js in process, bare
 * NATS request/reply against a real nats-server in operator mode (JWT auth, service credentials, as
 * production runs it), and the NeuroFlow runtime (a runtime worker process hosting the 7 agent
 * actors and the team actor; bench/team-vote/runtime-column.ts). Prints the table and writes
 * bench/results/team-vote.json.
 *
 *   npm run bench:teams -- [--seconds 5 --warmup 1 --in-flight 64 --voters both --checkpointer yes]
 *
 * `--voters`: where the 7 bare-NATS responders run. `same-process` (column `bare-nats`): in this
 * process, on a second connection. `helper-process` (column `bare-nats/helper`): in a child process
 * (nats-voters.ts), so answering and requesting+tallying use different cores. `both` (default).
 * `--checkpointer yes` adds the graph compiled with LangGraph's MemorySaver (`langgraph+memory-saver`).
 */
const flags = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) flags.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const seconds = Number(flags.get("seconds") ?? 5);
const warmupSeconds = Number(flags.get("warmup") ?? 1);
const inFlight = Number(flags.get("in-flight") ?? 64);
const voters = flags.get("voters") ?? "both";
const withCheckpointer = flags.get("checkpointer") === "yes";
if (!["same-process", "helper-process", "both"].includes(voters)) throw new Error(`--voters: same-process, helper-process or both, not ${voters}`);
const measure = { seconds, warmupSeconds, inFlight };
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
  const worker = await startRuntimeWorker({
    natsUrl: nats.url,
    workerId: "bench-team-worker",
    env: { NATS_CREDS: workerCreds, SIMULATED_LATENCY_MS: "0" },
  });
  stops.push(() => worker.stop());
  say(`measuring ${COLUMN_NAMES.runtime} …`);
  columns.push({ name: COLUMN_NAMES.runtime, ...(await measureRuntime(requester, randomUUID(), measure)) });
} finally {
  for (const stop of stops) await stop();
  for (const nc of connections) await nc.close();
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
}

reportTeamVote(columns, {
  ...measure,
  notes: [
    "langgraph: @langchain/langgraph 1.7.3 + @langchain/core 1.4.0, in process, compiled once, no checkpointer unless named",
    `${COLUMN_NAMES.bareNats}: nats-server in operator mode, service creds; 7 responders on one connection, the requester on another, both in this process`,
    `${helperColumn}: the same, with the 7 responders in a child process (bench/team-vote/nats-voters.ts)`,
    "runtime: one runtime worker process (agent actors + team actor), team.run per round over NATS; the control plane's persistence of the events is not in this column",
  ],
});
