import type { CellResult, ExperimentResult } from "../protocol/index.js";

/** Plain-text reports of an experiment's results, for terminals and logs. Pure; never throws. */

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

/** Micro-dollars as dollars: four decimals, or six below a cent so small costs stay visible. */
export function formatUsd(microUsd: number): string {
  const usd = microUsd / 1e6;
  return `$${usd !== 0 && Math.abs(usd) < 0.01 ? usd.toFixed(6) : usd.toFixed(4)}`;
}

/** Milliseconds, one decimal below 10 ms, whole above. */
export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms).toLocaleString("en-US")} ms`;
}

const columns: readonly { title: string; right: boolean; cell: (result: CellResult) => string }[] = [
  { title: "cell", right: false, cell: (r) => r.cell.id },
  { title: "trials", right: true, cell: (r) => String(r.trials) },
  { title: "accuracy", right: true, cell: (r) => percent(r.accuracy) },
  { title: "95% CI", right: false, cell: (r) => `[${percent(r.ci95.low)}, ${percent(r.ci95.high)}]` },
  { title: "failed", right: true, cell: (r) => String(r.failures) },
  { title: "tokens", right: true, cell: (r) => r.tokens.total.toLocaleString("en-US") },
  { title: "cost", right: true, cell: (r) => formatUsd(r.costMicroUsd) },
  { title: "p50", right: true, cell: (r) => formatMs(r.latencyMs.p50) },
  { title: "p95", right: true, cell: (r) => formatMs(r.latencyMs.p95) },
];

/**
 * The per-cell results as an aligned text table (header, rule, one line per cell in grid order),
 * then the skipped combinations, one line per reason. Ends with a newline.
 */
export function formatResultTable(result: ExperimentResult): string {
  const rows = result.cells.map((cell) => columns.map((column) => column.cell(cell)));
  const widths = columns.map((column, i) => Math.max(column.title.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((text, i) => (columns[i]?.right ? text.padStart(widths[i] ?? 0) : text.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const lines = [line(columns.map((column) => column.title)), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)];
  if (result.cells.length === 0) lines.push("(no cell of the grid can run)");
  const skippedByReason = new Map<string, string[]>();
  for (const skipped of result.skipped) {
    const { structure, rule, teamSize, debateRounds } = skipped.combination;
    const what = [structure, rule?.kind, `n${teamSize}`, `d${debateRounds}`].filter(Boolean).join("/");
    skippedByReason.set(skipped.reason, [...(skippedByReason.get(skipped.reason) ?? []), what]);
  }
  if (skippedByReason.size > 0) lines.push("");
  for (const [reason, combinations] of skippedByReason) lines.push(`skipped ${combinations.join(", ")}: ${reason}`);
  return `${lines.join("\n")}\n`;
}
