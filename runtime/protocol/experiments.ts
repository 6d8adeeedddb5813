import { z } from "zod";
import { teamRoleSchema, teamStructureSchema } from "./api-teams.js";
import { answerKeySchema } from "./messages.js";
import { votingRuleSchema } from "./voting-rule.js";

/**
 * Experiments: a task set with known answers, run by a grid of team configurations, trials per cell,
 * scored and aggregated per cell. The spec is what an `experiments/*.yaml` file holds (parsed by
 * runtime/experiments/spec.ts); the results are what the runner returns and the exporters write.
 */

/** One task with its known answer. */
export const experimentTaskSchema = z.strictObject({
  prompt: z.string().trim().min(1).max(20_000),
  answerKey: answerKeySchema,
});
export type ExperimentTask = z.infer<typeof experimentTaskSchema>;

/**
 * Where the tasks come from: a written list, or a generator that makes deterministic questions from
 * the spec's seed — `binary-questions` (yes/no) or `choice-questions` (`options` lettered A, B, …).
 */
export const experimentTaskSetSchema = z.union(
  [
    z.array(experimentTaskSchema).min(1).max(10_000),
    z.discriminatedUnion("kind", [
      z.strictObject({ kind: z.literal("binary-questions"), count: z.int().min(1).max(100_000) }),
      z.strictObject({
        kind: z.literal("choice-questions"),
        count: z.int().min(1).max(100_000),
        options: z.int().min(2).max(26),
      }),
    ]),
  ],
  {
    error:
      'expected a list of { prompt, answerKey } or a generator: { kind: "binary-questions", count } or { kind: "choice-questions", count, options }',
  },
);
export type ExperimentTaskSet = z.infer<typeof experimentTaskSetSchema>;

/**
 * One member position of every team: member i of a team takes `profiles[i]`, and the members past
 * the list take the defaults. `weight` is the explicit voting weight (weighted rule, `explicit`
 * source); `priority` is the member's priority (pipeline order, `priority` weights). Absent role:
 * member 0 of a HIERARCHICAL team is the LEADER, everyone else a WORKER. Absent priority: the stage
 * index in a PIPELINE (stages must differ), 0 elsewhere.
 */
export const experimentMemberProfileSchema = z.strictObject({
  accuracy: z.number().min(0).max(1).optional(),
  weight: z.number().finite().nonnegative().optional(),
  priority: z.int().min(-1_000).max(1_000).optional(),
  role: teamRoleSchema.optional(),
});
export type ExperimentMemberProfile = z.infer<typeof experimentMemberProfileSchema>;

/** The members of every team: default accuracy, simulated latency and per-position profiles. */
export const experimentMembersSchema = z.strictObject({
  /** Probability each member answers a task right (ModelConfig.simulated.accuracy). */
  accuracy: z.number().min(0).max(1).default(0.7),
  /** Simulated thinking time per model call (ModelConfig.simulated.latencyMs). */
  latencyMs: z.int().min(0).max(600_000).default(0),
  profiles: z.array(experimentMemberProfileSchema).max(50).default([]),
});

function noDuplicates<T>(values: readonly T[], label: string, context: z.RefinementCtx, path: (string | number)[]): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    const key = JSON.stringify(value);
    if (seen.has(key)) context.addIssue({ code: "custom", path: [...path, index], message: `${label} ${key} is listed twice` });
    seen.add(key);
  });
}

/** The axes of the grid; their cartesian product are the cells (invalid combinations are skipped). */
export const experimentGridSchema = z
  .strictObject({
    structures: z.array(teamStructureSchema).min(1).max(4),
    /** Voting rules; they apply to DEMOCRATIC teams only, which need at least one. */
    rules: z.array(votingRuleSchema).max(20).default([]),
    teamSizes: z.array(z.int().min(1).max(50)).min(1).max(20),
    /** Debate rounds before the vote; they apply to DEMOCRATIC teams only. */
    debateRounds: z.array(z.int().min(0).max(5)).min(1).max(6).default([0]),
  })
  .superRefine((grid, context) => {
    noDuplicates(grid.structures, "structure", context, ["structures"]);
    noDuplicates(grid.rules, "rule", context, ["rules"]);
    noDuplicates(grid.teamSizes, "team size", context, ["teamSizes"]);
    noDuplicates(grid.debateRounds, "debate rounds", context, ["debateRounds"]);
    if (grid.structures.includes("DEMOCRATIC") && grid.rules.length === 0) {
      context.addIssue({ code: "custom", path: ["rules"], message: "DEMOCRATIC teams need at least one voting rule" });
    }
  });
