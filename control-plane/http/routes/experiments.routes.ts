import type { EntityManager } from "@mikro-orm/postgresql";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { Experiment, type IExperiment } from "../../../entities/index.js";
import { parseExperimentSpec, resultToCsv } from "../../../runtime/experiments/index.js";
import {
  createExperimentBodySchema,
  executionStatusSchema,
  experimentIdSchema,
  experimentSummarySchema,
  experimentViewSchema,
  MAX_ACTIVE_EXPERIMENTS,
  nextCursorSchema,
  NeuroflowError,
} from "../../../runtime/protocol/index.js";
import { ExperimentRuns } from "../../experiments/experiment-runs.js";
import { runnableTrials } from "../../experiments/runnable.js";
import { experimentSummary, experimentView } from "../../persistence/experiment-views.js";
import { unstorableIn } from "../json-body.js";
import { page, pageQueryShape } from "../pagination.js";
import type { RouteDeps } from "../route-deps.js";

const orgParams = z.object({ orgId: z.string() });
const oneParams = z.object({ orgId: z.string(), experimentId: z.string() });
const listQuery = z.strictObject({ ...pageQueryShape, status: executionStatusSchema.optional() });
const experimentBody = z.object({ experiment: experimentViewSchema });

/** The org's experiment, or NOT_FOUND (also for a malformed id and for another org's). */
async function findExperiment(em: EntityManager, orgId: string, experimentId: string): Promise<IExperiment> {
  const experiment = experimentIdSchema.safeParse(experimentId).success ? await em.findOne(Experiment, { id: experimentId, organization: orgId }) : null;
  if (!experiment) throw new NeuroflowError("NOT_FOUND", "experiment not found");
  return experiment;
}

/** `voting rules (v2)` → `voting-rules-v2-`: a file name that needs no quoting. */
const fileName = (name: string) => name.replaceAll(/[^A-Za-z0-9._-]+/g, "-").replace(/^[.-]+/, "") || "experiment";

/**
 * Experiments of an org: start one from a spec (MEMBER; it runs in the background on the runtime
 * pool, one `team.run` per trial, and answers 202 at once), list them newest first and read one
 * with its results (VIEWER), download the results as CSV, cancel a PENDING or RUNNING one (MEMBER).
 * The runs live in this control plane and end FAILED (UNAVAILABLE) if it stops first.
 */
export function experimentRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const runs = new ExperimentRuns({ db: deps.db, nc: deps.nc, logger: deps.logger.child({ component: "experiments" }), snapshots: deps.snapshots });
    app.addHook("onClose", async () => runs.stop());

    // 400 for a spec that is invalid (zod issues) or too big for the API; 409 when the org has
    // MAX_ACTIVE_EXPERIMENTS unfinished already.
    app.post(
      "/api/orgs/:orgId/experiments",
      { schema: { params: orgParams, body: createExperimentBodySchema, response: { 202: experimentBody } } },
      async (request, reply) => {
        const { orgId } = request.params;
        const created = await deps.gate.run(request.headers, orgId, "MEMBER", async (em, access) => {
          const { body } = request;
          const spec = body.spec ?? parseExperimentSpec(body.yaml ?? "", "yaml");
          // YAML escapes can spell what a JSON body can't carry to Postgres (U+0000, lone surrogates).
          const problem = unstorableIn(spec);
          if (problem) throw new NeuroflowError("VALIDATION_FAILED", `invalid yaml: ${problem.path || "(root)"} ${problem.message}`, { details: [{ path: problem.path, code: "custom", message: problem.message }] });
          const total = runnableTrials(spec);
          const active = await em.count(Experiment, { organization: orgId, status: { $in: ["PENDING", "RUNNING"] } });
          if (active >= MAX_ACTIVE_EXPERIMENTS) {
            throw new NeuroflowError("CONFLICT", `this organization already has ${active} experiments pending or running; wait for one to end or cancel one`);
          }
          const experiment = em.create(Experiment, {
            organization: orgId,
            createdBy: access.userId,
            name: spec.name,
            spec,
            status: "PENDING",
            progress: { done: 0, total },
            results: null,
            error: null,
            startedAt: null,
            completedAt: null,
          });
          await em.flush();
          return experiment;
        });
        // Started once the row has committed, so the run's first write finds it.
        runs.start({ id: created.id, orgId, spec: created.spec });
        return reply.status(202).send({ experiment: experimentView(created) });
      },
    );

    app.get(
      "/api/orgs/:orgId/experiments",
      {
        schema: {
          params: orgParams,
          querystring: listQuery,
          response: { 200: z.object({ experiments: z.array(experimentSummarySchema), nextCursor: nextCursorSchema }) },
        },
      },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const { orgId } = request.params;
          const where = request.query.status ? { organization: orgId, status: request.query.status } : { organization: orgId };
          const result = await page(em, Experiment, where, request.query);
          return { experiments: result.items.map(experimentSummary), nextCursor: result.nextCursor };
        }),
    );

    app.get(
      "/api/orgs/:orgId/experiments/:experimentId",
      { schema: { params: oneParams, response: { 200: experimentBody } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => ({
          experiment: experimentView(await findExperiment(em, request.params.orgId, request.params.experimentId)),
        })),
    );

    // The per-cell results as RFC 4180 CSV; 409 while there are none yet.
    app.get("/api/orgs/:orgId/experiments/:experimentId/results.csv", { schema: { params: oneParams } }, async (request, reply) => {
      const experiment = await deps.gate.run(request.headers, request.params.orgId, "VIEWER", (em) =>
        findExperiment(em, request.params.orgId, request.params.experimentId),
      );
      if (!experiment.results) throw new NeuroflowError("CONFLICT", `experiment has no results (it is ${experiment.status})`);
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="${fileName(experiment.name)}.csv"`)
        .send(resultToCsv(experiment.results));
    });

    // 200 with the CANCELLED experiment; 409 once it has ended, 404 for another org's.
    app.post(
      "/api/orgs/:orgId/experiments/:experimentId/cancel",
      { schema: { params: oneParams, response: { 200: experimentBody } } },
      async (request) => {
        const { orgId, experimentId } = request.params;
        const experiment = await deps.gate.run(request.headers, orgId, "MEMBER", async (em) => {
          const found = await findExperiment(em, orgId, experimentId);
          const now = new Date();
          const error = { code: "CANCELLED" as const, message: "experiment cancelled", retryable: false };
          // Conditional, so a run that ends at the same moment is not overwritten.
          const changed = await em.nativeUpdate(
            Experiment,
            { id: found.id, status: { $in: ["PENDING", "RUNNING"] } },
            { status: "CANCELLED", error, completedAt: now, updatedAt: now },
          );
          await em.refresh(found);
          if (changed === 0) throw new NeuroflowError("CONFLICT", `experiment has already ended (${found.status})`);
          return found;
        });
        // The run may be on another replica: it sees the row CANCELLED at its next progress write.
        runs.cancel(experiment.id);
        return { experiment: experimentView(experiment) };
      },
    );
  };
}
