/**
 * Experiments: run a grid of team configurations over a task set with known answers and measure
 * accuracy, tokens, cost and latency per cell. The executor that runs a real team is plugged in by
 * the caller; everything here is deterministic in the spec's seed.
 */
export { parseExperimentSpec, readExperimentSpec, describeSpecIssues } from "./spec.js";
export { resolveTasks } from "./tasks.js";
export { expandGrid, membersOf, coordinationOf, type GridExpansion } from "./grid.js";
export { wilsonInterval, percentile, Z_95, type ProportionInterval } from "./stats.js";
export {
  runExperiment,
  aggregateCell,
  isCorrect,
  trialSeed,
  type TrialExecutor,
  type TrialContext,
  type ExperimentProgress,
  type RunExperimentOptions,
  type ScoredTrial,
} from "./runner.js";
export { resultToJson, resultToCsv, csvField, csvColumns } from "./export.js";
export { deriveSeed } from "./seeds.js";
export { seededUuid, memberSeed, memberProfile, teamMembersFor, EXPERIMENT_MODEL } from "./members.js";
export { createLocalExecutor, LOCAL_ORG_ID, type LocalExecutorOptions } from "./local-executor.js";
export { createBusExecutor, teamRunRequestFor, type BusExecutorOptions, type TeamRunIds } from "./bus-executor.js";
export { formatResultTable, formatUsd, formatMs } from "./report.js";
