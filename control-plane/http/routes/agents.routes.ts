import type { IncomingHttpHeaders } from "node:http";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AgentExecution, AiAgent, type MembershipRole } from "../../../entities/index.js";
import {
  agentIdSchema,
  agentViewSchema,
  createTaskBodySchema,
  executionIdSchema,
  executionViewSchema,
  NeuroflowError,
  orgIdSchema,
} from "../../../runtime/protocol/index.js";
import { authenticate, requireOrgRole } from "../../auth/access.js";
import { dispatchTask } from "../../dispatch/task-dispatcher.js";
import { agentView, executionView } from "../../persistence/views.js";
import type { RouteDeps } from "../route-deps.js";

// Path ids are checked in the handler (NOT_FOUND), not by the schema, so a malformed id reads as
// "no such thing" — the same answer as another org's id.
const orgParams = z.object({ orgId: z.string() });
const agentParams = z.object({ orgId: z.string(), agentId: z.string() });
const executionParams = z.object({ orgId: z.string(), executionId: z.string() });
const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(20) });

export async function findAgent(em: EntityManager, orgId: string, agentId: string) {
  const agent = agentIdSchema.safeParse(agentId).success ? await em.findOne(AiAgent, { id: agentId, organization: orgId }) : null;
  if (!agent) throw new NeuroflowError("NOT_FOUND", "agent not found");
  return agent;
}

/** Agents of an org, their executions, and giving an agent a task. */
export function agentRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  /** One unit of work for a member of `orgId` with at least `minimum`, under row-level security. */
  async function inOrg<T>(headers: IncomingHttpHeaders, orgId: string, minimum: MembershipRole, work: (em: EntityManager, userId: string) => Promise<T>) {
    const userId = await authenticate(deps.tokens, headers);
    // Checked before it becomes a session setting: the policies cast it to uuid.
    if (!orgIdSchema.safeParse(orgId).success) throw new NeuroflowError("NOT_FOUND", "organization not found");
    return deps.db.asUser({ userId, orgId }, async (em) => {
      await requireOrgRole(em, userId, orgId, minimum);
      return work(em, userId);
    });
  }

  return async (app) => {
    app.get(
      "/api/orgs/:orgId/agents",
      { schema: { params: orgParams, response: { 200: z.object({ agents: z.array(agentViewSchema) }) } } },
      async (request) =>
        inOrg(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const agents = await em.find(AiAgent, { organization: request.params.orgId }, { orderBy: { name: "asc" } });
          return { agents: agents.map(agentView) };
        }),
    );

    app.get(
      "/api/orgs/:orgId/agents/:agentId",
      { schema: { params: agentParams, response: { 200: z.object({ agent: agentViewSchema }) } } },
      async (request) =>
        inOrg(request.headers, request.params.orgId, "VIEWER", async (em) => ({
          agent: agentView(await findAgent(em, request.params.orgId, request.params.agentId)),
        })),
    );

    app.post(
      "/api/orgs/:orgId/agents/:agentId/tasks",
      {
        schema: {
          params: agentParams,
          body: createTaskBodySchema,
          response: { 202: z.object({ execution: executionViewSchema }) },
        },
      },
      async (request, reply) => {
        const { orgId, agentId } = request.params;
        const execution = await dispatchTask(
          { nc: deps.nc, logger: deps.logger, ackTimeoutMs: deps.taskAckTimeoutMs },
          (work) => inOrg(request.headers, orgId, "MEMBER", work),
          (em) => findAgent(em, orgId, agentId),
          request.body.prompt,
        );
        return reply.status(202).send({ execution: executionView(execution) });
      },
    );

    app.get(
      "/api/orgs/:orgId/agents/:agentId/executions",
      {
        schema: {
          params: agentParams,
          querystring: listQuery,
          response: { 200: z.object({ executions: z.array(executionViewSchema) }) },
        },
      },
      async (request) =>
        inOrg(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const agent = await findAgent(em, request.params.orgId, request.params.agentId);
          const executions = await em.find(
            AgentExecution,
            { agent, organization: request.params.orgId },
            { orderBy: { createdAt: "desc", id: "desc" }, limit: request.query.limit },
          );
          return { executions: executions.map(executionView) };
        }),
    );

    app.get(
      "/api/orgs/:orgId/executions/:executionId",
      { schema: { params: executionParams, response: { 200: z.object({ execution: executionViewSchema }) } } },
      async (request) =>
        inOrg(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const { orgId, executionId } = request.params;
          const execution = executionIdSchema.safeParse(executionId).success
            ? await em.findOne(AgentExecution, { id: executionId, organization: orgId })
            : null;
          if (!execution) throw new NeuroflowError("NOT_FOUND", "execution not found");
          return { execution: executionView(execution) };
        }),
    );
  };
}
