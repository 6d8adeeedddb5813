import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { TeamExecution } from "../../../entities/index.js";
import {
  nextCursorSchema,
  NeuroflowError,
  runTeamBodySchema,
  teamExecutionIdSchema,
  teamExecutionViewSchema,
  teamIdSchema,
} from "../../../runtime/protocol/index.js";
import { teamExecutionView } from "../../persistence/team-views.js";
import { executionFilters, executionQueryShape } from "../execution-query.js";
import { page } from "../pagination.js";
import type { RouteDeps } from "../route-deps.js";

const listQuery = z.strictObject({ ...executionQueryShape, teamId: teamIdSchema.optional() });
const executionBody = z.object({ execution: teamExecutionViewSchema });

/**
 * Team executions of an org (VIEWER), newest first, filtered by status, team and time range; run a
 * team and cancel a run (MEMBER). A run is recorded RUNNING and answered 202 at once; its log
 * entries follow on the WebSocket (`team.event` frames) and its outcome lands on the execution.
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

    // 202: recorded and sent to the pool. 404 for another org's team, 409 for a deactivated team,
    // one without members or one that no longer validates.
    app.post(
      "/api/orgs/:orgId/teams/:teamId/executions",
      { schema: { params: z.object({ orgId: z.string(), teamId: z.string() }), body: runTeamBodySchema, response: { 202: executionBody } } },
      async (request, reply) => {
        const { orgId, teamId } = request.params;
        const execution = await deps.teamRuns.start(
          (work) => deps.gate.run(request.headers, orgId, "MEMBER", work),
          { orgId, teamId },
          request.body,
        );
        return reply.status(202).send({ execution: teamExecutionView(execution) });
      },
    );

    // 202 when the worker running it is cancelling it (the execution ends CANCELLED shortly), 200
    // when no worker was running it and it was cancelled here; 409 once it has ended.
    app.post(
      "/api/orgs/:orgId/teams/:teamId/executions/:executionId/cancel",
      { schema: { params: z.object({ orgId: z.string(), teamId: z.string(), executionId: z.string() }), response: { 200: executionBody, 202: executionBody } } },
      async (request, reply) => {
        const { orgId, teamId, executionId } = request.params;
        const result = await deps.teamRuns.cancel((work) => deps.gate.run(request.headers, orgId, "MEMBER", work), { orgId, teamId, executionId });
        return reply.status(result.forwarded ? 202 : 200).send({ execution: teamExecutionView(result.execution) });
      },
    );
  };
}
