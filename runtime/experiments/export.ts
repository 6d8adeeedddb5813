import type { CellResult, ExperimentResult } from "../protocol/index.js";

/** The result as pretty JSON (two-space indent, trailing newline); parses back with experimentResultSchema. */
export function resultToJson(result: ExperimentResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

/**
 * One CSV field per RFC 4180: quoted when it contains a comma, a double quote, CR or LF, with inner
 * quotes doubled; otherwise as is. `undefined` is the empty field.
 */
export function csvField(value: string | number | undefined): string {
  if (value === undefined) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The CSV columns, in order, and how each is read from a cell's result. */
const columns: readonly [string, (result: CellResult) => string | number | undefined][] = [
  ["cell", (r) => r.cell.id],
  ["structure", (r) => r.cell.structure],
  ["ruleKind", (r) => r.cell.rule?.kind],
  ["rule", (r) => (r.cell.rule ? JSON.stringify(r.cell.rule) : undefined)],
  ["teamSize", (r) => r.cell.teamSize],
  ["debateRounds", (r) => r.cell.debateRounds],
  ["memberAccuracies", (r) => r.cell.members.map((member) => member.accuracy).join(" ")],
  ["memberWeights", (r) => r.cell.members.map((member) => member.weight).join(" ")],
  ["simulatedLatencyMs", (r) => r.cell.latencyMs],
  ["trials", (r) => r.trials],
  ["correct", (r) => r.correct],
  ["accuracy", (r) => r.accuracy],
  ["ci95Low", (r) => r.ci95.low],
  ["ci95High", (r) => r.ci95.high],
  ["promptTokens", (r) => r.tokens.prompt],
  ["completionTokens", (r) => r.tokens.completion],
  ["totalTokens", (r) => r.tokens.total],
  ["costMicroUsd", (r) => r.costMicroUsd],
  ["latencyP50Ms", (r) => r.latencyMs.p50],
  ["latencyP95Ms", (r) => r.latencyMs.p95],
  ["failures", (r) => r.failures],
];

/** The CSV header, the column names in order. */
export const csvColumns: readonly string[] = columns.map(([name]) => name);

/**
 * The per-cell results as RFC 4180 CSV: a header line, then one line per cell in grid order, CRLF
 * line ends (including after the last line). The rule is a JSON object in one quoted field; member
 * accuracies and weights are space-separated. Skipped combinations are not rows (see the JSON).
 */
export function resultToCsv(result: ExperimentResult): string {
  const lines = [csvColumns.map(csvField).join(",")];
  for (const cell of result.cells) lines.push(columns.map(([, read]) => csvField(read(cell))).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
