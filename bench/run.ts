import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { startBenchBus, startBenchChild } from "./runtime/bus.js";
import { measureCallColumns, type CallFigures } from "./runtime/call-columns.js";
import { measureBreakdown, type BreakdownStage } from "./runtime/breakdown.js";
import type { MemoryRow } from "./runtime/memory-child.js";
import { measureIdleAgents, measureReactivation } from "./runtime/pool.js";
import type { IdleResult, ReactivationResult } from "./runtime/pool-messages.js";
import { measureRecovery, type RecoveryResult } from "./runtime/recovery.js";
import { printTable, writeResult, type BenchRow } from "./runtime/report.js";

/**
 * The runtime benchmarks of the worker-pool issue, side by side with raw NATS on one nats-server
 * (operator mode with service credentials, as `npm start` runs it, for both columns):
 *
 * 1. round trip: sequential agent calls (`nf.<org>.agent.<id>.call`, one worker process, simulated
 *    provider with 0 latency) vs request/reply to an echo responder in a process of its own;
 * 2. calls per second at 64 in flight over 64 agents vs raw request/reply at 64 in flight;
 * 3. idle agents per worker within 1 GiB RSS (a worker's AgentHost in a child process): the agents
 *    it holds and serves without a store read — live actors and resting agents (snapshot text);
 * 4. reactivation from snapshot (passivate, then `activate()` back: KV get + restore + start), and
 *    waking a resting agent (no store read);
 * 5. recovery: SIGKILL one of two workers, time until its agents answer calls again;
 * and two explanations: `breakdown` (worker CPU per call, layer by layer) and `memory` (heap per
 * idle agent, piece by piece), both with the real runtime modules and no NATS.
 *
 * Prints one table (goal, raw, runtime, ratio, pass) and writes bench/results/runtime-pool.json
 * (everything) and bench/results/runtime-roundtrip.json (rows 1–2, the earlier file's shape); a
 * run of some sections only (`--only`) writes bench/results/runtime-pool-partial.json instead.
 *
 *   npm run bench [-- --only roundtrip,throughput,idle,reactivation,recovery,breakdown,memory --iterations 2000
 *                     --seconds 5 --rounds 3 --idle-target 100000 --idle-work one-task|none --reactivate 2000
 *                     --idle-rss-limit-mib 1024 --recovery-trials 3 --recovery-agents 64 --breakdown-calls 10000
 *                     --profile yes --what-if yes]
 *
 * Round trip and throughput alternate raw and runtime over `--rounds` (latencies pooled, rates the
 * median round), so both columns see the same background load.
 * `--profile yes` adds one more runtime throughput run with a worker under `--cpu-prof` (the table's
 * columns stay unprofiled) and prints where that worker's CPU time went. `--what-if yes` then measures round trip and throughput again
 * with worker variants (bench/runtime/variant-worker.ts) that each add one proposed change.
 */
