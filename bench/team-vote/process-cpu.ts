import { readdirSync, readFileSync } from "node:fs";
import { cpuTimeMs } from "../runtime/bus.js";

/**
 * CPU time of the processes behind a column, for "CPU per round" figures: read from /proc (Linux;
 * elsewhere every reading is NaN and the figures come out NaN rather than wrong).
 */

/** The ids of `pid`'s child processes (from /proc/<pid>/task/*\/children), recursively. */
function descendants(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
      if (text) children.push(...text.split(" ").map(Number));
    }
  } catch {
    return [];
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

/** User + system CPU milliseconds of `pid` and, with `tree`, of every process below it (Postgres: the postmaster and its backends). */
export async function processCpuMs(pid: number | undefined, tree = false): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const pids = tree ? [pid, ...descendants(pid)] : [pid];
  let total = 0;
  for (const one of pids) total += (await cpuTimeMs(one)) ?? (one === pid ? Number.NaN : 0);
  return total;
}

/** The process whose command line holds `needle` (e.g. the Postgres data dir of the postmaster), or undefined. */
export function findProcess(needle: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").includes(needle)) return Number(entry);
    } catch {
      // The process ended meanwhile.
    }
  }
  return undefined;
}

/** Named processes to read; `tree` counts each one's descendants too. */
export type CpuTargets = Record<string, { pid: number | undefined; tree?: boolean }>;

/**
 * A window meter for `MeasureOptions.onWindow`: reads every target at the window's start and end;
 * `perRound(rounds)` then gives CPU microseconds per round of each.
 */
export function cpuMeter(targets: () => CpuTargets) {
  let start: Record<string, number> = {};
  let end: Record<string, number> = {};
  const read = async () =>
    Object.fromEntries(await Promise.all(Object.entries(targets()).map(async ([name, target]) => [name, await processCpuMs(target.pid, target.tree)] as const)));
  return {
    onWindow: async (edge: "start" | "end") => {
      if (edge === "start") start = await read();
      else end = await read();
    },
    perRound: (rounds: number): Record<string, number> =>
      Object.fromEntries(Object.keys(end).map((name) => [name, Math.round((((end[name] ?? Number.NaN) - (start[name] ?? Number.NaN)) * 1000) / rounds)])),
  };
}
