import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { VOTER_COUNT } from "./common.js";

/**
 * The team-vote benchmark's report: one column per measured system, side by side, and — for each
 * runtime column present — the ratios the issue sets goals for (runtime ÷ LangGraph.js ≥ 10×,
 * runtime ÷ bare NATS ≥ 0.5×, in rounds per second at 64 in flight; the bare-NATS goal is checked
 * against each bare-NATS column present). The runtime column is `runtime`: ballots
 * persisted. `runtime/no-persistence` gets the same ratios, to show what the storing costs.
 */

/** Column names the ratios look for. */
export const COLUMN_NAMES = {
  /** The column: the real runtime with the ballots persisted by the control plane. */
  runtime: "runtime",
  /** The same rounds sent straight to the runtime pool, nothing stored. */
  runtimeNoPersistence: "runtime/no-persistence",
  langgraph: "langgraph",
  /** Bare NATS, the 7 responders in the measuring process. */
  bareNats: "bare-nats",
  /** Bare NATS, the 7 responders in a helper process. */
  bareNatsHelper: "bare-nats/helper",
} as const;

/** One measured column. */
export interface TeamVoteColumn {
  /** `runtime`, `langgraph`, `bare-nats`, or any other label (extra columns get no ratio). */
  name: string;
  roundsPerSec: number;
  p50Ms: number;
  p95Ms: number;
  /** Rounds completed in the measured window, when known. */
  rounds?: number;
  /** CPU microseconds per round of each process involved (runtime columns), in the measured window. */
  cpuUsPerRound?: Record<string, number>;
}

/** A runtime column ÷ one baseline. Latency ratios are runtime ÷ baseline too (lower is better there). */
export interface TeamVoteRatio {
  name: string;
  /** The runtime column divided. */
  runtime: string;
  baseline: string;
  roundsPerSec: number;
  p50Ms: number;
  p95Ms: number;
  /** The goal for the rounds-per-second ratio. */
  goal: number;
  met: boolean;
}

/** How the columns were measured, stored with them. */
export interface TeamVoteMeta {
  inFlight: number;
  seconds: number;
  warmupSeconds: number;
  /** 1, 5 and 15 min load averages when the run started (the report's `loadAverage` is at its end). */
  loadAverageAtStart?: number[];
  /** Anything else worth keeping (how responders were placed, auth, …). */
  notes?: readonly string[];
}

/** What {@link reportTeamVote} printed and wrote. */
export interface TeamVoteReport {
  benchmark: "team-vote";
  at: string;
  node: string;
  voters: number;
  /** 1, 5 and 15 min load averages when the report was written: the machine has 2 cores, and a load well
   *  above 2 means other work shared them and the columns are not worth comparing across runs. */
  loadAverage: number[];
  meta: TeamVoteMeta;
  columns: TeamVoteColumn[];
  ratios: TeamVoteRatio[];
}

const goals: ReadonlyArray<{ baseline: string; goal: number }> = [
  { baseline: COLUMN_NAMES.langgraph, goal: 10 },
  { baseline: COLUMN_NAMES.bareNats, goal: 0.5 },
  { baseline: COLUMN_NAMES.bareNatsHelper, goal: 0.5 },
];

const runtimeColumns = [COLUMN_NAMES.runtime, COLUMN_NAMES.runtimeNoPersistence];

/** The goal ratios that apply to these columns: one per runtime column and baseline present. */
export function computeRatios(columns: readonly TeamVoteColumn[]): TeamVoteRatio[] {
  return runtimeColumns.flatMap((name) => {
    const runtime = columns.find((column) => column.name === name);
    return runtime === undefined ? [] : ratiosOf(runtime, columns);
  });
}

function ratiosOf(runtime: TeamVoteColumn, columns: readonly TeamVoteColumn[]): TeamVoteRatio[] {
  return goals.flatMap(({ baseline, goal }) => {
    const base = columns.find((column) => column.name === baseline);
    if (base === undefined) return [];
    const roundsPerSec = runtime.roundsPerSec / base.roundsPerSec;
    return [
      {
        name: `${runtime.name} ÷ ${baseline}`,
        runtime: runtime.name,
        baseline,
        roundsPerSec,
        p50Ms: runtime.p50Ms / base.p50Ms,
        p95Ms: runtime.p95Ms / base.p95Ms,
        goal,
        met: roundsPerSec >= goal,
      },
    ];
  });
}

const fixed = (value: number, digits: number): number => +value.toFixed(digits);

/**
 * Prints the columns side by side (rows: rounds/s, p50, p95), then one row per ratio, and writes
 * the report to `bench/results/team-vote.json`, or to `resultsFile` when given. Returns the report.
 * Throws the fs error when the file can't be written.
 */
export function reportTeamVote(columns: readonly TeamVoteColumn[], meta: TeamVoteMeta, resultsFile?: string): TeamVoteReport {
  const ratios = computeRatios(columns);
  const row = (measure: string, pick: (value: TeamVoteColumn) => number, digits: number) => ({
    measure,
    ...Object.fromEntries(columns.map((column) => [column.name, fixed(pick(column), digits)])),
  });
  console.log(`team vote: ${VOTER_COUNT} voters, majority, ${meta.inFlight} rounds in flight, ${meta.seconds} s after ${meta.warmupSeconds} s warm-up`);
  console.table([
    row(`rounds/s (${meta.inFlight} in flight)`, (value) => value.roundsPerSec, 1),
    row("round p50 (ms)", (value) => value.p50Ms, 3),
    row("round p95 (ms)", (value) => value.p95Ms, 3),
  ]);
  const cpu = columns.filter((column) => column.cpuUsPerRound !== undefined);
  if (cpu.length > 0) {
    console.table(cpu.map((column) => ({ "CPU µs per round": column.name, ...column.cpuUsPerRound })));
  }
  if (ratios.length === 0) console.log("(no runtime column: no ratios)");
  else {
    console.table(
      ratios.map((ratio) => ({
        ratio: ratio.name,
        "rounds/s": `${ratio.roundsPerSec.toFixed(2)}× (goal ≥ ${ratio.goal}×, ${ratio.met ? "met" : "NOT met"})`,
        p50: `${ratio.p50Ms.toFixed(2)}×`,
        p95: `${ratio.p95Ms.toFixed(2)}×`,
      })),
    );
  }

  const report: TeamVoteReport = {
    benchmark: "team-vote",
    at: new Date().toISOString(),
    node: process.version,
    voters: VOTER_COUNT,
    loadAverage: loadavg().map((load) => fixed(load, 2)),
    meta,
    columns: columns.map((column) => ({ ...column })),
    ratios,
  };
  const file = resultsFile ?? join(fileURLToPath(new URL("../results/", import.meta.url)), "team-vote.json");
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}
