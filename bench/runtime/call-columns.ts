import { randomUUID } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { startBenchChild, startWorker, type BenchBus, type BenchWorker } from "./bus.js";
import { agentCall, echoCall, measureColumn, sequentialSamples, type Call, type ColumnRate } from "./calls.js";
import { summarizeProfile, type ProfileSummary } from "./profile-summary.js";
import { summarize, type LatencySummary } from "./stats.js";

/** Options of {@link measureCallColumns}. */
export interface CallColumnOptions {
  roundtrip: boolean;
  throughput: boolean;
  /** Sequential calls per column, over all rounds. */
  iterations: number;
  warmup: number;
  /** Measured seconds per column and round at `inFlight`. */
  seconds: number;
  warmupSeconds: number;
  inFlight: number;
  agents: number;
  /**
   * Raw and runtime are measured alternately this many times: latency samples are pooled over the
   * rounds, rates are the median round. Both columns thus see the same background load.
   */
  rounds: number;
  /** Directory for `--cpu-prof` output of an extra, profiled throughput run of the worker, or none. */
  profileDir?: string;
  whatIf: boolean;
  say: (line: string) => void;
}

/** Throughput of one column over the rounds. */
export interface RateFigures {
  /** Median over the rounds. */
  perSecond: number;
  /** Every round's rate. */
  rounds: number[];
  /** Latency under load, of the median round. */
  latency: LatencySummary;
  /** CPU µs per call (median over rounds) of the answering process (echo responder or worker), nats-server and this process. */
  cpuUsPerCall: { answerer: number; natsServer: number; bench: number };
}

/** One what-if worker variant (bench/runtime/variant-worker.ts). */
export interface WhatIfFigures {
  variant: string;
  whatIf: string;
  latency: LatencySummary;
  rate: RateFigures;
}

/** What {@link measureCallColumns} measured. */
export interface CallFigures {
  rawLatency?: LatencySummary;
  runtimeLatency?: LatencySummary;
  raw?: RateFigures;
  runtime?: RateFigures;
  profile?: ProfileSummary;
  whatIf?: WhatIfFigures[];
}

/**
 * Worker variants of `--what-if yes`: the control, then upper bounds of what status events and
 * snapshot writes cost. Node flags go in `nodeFlags` (`--max-semi-space-size=64` measured no gain;
 * nats.js `noAsyncTraces`, measured here before, is now how common/nats-connect.ts connects).
 */
export const WHAT_IF_VARIANTS: ReadonlyArray<{ name: string; whatIf: string; nodeFlags?: readonly string[] }> = [
  { name: "variant worker, no change (control)", whatIf: "" },
  { name: "no status events (upper bound)", whatIf: "no-status-events" },
  { name: "no status events, no snapshot writes", whatIf: "no-status-events,no-snapshot-write" },
];

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN);
};

/** Median round of `rates` as RateFigures; `answerer` names the process that answers the calls. */
function rateFigures(rates: readonly ColumnRate[], answerer: string): RateFigures {
  const perCall = (rate: ColumnRate, name: string) => {
    const ms = rate.cpuMs[name];
    return ms === undefined ? Number.NaN : (ms * 1000) / rate.completed;
  };
  const byRate = [...rates].sort((a, b) => a.perSecond - b.perSecond);
  const middle = byRate[Math.floor((byRate.length - 1) / 2)]!;
  return {
    perSecond: middle.perSecond,
    rounds: rates.map((rate) => rate.perSecond),
    latency: middle.latency,
    cpuUsPerCall: {
      answerer: median(rates.map((rate) => perCall(rate, answerer))),
      natsServer: median(rates.map((rate) => perCall(rate, "nats-server"))),
      bench: median(rates.map((rate) => perCall(rate, "bench"))),
    },
  };
}

/**
 * Round trip and throughput, raw NATS (request/reply to the echo responder process) against agent
 * calls to one runtime worker process (runtime/main.ts, simulated provider with 0 latency), both
 * columns on the same bus, alternating over `rounds`; then, with `whatIf`, the worker variants.
 */
