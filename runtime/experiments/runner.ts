import {
  NeuroflowError,
  type AnswerKey,
  type CellResult,
  type ExperimentCell,
  type ExperimentResult,
  type ExperimentSpec,
  type ExperimentTask,
  type TrialOutcome,
} from "../protocol/index.js";
import { expandGrid } from "./grid.js";
import { deriveSeed } from "./seeds.js";
import { percentile, wilsonInterval } from "./stats.js";
import { resolveTasks } from "./tasks.js";

/** What the executor knows about the trial beyond cell, task and seed. */
export interface TrialContext {
  /** 0-based index of the trial within its cell. */
  trial: number;
  /** Aborted when the run is cancelled; an executor should stop its team and resolve CANCELLED. */
  signal: AbortSignal;
}

/**
 * Runs one team of `cell` on `task` and reports what happened. `trialSeed` is the only source of
 * randomness it should use (e.g. for the members' simulated seeds), so a rerun gives the same
 * outcome. A rejection is recorded as a FAILED trial with no usage; it does not stop the run.
 */
export type TrialExecutor = (cell: ExperimentCell, task: ExperimentTask, trialSeed: number, context: TrialContext) => Promise<TrialOutcome>;

/** Reported after each trial: how many are done of how many, and the cell the finished trial ran. */
export interface ExperimentProgress {
  done: number;
  total: number;
  cell: ExperimentCell;
}

export interface RunExperimentOptions {
  /** Trials in flight at once; a positive integer, default 4. */
  concurrency?: number;
  /** Called synchronously after every trial; a throw stops the run and rejects it with that error. */
  onProgress?: (progress: ExperimentProgress) => void;
  /** Cancels the run: no new trials start, and the run rejects with CANCELLED once in-flight ones end. */
  signal?: AbortSignal;
}

/** The seed of trial `trial` of the cell `cellId` in an experiment seeded with `seed`. */
export function trialSeed(seed: number, cellId: string, trial: number): number {
  return deriveSeed(seed, "trial", cellId, trial);
}

/** Whether `answer` is the key's correct option: equal after trimming, ignoring case. */
export function isCorrect(answer: string | undefined, key: AnswerKey): boolean {
  return answer !== undefined && answer.trim().toLowerCase() === key.correct.trim().toLowerCase();
}

/** One finished trial, scored. */
export interface ScoredTrial {
  outcome: TrialOutcome;
  correct: boolean;
}

/**
 * The result of one cell from its scored trials. Only a COMPLETED trial with the right answer is
 * correct; FAILED and CANCELLED trials count as wrong and as failures. Latency percentiles cover
 * every trial (a failure took time too); with no trials they are 0.
 */
export function aggregateCell(cell: ExperimentCell, trials: readonly ScoredTrial[]): CellResult {
  const correct = trials.filter((trial) => trial.correct).length;
  const sum = (pick: (outcome: TrialOutcome) => number) => trials.reduce((total, trial) => total + pick(trial.outcome), 0);
  const prompt = sum((outcome) => outcome.usage.promptTokens);
  const completion = sum((outcome) => outcome.usage.completionTokens);
  const latencies = trials.map((trial) => trial.outcome.latencyMs);
  return {
    cell,
    trials: trials.length,
    correct,
    accuracy: trials.length === 0 ? 0 : correct / trials.length,
    ci95: wilsonInterval(correct, trials.length),
    tokens: { prompt, completion, total: prompt + completion },
    costMicroUsd: sum((outcome) => outcome.costMicroUsd),
    latencyMs: latencies.length === 0 ? { p50: 0, p95: 0 } : { p50: percentile(latencies, 50), p95: percentile(latencies, 95) },
    failures: trials.filter((trial) => trial.outcome.status !== "COMPLETED").length,
  };
}

const failedOutcome: TrialOutcome = { status: "FAILED", usage: { promptTokens: 0, completionTokens: 0 }, costMicroUsd: 0, latencyMs: 0 };

/**
 * Runs every cell of the spec's grid for `spec.trials` trials (trial i runs task i modulo the task
 * count), at most `concurrency` at a time, and aggregates per cell in grid order. Deterministic: the
 * result depends on the spec and on what the executor answers for (cell, task, seed), not on the
 * order trials finish in. Trials are started cell by cell.
 *
 * Rejects with VALIDATION_FAILED on a bad `concurrency`, CANCELLED when `signal` aborts (after the
 * trials in flight have ended), or with the error `onProgress` threw. An executor's rejection is
 * a FAILED trial, not a failed run.
 */
export async function runExperiment(spec: ExperimentSpec, executor: TrialExecutor, options: RunExperimentOptions = {}): Promise<ExperimentResult> {
  const concurrency = options.concurrency ?? 4;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new NeuroflowError("VALIDATION_FAILED", `concurrency must be a positive integer, got ${String(concurrency)}`);
  }
  const tasks = resolveTasks(spec);
  const { cells, skipped } = expandGrid(spec);
  const total = cells.length * spec.trials;
  const scored: ScoredTrial[][] = cells.map(() => []);
  const signal = options.signal ?? new AbortController().signal;
  let next = 0;
  let done = 0;
  let stopError: unknown;

  const runTrial = async (index: number): Promise<void> => {
    const cellIndex = Math.floor(index / spec.trials);
    const trial = index % spec.trials;
    const cell = cells[cellIndex];
    const task = tasks[trial % tasks.length];
    if (!cell || !task) throw new NeuroflowError("INTERNAL", `trial ${index} is out of range`);
    let outcome: TrialOutcome;
    try {
      outcome = await executor(cell, task, trialSeed(spec.seed, cell.id, trial), { trial, signal });
    } catch {
      outcome = failedOutcome;
    }
    const correct = outcome.status === "COMPLETED" && isCorrect(outcome.answer, task.answerKey);
    // Indexed by trial, so the aggregate does not depend on the order trials finish in.
    (scored[cellIndex] as ScoredTrial[])[trial] = { outcome, correct };
    done += 1;
    options.onProgress?.({ done, total, cell });
  };

  const worker = async (): Promise<void> => {
    while (stopError === undefined && !signal.aborted && next < total) {
      const index = next;
      next += 1;
      try {
        await runTrial(index);
      } catch (error) {
        stopError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  if (stopError !== undefined) throw stopError;
  if (signal.aborted && done < total) throw new NeuroflowError("CANCELLED", `experiment "${spec.name}" was cancelled after ${done} of ${total} trials`);

  return {
    name: spec.name,
    seed: spec.seed,
    trialsPerCell: spec.trials,
    taskCount: tasks.length,
    cells: cells.map((cell, i) => aggregateCell(cell, scored[i] ?? [])),
    skipped,
  };
}
