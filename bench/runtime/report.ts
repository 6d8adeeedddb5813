import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { round } from "./stats.js";

/** One row of the printed table: a figure of the issue, its goal and whether it is met. */
export interface BenchRow {
  measure: string;
  goal: string;
  /** The raw NATS figure on the same server, when the goal is relative to it. */
  raw?: number;
  runtime: number;
  unit: string;
  /** runtime ÷ raw, when there is a raw figure. */
  ratio?: number;
  /** undefined: an informative row without a goal of its own. */
  pass?: boolean;
}

/** Prints the rows side by side (console.table). */
export function printTable(rows: readonly BenchRow[]): void {
  console.table(
    rows.map((row) => ({
      measure: `${row.measure} (${row.unit})`,
      goal: row.goal,
      "raw NATS": row.raw === undefined ? "" : round(row.raw, 3),
      runtime: round(row.runtime, 3),
      ratio: row.ratio === undefined ? "" : `${row.ratio.toFixed(2)}×`,
      pass: row.pass === undefined ? "" : row.pass ? "PASS" : "FAIL",
    })),
  );
}

const resultsDir = fileURLToPath(new URL("../results/", import.meta.url));

/** Writes `bench/results/<name>.json` (pretty JSON) and returns its path. */
export function writeResult(name: string, body: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
  return path;
}