export async function measureCallColumns(bus: BenchBus, nc: NatsConnection, options: CallColumnOptions): Promise<CallFigures> {
  const figures: CallFigures = {};
  const { say, rounds } = options;
  const echo = startBenchChild<{ type: "ready" }>("echo-responder.ts", { NATS_URL: bus.url, NATS_CREDS: bus.credsFile });
  let worker: BenchWorker | undefined;
  try {
    worker = await startWorker(bus, { workerId: "bench-worker" });
    await echo.next();
    const orgId = randomUUID();
    const agentIds = Array.from({ length: options.agents }, () => randomUUID());
    const raw = echoCall(nc, orgId, agentIds);
    const runtime = agentCall(nc, orgId, agentIds);
    const perRound = { iterations: Math.ceil(options.iterations / rounds), warmup: Math.ceil(options.warmup / rounds) };
    const pids = { "nats-server": bus.serverPid, worker: worker.process.pid, echo: echo.process.pid };
    const latency = { raw: [] as number[], runtime: [] as number[] };
    const rates = { raw: [] as ColumnRate[], runtime: [] as ColumnRate[] };
    for (let round = 1; round <= rounds; round++) {
      say(`  round ${round} of ${rounds} …`);
      if (options.roundtrip) {
        latency.raw.push(...(await sequentialSamples(raw, perRound)));
        latency.runtime.push(...(await sequentialSamples(runtime, perRound)));
      }
      if (options.throughput) {
        rates.raw.push(await measureColumn(raw, options, pids));
        rates.runtime.push(await measureColumn(runtime, options, pids));
      }
    }
    if (options.roundtrip) {
      figures.rawLatency = summarize(latency.raw);
      figures.runtimeLatency = summarize(latency.runtime);
    }
    if (options.throughput) {
      figures.raw = rateFigures(rates.raw, "echo");
      figures.runtime = rateFigures(rates.runtime, "worker");
    }
    if (options.profileDir && options.throughput) {
      // A worker of its own under the profiler (which slows it): the columns above are unprofiled.
      await worker.stop();
      say("  throughput once more, with the worker under --cpu-prof …");
      const profiled = await startWorker(bus, { workerId: "bench-worker-profiled", cpuProfileDir: options.profileDir });
      let window: { fromUs: number; toUs: number };
      try {
        window = (await measureColumn(runtime, options, {})).window;
      } finally {
        await profiled.stop();
      }
      figures.profile = workerProfile(options.profileDir, [window], say);
    }
    if (options.whatIf) {
      await worker.stop();
      figures.whatIf = await measureWhatIf(bus, runtime, options);
    }
  } finally {
    await worker?.stop();
    await echo.stop();
  }
  return figures;
}

/** The main thread's profile (the largest: tsx's loader thread writes one too), cut to `windows`. */
function workerProfile(dir: string, windows: Array<{ fromUs: number; toUs: number }>, say: (line: string) => void): ProfileSummary | undefined {
  const file = readdirSync(dir)
    .filter((name) => name.endsWith(".cpuprofile"))
    .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
  if (!file) {
    say(`no CPU profile in ${dir}`);
    return undefined;
  }
  say(`worker CPU profile: ${join(dir, file)}`);
  return summarizeProfile(join(dir, file), windows, [
    /^#?(onCall|route|emit|publish|answerCall|restore|save) /,
    /^(statusEvents|decodeJson|encodeJson|parseSubject|child|safeParse|createActor|getPersistedSnapshot|update|request|publish|respond|_process|macrostep) /,
  ]);
}

/** Each what-if variant in turn, once per round (a fresh worker each time), latency pooled, rate the median. */
async function measureWhatIf(bus: BenchBus, runtime: Call, options: CallColumnOptions): Promise<WhatIfFigures[]> {
  const { rounds, say } = options;
  const perRound = { iterations: Math.ceil(Math.min(1000, options.iterations) / rounds), warmup: 100 };
  const samples = WHAT_IF_VARIANTS.map(() => [] as number[]);
  const rates = WHAT_IF_VARIANTS.map(() => [] as ColumnRate[]);
  for (let round = 1; round <= rounds; round++) {
    for (const [i, variant] of WHAT_IF_VARIANTS.entries()) {
      say(`  what-if round ${round} of ${rounds}: ${variant.name} …`);
      const candidate = await startWorker(bus, {
        workerId: `bench-what-if-${round}-${i}`,
        script: "bench/runtime/variant-worker.ts",
        env: { WHAT_IF: variant.whatIf },
        ...(variant.nodeFlags ? { nodeFlags: variant.nodeFlags } : {}),
      });
      try {
        samples[i]!.push(...(await sequentialSamples(runtime, perRound)));
        rates[i]!.push(await measureColumn(runtime, options, { "nats-server": bus.serverPid, worker: candidate.process.pid }));
      } finally {
        await candidate.stop();
      }
    }
  }
  return WHAT_IF_VARIANTS.map((variant, i) => ({
    variant: variant.name,
    whatIf: variant.whatIf,
    latency: summarize(samples[i]!),
    rate: rateFigures(rates[i]!, "worker"),
  }));
}
