import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stopChild } from "../../test/support/services.js";
import { startBenchBus, startWorker, type BenchBus } from "../runtime/bus.js";
import { summarizeProfile } from "../runtime/profile-summary.js";
import { startPersistedRuntime, type PostgresMode, type RunStart } from "./persisted-column.js";
import { cpuMeter, type CpuTargets } from "./process-cpu.js";
import { measureRuntime } from "./runtime-column.js";

/**
 * The runtime column alone, for working on it without running every column: rounds/s and latency
 * as `npm run bench:teams` measures them, plus the CPU each process spent per round in the
 * measured window (worker, nats-server, this process; from /proc), and with `--profile yes` the
 * worker under `--cpu-prof` and where its time went in that window (the profiler slows it).
 *
 *   tsx bench/team-vote/runtime-probe.ts [--seconds 5 --warmup 1 --in-flight 64 --profile yes --focus 'a|b' --profile-dir DIR]
 *
 * `--profile-dir` keeps the worker's .cpuprofile files there (default: a temp dir, removed).
 *
 * `--members stub`: instead of a runtime worker, a process running only a TeamHost and one whose
 * stub members answer every agent call at once (team-side-child.ts) — the team side of a round
 * (team host, team machine, member calls, event publishing, the reply) without the agents' cost.
 * The profile is then the team host's.
 *
 * `--persist durable|fast`: the rounds go through the control plane's TeamRunner and are stored by
 * its TeamEventSubscriber in Postgres (persisted-column.ts); this process plays the control plane.
 * `--starts insert` starts them with one INSERT each instead of the TeamRunner (see RunStart).
 * `--what-if semi-space-64` runs the team host (or worker) with `--max-semi-space-size=64`.
 */
const flags = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) flags.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const seconds = Number(flags.get("seconds") ?? 5);
const warmupSeconds = Number(flags.get("warmup") ?? 1);
const inFlight = Number(flags.get("in-flight") ?? 64);
const profile = flags.get("profile") === "yes";
const stubMembers = flags.get("members") === "stub";
const whatIf = new Set((flags.get("what-if") ?? "").split(",").filter(Boolean));
/** `--what-if semi-space-64`: the team host (or worker) with `--max-semi-space-size=64` (MB): fewer, cheaper young-generation GCs. */
const nodeFlags = whatIf.has("semi-space-64") ? ["--max-semi-space-size=64"] : [];
const persist = flags.get("persist");
if (persist !== undefined && persist !== "durable" && persist !== "fast") throw new Error(`--persist: durable or fast, not ${persist}`);
/** `--focus a,b`: function-name patterns whose inclusive time the profile summary reports. */
const focus = (flags.get("focus") ?? "").split(",").filter(Boolean).map((pattern) => new RegExp(pattern));
const say = (line: string) => console.error(line);

const dir = mkdtempSync(join(tmpdir(), "neuroflow-bench-team-probe-"));
const profileDir = profile ? (flags.get("profile-dir") ?? join(dir, "profile")) : undefined;
/** A team-side-child.ts process in `role`, once it is ready. */
async function startTeamSide(bus: BenchBus, role: "team-host" | "members", cpuProfileDir?: string) {
  const flags = cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfileDir}`] : [];
  if (role === "team-host") flags.push(...nodeFlags);
  const child = spawn(process.execPath, [...flags, "--import", "tsx", fileURLToPath(new URL("./team-side-child.ts", import.meta.url))], {
    env: { ...process.env, NODE_OPTIONS: "", NATS_URL: bus.url, NATS_CREDS: bus.credsFile, TEAM_SIDE_ROLE: role, LOG_LEVEL: "warn", LOG_PRETTY: "false" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      if (chunk.includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`team-side-child (${role}) exited with ${code}`)));
  });
  child.stdout.resume();
  return { process: child, stop: () => stopChild(child, 10_000) };
}

const bus = await startBenchBus(dir, say);
try {
  const processes = stubMembers
    ? [await startTeamSide(bus, "team-host", profileDir), await startTeamSide(bus, "members")]
    : [await startWorker(bus, { workerId: "bench-team-worker", ...(profileDir ? { cpuProfileDir: profileDir } : {}) })];
  const window = { fromUs: 0, toUs: 0 };
  try {
    const nc = await bus.connect("bench-team");
    const persisted = persist ? await startPersistedRuntime(await bus.connect("bench-control-plane"), persist as PostgresMode, (flags.get("starts") ?? "team-runner") as RunStart) : undefined;
    const targets: CpuTargets = stubMembers
      ? { "team-host": { pid: processes[0]?.process.pid }, members: { pid: processes[1]?.process.pid } }
      : { worker: { pid: processes[0]?.process.pid } };
    targets["nats-server"] = { pid: bus.serverPid };
    targets[persist ? "bench (control plane)" : "bench"] = { pid: process.pid };
    if (persisted) targets.postgres = { pid: persisted.postgresPid, tree: true };
    const meter = cpuMeter(() => targets);
    const measure = {
      seconds,
      warmupSeconds,
      inFlight,
      onWindow: async (edge: "start" | "end") => {
        const now = Number(process.hrtime.bigint() / 1000n);
        if (edge === "start") window.fromUs = now;
        else window.toUs = now;
        await meter.onWindow(edge);
      },
    };
    let stats;
    try {
      stats = persisted ? await persisted.measure(measure) : await measureRuntime(nc, randomUUID(), measure);
    } finally {
      await persisted?.stop();
    }
    const cpuUsPerRound = meter.perRound(stats.rounds);
    console.log(JSON.stringify({ loadAverage: loadavg().map((load) => +load.toFixed(2)), ...stats, cpuUsPerRound }));
  } finally {
    for (const running of processes) await running.stop();
  }
  if (profileDir) {
    const file = readdirSync(profileDir)
      .filter((name) => name.endsWith(".cpuprofile"))
      .sort((a, b) => statSync(join(profileDir, b)).size - statSync(join(profileDir, a)).size)[0];
    if (file) {
      const summary = summarizeProfile(join(profileDir, file), [window], focus, 45);
      console.log(`${stubMembers ? "team host" : "worker"} busy ${summary.busyMs.toFixed(0)} ms of ${summary.sampledMs.toFixed(0)} ms sampled in the window`);
      for (const entry of summary.bySelf) console.log(entry.selfMs.toFixed(0).padStart(6), entry.totalMs.toFixed(0).padStart(6), entry.name);
      for (const area of summary.byArea) console.log(area.selfMs.toFixed(0).padStart(6), area.area);
      if (focus.length > 0) console.log("inclusive:");
      for (const entry of summary.focus) console.log(entry.selfMs.toFixed(0).padStart(6), entry.totalMs.toFixed(0).padStart(6), entry.name);
    }
  }
} finally {
  await bus.stop();
  rmSync(dir, { recursive: true, force: true });
}
