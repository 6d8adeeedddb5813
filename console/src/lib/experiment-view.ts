import type { CellResult, ExecutionStatus, ExperimentProgressView } from "../../../runtime/protocol/index.js";

/** What the Experiments page shows, computed from API views. Pure; never fails. */

/** The spec the start form opens with: small enough to finish in seconds on the pool. */
export const EXAMPLE_EXPERIMENT_YAML = `# Majority vs. weighted voting on DEMOCRATIC teams of 3 and 5 simulated agents.
# Edit and start; the format is that of experiments/*.yaml.
name: majority-vs-weighted
seed: 7
trials: 40
tasks:
  kind: choice-questions
  count: 40
  options: 3
grid:
  structures: [DEMOCRATIC]
  rules:
    - { kind: majority, tieBreak: random }
    - { kind: weighted, weightSource: explicit, tieBreak: highest-weight }
  teamSizes: [3, 5]
members:
  accuracy: 0.65
  latencyMs: 0
  profiles:
    - { accuracy: 0.85, weight: 2.43 }
    - { accuracy: 0.55, weight: 0.89 }
    - { accuracy: 0.6, weight: 1.1 }
`;

/** Still to end: the page keeps polling while an experiment is in one of these. */
export function isActive(status: ExecutionStatus): boolean {
  return status === "PENDING" || status === "RUNNING";
}

/** Done of total as a fraction in [0, 1] (0 when there is nothing to do). */
export function progressFraction(progress: ExperimentProgressView): number {
  return progress.total === 0 ? 0 : Math.min(1, Math.max(0, progress.done / progress.total));
}

/** 0.8734 → "87.3%". */
export function percent(value: number, digits = 1): string {
  return `${(value * 100).toFixed(digits)}%`;
}

/** Micro-dollars as dollars: four decimals, six below a cent so small costs stay visible. */
export function formatUsd(microUsd: number): string {
  const usd = microUsd / 1e6;
  return `$${usd !== 0 && Math.abs(usd) < 0.01 ? usd.toFixed(6) : usd.toFixed(4)}`;
}

/** Milliseconds: one decimal below 10 ms, whole above. */
export function formatLatency(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms).toLocaleString("en-US")} ms`;
}

/** One cell's row of the accuracy chart, in SVG user units. */
export interface ChartRow {
  id: string;
  /** Vertical centre of the row. */
  y: number;
  /** The accuracy's point and the 95% interval's ends. */
  x: number;
  xLow: number;
  xHigh: number;
  accuracy: number;
  low: number;
  high: number;
}

export interface ChartLayout {
  width: number;
  height: number;
  /** Where the accuracy axis runs: 0% at `plotLeft`, 100% at `plotRight`. */
  plotLeft: number;
  plotRight: number;
  plotTop: number;
  plotBottom: number;
  rows: ChartRow[];
  /** Gridlines every 25%. */
  ticks: { x: number; label: string }[];
}

export interface ChartOptions {
  width?: number;
  /** Room for the cell ids on the left. */
  labelWidth?: number;
  rowHeight?: number;
}

/**
 * A horizontal dot-and-whisker chart of accuracy per cell: one row per cell in grid order, the
 * point at the accuracy, the whisker across the 95% (Wilson) interval, the axis from 0% to 100%.
 */
export function accuracyChartLayout(cells: readonly CellResult[], options: ChartOptions = {}): ChartLayout {
  const width = options.width ?? 760;
  const labelWidth = options.labelWidth ?? 270;
  const rowHeight = options.rowHeight ?? 26;
  const plotLeft = labelWidth;
  const plotRight = width - 64;
  const plotTop = 8;
  const plotBottom = plotTop + Math.max(1, cells.length) * rowHeight;
  const xOf = (value: number) => plotLeft + Math.min(1, Math.max(0, value)) * (plotRight - plotLeft);
  return {
    width,
    height: plotBottom + 24,
    plotLeft,
    plotRight,
    plotTop,
    plotBottom,
    rows: cells.map((cell, index) => ({
      id: cell.cell.id,
      y: plotTop + index * rowHeight + rowHeight / 2,
      x: xOf(cell.accuracy),
      xLow: xOf(cell.ci95.low),
      xHigh: xOf(cell.ci95.high),
      accuracy: cell.accuracy,
      low: cell.ci95.low,
      high: cell.ci95.high,
    })),
    ticks: [0, 0.25, 0.5, 0.75, 1].map((value) => ({ x: xOf(value), label: percent(value, 0) })),
  };
}
