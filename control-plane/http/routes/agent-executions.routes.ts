import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AgentExecution } from "../../../entities/index.js";
import { agentIdSchema, executionIdSchema, executionViewSchema, nextCursorSchema, NeuroflowError } from "../../../runtime/protocol/index.js";
import { cancelExecution } from "../../dispatch/task-dispatcher.js";
import { executionView } from "../../persistence/views.js";
import { executionFilters, executionQueryShape } from "../execution-query.js";
import { page } from "../pagination.js";
import type { RouteDeps } from "../route-deps.js";
import { findAgent } from "./agents.routes.js";

const listQuery = z.strictObject({ ...executionQueryShape, agentId: agentIdSchema.optional() });
const listResponse = z.object({ executions: z.array(executionViewSchema), nextCursor: nextCursorSchema });
const executionBody = z.object({ execution: executionViewSchema });
/**
 * A worker that holds the execution answers at once; silence means none does. Short, because a
 * cancel of a task no worker holds waits this long before it is cancelled in the database.
 */
const CANCEL_REPLY_TIMEOUT_MS = 1_000;

/**
 * Agent executions: per org or per agent, newest first, filtered by status, agent and time range
 * (VIEWER); cancel one (MEMBER).
 */
export function agentExecutionRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/api/orgs/:orgId/executions",
      { schema: { params: z.object({ orgId: z.string() }), querystring: listQuery, response: { 200: listResponse } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const result = await page(em, AgentExecution, executionFilters(request.params.orgId, request.query, { agent: request.query.agentId }), request.query);
          return { executions: result.items.map(executionView), nextCursor: result.nextCursor };
        }),
    );

    app.get(
      "/api/orgs/:orgId/agents/:agentId/executions",
      { schema: { params: z.object({ orgId: z.string(), agentId: z.string() }), querystring: listQuery.omit({ agentId: true }), response: { 200: listResponse } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const agent = await findAgent(em, request.params.orgId, request.params.agentId);
          const result = await page(em, AgentExecution, { ...executionFilters(request.params.orgId, request.query), agent }, request.query);
          return { executions: result.items.map(executionView), nextCursor: result.nextCursor };
        }),
    );

    app.get(
      "/api/orgs/:orgId/executions/:executionId",
      { schema: { params: z.object({ orgId: z.string(), executionId: z.string() }), response: { 200: z.object({ execution: executionViewSchema }) } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const { orgId, executionId } = request.params;
          const execution = executionIdSchema.safeParse(executionId).success
            ? await em.findOne(AgentExecution, { id: executionId, organization: orgId })
            : null;
          if (!execution) throw new NeuroflowError("NOT_FOUND", "execution not found");
          return { execution: executionView(execution) };
        }),
    );

    // 202 when a worker is cancelling it (CANCELLED follows on the WebSocket), 200 when it was
    // cancelled here (no worker held it); 409 once it has ended, 404 for another org's.
    app.post(
      "/api/orgs/:orgId/executions/:executionId/cancel",
      { schema: { params: z.object({ orgId: z.string(), executionId: z.string() }), response: { 200: executionBody, 202: executionBody } } },
      async (request, reply) => {
        const { orgId, executionId } = request.params;
        const result = await cancelExecution(
          { nc: deps.nc, logger: deps.logger, outcomes: deps.outcomes, replyTimeoutMs: Math.min(deps.taskAckTimeoutMs, CANCEL_REPLY_TIMEOUT_MS) },
          (work) => deps.gate.run(request.headers, orgId, "MEMBER", work),
          orgId,
          executionId,
        );
        return reply.status(result.forwarded ? 202 : 200).send({ execution: executionView(result.execution) });
      },
    );
  };
}