export type ExperimentGrid = z.infer<typeof experimentGridSchema>;

/**
 * An experiment file. Strict: an unknown or misspelt key is an error, not a silently ignored
 * setting. `trials` is per cell; trial i of a cell runs task i modulo the number of tasks, so every
 * cell sees the same tasks in the same order.
 */
export const experimentSpecSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2_000).optional(),
  seed: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  trials: z.int().min(1).max(100_000),
  tasks: experimentTaskSetSchema,
  grid: experimentGridSchema,
  members: experimentMembersSchema.prefault({}),
});
/** A spec with defaults filled in. */
export type ExperimentSpec = z.infer<typeof experimentSpecSchema>;
/** A spec as written (defaulted fields may be left out). */
export type ExperimentSpecInput = z.input<typeof experimentSpecSchema>;

/** A member of a cell's team, every field resolved. */
export const experimentMemberSchema = z.strictObject({
  accuracy: z.number().min(0).max(1),
  weight: z.number().finite().nonnegative(),
  priority: z.int(),
  role: teamRoleSchema,
});
export type ExperimentMember = z.infer<typeof experimentMemberSchema>;

/** One team configuration of the grid: what the executor builds and runs. */
export const experimentCellSchema = z.strictObject({
  /** Readable and unique within the experiment, e.g. `DEMOCRATIC/weighted-explicit/n5/d0`. */
  id: z.string().min(1),
  structure: teamStructureSchema,
  /** Present exactly for DEMOCRATIC cells. */
  rule: votingRuleSchema.optional(),
  teamSize: z.int().min(1),
  debateRounds: z.int().min(0),
  latencyMs: z.int().min(0),
  members: z.array(experimentMemberSchema).min(1),
});
export type ExperimentCell = z.infer<typeof experimentCellSchema>;

/** A grid combination that does not run, and why. */
export const skippedCombinationSchema = z.strictObject({
  combination: z.strictObject({
    structure: teamStructureSchema,
    rule: votingRuleSchema.optional(),
    teamSize: z.int(),
    debateRounds: z.int(),
  }),
  reason: z.string(),
});
export type SkippedCombination = z.infer<typeof skippedCombinationSchema>;

/** What one trial (one team run on one task) produced; the executor's answer to the runner. */
export const trialOutcomeSchema = z.strictObject({
  /** The team's final answer; compared with the key case-insensitively after trimming. */
  answer: z.string().optional(),
  status: z.enum(["COMPLETED", "FAILED", "CANCELLED"]),
  usage: z.strictObject({ promptTokens: z.int().min(0), completionTokens: z.int().min(0) }),
  costMicroUsd: z.number().min(0),
  latencyMs: z.number().min(0),
});
export type TrialOutcome = z.infer<typeof trialOutcomeSchema>;

/**
 * The aggregate of one cell. `accuracy` = correct / trials: a trial that failed or was cancelled
 * counts as wrong (and in `failures`). `ci95` is the Wilson score interval of `accuracy`; latency
 * percentiles are nearest-rank over every trial, failed ones included.
 */
export const cellResultSchema = z.strictObject({
  cell: experimentCellSchema,
  trials: z.int().min(0),
  correct: z.int().min(0),
  accuracy: z.number().min(0).max(1),
  ci95: z.strictObject({ low: z.number().min(0).max(1), high: z.number().min(0).max(1) }),
  tokens: z.strictObject({ prompt: z.int().min(0), completion: z.int().min(0), total: z.int().min(0) }),
  costMicroUsd: z.number().min(0),
  latencyMs: z.strictObject({ p50: z.number().min(0), p95: z.number().min(0) }),
  failures: z.int().min(0),
});
export type CellResult = z.infer<typeof cellResultSchema>;

/** Everything an experiment run produced; the same spec and executor give the same result. */
export const experimentResultSchema = z.strictObject({
  name: z.string(),
  seed: z.int(),
  trialsPerCell: z.int().min(1),
  taskCount: z.int().min(1),
  cells: z.array(cellResultSchema),
  skipped: z.array(skippedCombinationSchema),
});
export type ExperimentResult = z.infer<typeof experimentResultSchema>;
