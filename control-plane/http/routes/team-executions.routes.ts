import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { TeamExecution } from "../../../entities/index.js";
import { nextCursorSchema, NeuroflowError, teamExecutionIdSchema, teamExecutionViewSchema, teamIdSchema } from "../../../runtime/protocol/index.js";
import { teamExecutionView } from "../../persistence/team-views.js";
import { executionFilters, executionQueryShape } from "../execution-query.js";
import { page } from "../pagination.js";
import type { RouteDeps } from "../route-deps.js";

const listQuery = z.strictObject({ ...executionQueryShape, teamId: teamIdSchema.optional() });

/**
 * Team executions of an org (VIEWER), newest first, filtered by status, team and time range.
 * Read-only here: runs are started by the team actors' endpoint, which comes with them.
 */
export function teamExecutionRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/api/orgs/:orgId/team-executions",
      {
        schema: {
          params: z.object({ orgId: z.string() }),
          querystring: listQuery,
          response: { 200: z.object({ executions: z.array(teamExecutionViewSchema), nextCursor: nextCursorSchema }) },
        },
      },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const result = await page(em, TeamExecution, executionFilters(request.params.orgId, request.query, { team: request.query.teamId }), request.query);
          return { executions: result.items.map(teamExecutionView), nextCursor: result.nextCursor };
        }),
    );

    app.get(
      "/api/orgs/:orgId/team-executions/:executionId",
      {
        schema: {
          params: z.object({ orgId: z.string(), executionId: z.string() }),
          response: { 200: z.object({ execution: teamExecutionViewSchema }) },
        },
      },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const { orgId, executionId } = request.params;
          const execution = teamExecutionIdSchema.safeParse(executionId).success
            ? await em.findOne(TeamExecution, { id: executionId, organization: orgId })
            : null;
          if (!execution) throw new NeuroflowError("NOT_FOUND", "team execution not found");
          return { execution: teamExecutionView(execution) };
        }),
    );
  };
}
