import { z } from "zod";
import { experimentResultSchema, experimentSpecSchema } from "./experiments.js";
import { orgIdSchema } from "./ids.js";
import { executionStatusSchema } from "./status.js";

/**
 * HTTP bodies and views of experiments run by the control plane: a spec (runtime/protocol/
 * experiments.ts) started through the API, run on the runtime pool one `team.run` per trial, its
 * progress and results stored with it. Status follows executions: PENDING (stored, not started),
 * RUNNING, then COMPLETED, FAILED or CANCELLED.
 */

export const experimentIdSchema = z.uuid();

/** Trials finished of all the trials the grid has. */
export const experimentProgressSchema = z.object({ done: z.int().min(0), total: z.int().min(0) });
export type ExperimentProgressView = z.infer<typeof experimentProgressSchema>;

/** Most trials (cells × trials per cell) one experiment may run through the API. */
export const MAX_API_EXPERIMENT_TRIALS = 50_000;

/** Experiments of one organization that may be PENDING or RUNNING at once. */
export const MAX_ACTIVE_EXPERIMENTS = 10;

/**
 * `POST /api/orgs/:orgId/experiments`: the spec either as a JSON object (`spec`, the shape of an
 * `experiments/*.yaml` file) or as YAML text (`yaml`), exactly one of them. YAML is parsed and
 * checked by the route, with the same 400 and zod issues as a bad `spec`.
 */
export const createExperimentBodySchema = z
  .strictObject({
    spec: experimentSpecSchema.optional(),
    yaml: z.string().min(1).max(200_000).optional(),
  })
  .refine((body) => (body.spec === undefined) !== (body.yaml === undefined), {
    message: "give exactly one of `spec` (the experiment as a JSON object) or `yaml` (its YAML text)",
  });
export type CreateExperimentBody = z.infer<typeof createExperimentBodySchema>;

/** An experiment in a list: everything but the spec and the results. */
export const experimentSummarySchema = z.object({
  id: experimentIdSchema,
  orgId: orgIdSchema,
  name: z.string(),
  status: executionStatusSchema,
  progress: experimentProgressSchema,
  /** Why it FAILED, or who CANCELLED it; null otherwise. */
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdBy: z.uuid().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  completedAt: z.iso.datetime().nullable(),
});
export type ExperimentSummary = z.infer<typeof experimentSummarySchema>;

/** One experiment: its spec (defaults filled in) and, once COMPLETED, its results. */
export const experimentViewSchema = experimentSummarySchema.extend({
  spec: experimentSpecSchema,
  results: experimentResultSchema.nullable(),
});
export type ExperimentView = z.infer<typeof experimentViewSchema>;