const flags = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) flags.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const number = (name: string, fallback: number) => {
  const value = Number(flags.get(name) ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
  return value;
};
const allSections = ["roundtrip", "throughput", "idle", "reactivation", "recovery", "breakdown", "memory"] as const;
type Section = (typeof allSections)[number];
const only = new Set((flags.get("only") ?? allSections.join(",")).split(",").filter(Boolean));
for (const name of only) if (!(allSections as readonly string[]).includes(name)) throw new Error(`--only: unknown section ${name}`);
const runs = (section: Section) => only.has(section);

const options = {
  iterations: number("iterations", 2000),
  warmup: number("warmup", 300),
  seconds: number("seconds", 5),
  warmupSeconds: number("warmup-seconds", 1),
  inFlight: number("in-flight", 64),
  agents: number("agents", 64),
  idleTarget: number("idle-target", 100_000),
  idleWork: flags.get("idle-work") === "none" ? ("none" as const) : ("one-task" as const),
  rssLimitBytes: number("idle-rss-limit-mib", 1024) * 1024 ** 2,
  reactivate: number("reactivate", 2000),
  recoveryTrials: number("recovery-trials", 3),
  recoveryAgents: number("recovery-agents", 64),
  breakdownCalls: number("breakdown-calls", 10_000),
  rounds: Math.max(1, number("rounds", 3)),
  profile: flags.get("profile") === "yes",
  whatIf: flags.get("what-if") === "yes",
};
const say = (line: string) => console.error(line);
const loadBefore = loadavg();

const dir = mkdtempSync(join(tmpdir(), "neuroflow-bench-runtime-"));
const profileDir = options.profile ? mkdtempSync(join(tmpdir(), "neuroflow-bench-profile-")) : undefined;
const bus = await startBenchBus(dir, say);
let figures: CallFigures = {};
let idle: IdleResult | undefined;
let reactivation: ReactivationResult | undefined;
let recovery: RecoveryResult | undefined;
let breakdown: BreakdownStage[] | undefined;
let memory: MemoryRow[] | undefined;
try {
  const nc = await bus.connect("bench-caller");

  if (runs("roundtrip") || runs("throughput")) {
    say(
      `round trip (${options.iterations} sequential calls per column) and throughput (${options.inFlight} in flight, ` +
        `${options.seconds} s per column) over ${options.rounds} alternating rounds …`,
    );
    figures = await measureCallColumns(bus, nc, {
      ...options,
      roundtrip: runs("roundtrip"),
      throughput: runs("throughput"),
      ...(profileDir ? { profileDir } : {}),
      say,
    });
  }

  if (runs("idle")) {
    say(`idle agents: activating up to ${options.idleTarget} (${options.idleWork}) in one worker's AgentHost …`);
    idle = await measureIdleAgents(bus, { target: options.idleTarget, rssLimitBytes: options.rssLimitBytes, work: options.idleWork, say });
  }
  if (runs("reactivation")) {
    say(`reactivation: ${options.reactivate} agents, one task each, passivated, then activated back …`);
    reactivation = await measureReactivation(bus, options.reactivate, say);
  }
  if (runs("recovery")) {
    say(`recovery: ${options.recoveryTrials} × SIGKILL of one of two workers, ${options.recoveryAgents} of its agents called until they answer …`);
    recovery = await measureRecovery(bus, nc, {
      trials: options.recoveryTrials,
      agents: options.recoveryAgents,
      callTimeoutMs: 250,
      retryPauseMs: 20,
      giveUpMs: 10_000,
      say,
    });
  }
  if (runs("breakdown")) {
    say(`breakdown: worker CPU per call, layer by layer, in this process (${options.breakdownCalls} calls per stage, best of 3) …`);
    breakdown = await measureBreakdown({ calls: options.breakdownCalls, agents: options.agents, rounds: 3 });
  }
  if (runs("memory")) {
    say("memory: heap bytes per idle agent, piece by piece (10000 agents per figure) …");
    const child = startBenchChild<{ type: "result"; rows: MemoryRow[] }>("memory-child.ts", {}, ["--expose-gc"]);
    try {
      memory = (await child.next()).rows;
    } finally {
      await child.stop();
    }
  }
} finally {
  await bus.stop();
  rmSync(dir, { recursive: true, force: true });
}

const mib = 1024 ** 2;
const rows: BenchRow[] = [];
const { rawLatency, runtimeLatency } = figures;
if (rawLatency && runtimeLatency) {
  for (const p of ["p50", "p95", "p99"] as const) {
    rows.push({
      measure: `round trip ${p}`,
      unit: "ms",
      goal: p === "p50" ? "≤ 1.5× raw" : "",
      raw: rawLatency[p],
      runtime: runtimeLatency[p],
      ratio: runtimeLatency[p] / rawLatency[p],
      ...(p === "p50" ? { pass: runtimeLatency.p50 <= 1.5 * rawLatency.p50 } : {}),
    });
  }
}
if (figures.raw && figures.runtime) {
  rows.push({
    measure: `calls per second, ${options.inFlight} in flight`,
    unit: "/s",
    goal: "≥ 0.5× raw",
    raw: figures.raw.perSecond,
    runtime: figures.runtime.perSecond,
    ratio: figures.runtime.perSecond / figures.raw.perSecond,
    pass: figures.runtime.perSecond >= 0.5 * figures.raw.perSecond,
  });
  rows.push({
    measure: `latency p50 at ${options.inFlight} in flight`,
    unit: "ms",
    goal: "",
    raw: figures.raw.latency.p50,
    runtime: figures.runtime.latency.p50,
    ratio: figures.runtime.latency.p50 / figures.raw.latency.p50,
  });
  // CPU per call of the process that answers, and of nats-server, in the measured windows.
  const cpu = { raw: figures.raw.cpuUsPerCall, runtime: figures.runtime.cpuUsPerCall };
  rows.push({
    measure: "CPU per call: echo responder vs worker",
    unit: "µs",
    goal: "",
    raw: cpu.raw.answerer,
    runtime: cpu.runtime.answerer,
    ratio: cpu.runtime.answerer / cpu.raw.answerer,
  });
  rows.push({
    measure: "CPU per call: nats-server",
    unit: "µs",
    goal: "",
    raw: cpu.raw.natsServer,
    runtime: cpu.runtime.natsServer,
    ratio: cpu.runtime.natsServer / cpu.raw.natsServer,
  });
  rows.push({ measure: "CPU per call: caller (bench process)", unit: "µs", goal: "", raw: cpu.raw.bench, runtime: cpu.runtime.bench, ratio: cpu.runtime.bench / cpu.raw.bench });
}
if (idle) {
  const rssOk = idle.final.rss <= idle.rssLimit;
  const checked = idle.check.status === "COMPLETED" && idle.check.storeReads === 0 && idle.check.remembered;
  rows.push({
    measure: `idle agents in one worker within ${Math.round(idle.rssLimit / mib)} MiB RSS (${idle.work}; stopped by ${idle.stoppedBy})`,
    unit: "agents",
    goal: "≥ 100000 within 1 GiB RSS",
    runtime: idle.withinLimit,
    pass: idle.withinLimit >= 100_000 && idle.rssLimit <= 1024 * mib && checked,
  });
  rows.push({ measure: `  of them resting (snapshot text), at the end`, unit: "agents", goal: "", runtime: idle.final.resting });
  rows.push({ measure: `  of them live actors, at the end`, unit: "agents", goal: "", runtime: idle.final.live });
  rows.push({
    measure: `  one of the first agents called again: ${idle.check.status}, ${idle.check.storeReads} store reads, memory ${idle.check.remembered ? "kept" : "LOST"}`,
    unit: "ms",
    goal: "0 store reads",
    runtime: idle.check.ms,
    pass: checked,
  });
  rows.push({ measure: `  RSS with ${idle.reached} agents (after GC)`, unit: "MiB", goal: "≤ 1024", runtime: idle.final.rss / mib, pass: rssOk });
  rows.push({ measure: "  heap used with them (after GC)", unit: "MiB", goal: "", runtime: idle.final.heapUsed / mib });
  rows.push({ measure: "  longest GC pause while activating", unit: "ms", goal: "", runtime: idle.pauses.gcMaxMs });
  rows.push({ measure: "  warnings the worker logged meanwhile", unit: "lines", goal: "", runtime: idle.pauses.warnings });
  rows.push({
    measure: "  RSS per idle agent",
    unit: "KiB",
    goal: "",
    runtime: (idle.final.rss - idle.baseline.rss) / Math.max(1, idle.reached) / 1024,
  });
}
if (reactivation) {
  rows.push({ measure: "reactivation from snapshot p99", unit: "ms", goal: "≤ 5", runtime: reactivation.activate.p99, pass: reactivation.activate.p99 <= 5 });
  rows.push({ measure: `  reactivation p50 (store reads per activation: ${reactivation.storeReadsPerActivation})`, unit: "ms", goal: "", runtime: reactivation.activate.p50 });
  rows.push({ measure: "  waking a resting agent (no store read) p50", unit: "ms", goal: "", runtime: reactivation.wake.p50 });
  rows.push({ measure: "  waking a resting agent (no store read) p99", unit: "ms", goal: "", runtime: reactivation.wake.p99 });
  rows.push({ measure: "  its KV get alone, p50", unit: "ms", goal: "", runtime: reactivation.kvGet.p50 });
  rows.push({ measure: "  its KV get alone, p99", unit: "ms", goal: "", runtime: reactivation.kvGet.p99 });
  rows.push({ measure: "  createActor(snapshot) + start alone, p99", unit: "ms", goal: "", runtime: reactivation.restoreCpu.p99 });
  rows.push({ measure: `  reactivations/s, ${reactivation.concurrency} at once`, unit: "/s", goal: "", runtime: reactivation.concurrentPerSecond });
  rows.push({ measure: "  event-loop delay p99 meanwhile", unit: "ms", goal: "", runtime: reactivation.pauses.loopDelayP99Ms });
  rows.push({ measure: "  longest GC pause meanwhile", unit: "ms", goal: "", runtime: reactivation.pauses.gcMaxMs });
}
if (recovery) {
  rows.push({
    measure: "SIGKILL → agents serve again, max",
    unit: "ms",
    goal: "≤ 2000",
    runtime: recovery.serveAgainMs.max,
    pass: recovery.failed === 0 && recovery.serveAgainMs.max <= 2000,
  });
  rows.push({ measure: "  SIGKILL → serve again, p50", unit: "ms", goal: "", runtime: recovery.serveAgainMs.p50 });
}

console.log(
  "\nRuntime pool benchmark — nats-server in operator mode (service creds) for every column; raw NATS = request/reply to an echo responder process",
);
if (rows.length > 0) printTable(rows);
if (figures.raw && figures.runtime) {
  const list = (rates: number[]) => rates.map((rate) => Math.round(rate)).join(", ");
  console.log(`calls per second by round: raw ${list(figures.raw.rounds)}; runtime ${list(figures.runtime.rounds)} (the table shows the medians)`);
}
if (figures.whatIf && figures.raw && figures.rawLatency) {
  const { raw, rawLatency: rawRound } = figures;
  console.log("\nWhat-if worker variants (same bus, same raw baseline; WHAT_IF_VARIANTS in bench/runtime/call-columns.ts):");
  console.table(
    figures.whatIf.map((row) => ({
      variant: row.variant,
      "p50 ms": +row.latency.p50.toFixed(3),
      "p50 ÷ raw": `${(row.latency.p50 / rawRound.p50).toFixed(2)}×`,
      "calls/s": Math.round(row.rate.perSecond),
      "÷ raw": `${(row.rate.perSecond / raw.perSecond).toFixed(2)}×`,
      "worker µs/call": Math.round(row.rate.cpuUsPerCall.answerer),
      "nats-server µs/call": Math.round(row.rate.cpuUsPerCall.natsServer),
    })),
  );
}
if (breakdown) {
  console.log("\nWorker CPU per agent call, layer by layer (real runtime modules in the bench process, no NATS; µs, best of 3):");
  console.table(breakdown.map((stage) => ({ stage: stage.stage, "µs per call": +stage.cpuUsPerCall.toFixed(1), "added µs": +stage.addedUs.toFixed(1) })));
}
if (memory) {
  console.log("\nHeap per idle agent, piece by piece (real runtime modules, no NATS; bytes):");
  console.table(memory.map((row) => ({ what: row.what, "bytes per agent": Math.round(row.bytesPerAgent) })));
}
if (figures.profile) {
  const profile = figures.profile;
  console.log(`\nWorker CPU profile, throughput window: ${profile.busyMs.toFixed(0)} ms busy of ${profile.sampledMs.toFixed(0)} ms sampled`);
  console.table(profile.byArea.slice(0, 12).map((area) => ({ area: area.area, selfMs: +area.selfMs.toFixed(0) })));
  console.table(profile.bySelf.map((entry) => ({ function: entry.name, selfMs: +entry.selfMs.toFixed(1), totalMs: +entry.totalMs.toFixed(1) })));
  console.table(profile.focus.slice(0, 30).map((entry) => ({ function: entry.name, totalMs: +entry.totalMs.toFixed(1) })));
}

const at = new Date().toISOString();
const loadAfter = loadavg();
console.log(
  `\nload average (1 min) at start ${loadBefore[0]?.toFixed(1)}, at end ${loadAfter[0]?.toFixed(1)} on ${availableParallelism()} cores: ` +
    "other processes on the machine share the CPU with every column.",
);
const body = {
  benchmark: "runtime-pool",
  at,
  node: process.version,
  cores: availableParallelism(),
  loadAverage: { start: loadBefore, end: loadAfter },
  bus: "nats-server, operator mode, service credentials",
  options,
  rows,
  figures,
  idle,
  reactivation,
  recovery,
  breakdown,
  memory,
};
// A run of some sections only must not overwrite the full figures.
const complete = allSections.every(runs);
say(`wrote ${writeResult(complete ? "runtime-pool" : "runtime-pool-partial", body)}`);
if (complete && rawLatency && runtimeLatency && figures.raw && figures.runtime) {
  say(
    `wrote ${writeResult("runtime-roundtrip", {
      benchmark: "runtime-roundtrip",
      at,
      node: process.version,
      subject: "agent call (nf.<org>.agent.<id>.call) vs raw request/reply to an echo responder process",
      iterations: options.iterations,
      seconds: options.seconds,
      inFlight: options.inFlight,
      agents: options.agents,
      rounds: options.rounds,
      rows: rows.slice(0, 5),
    })}`,
  );
}
if (profileDir) say(`CPU profiles kept in ${profileDir}`);
