import type { EntityManager } from "@mikro-orm/postgresql";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AiAgent, agentStatuses } from "../../../entities/index.js";
import {
  agentIdSchema,
  agentViewSchema,
  createAgentBodySchema,
  createTaskBodySchema,
  executionViewSchema,
  nextCursorSchema,
  NeuroflowError,
  updateAgentBodySchema,
} from "../../../runtime/protocol/index.js";
import { dispatchTask } from "../../dispatch/task-dispatcher.js";
import { agentView, executionView } from "../../persistence/views.js";
import { page, pageQueryShape } from "../pagination.js";
import type { RouteDeps } from "../route-deps.js";

// Path ids are checked in the handler (NOT_FOUND), not by the schema, so a malformed id reads as
// "no such thing" — the same answer as another org's id.
const orgParams = z.object({ orgId: z.string() });
const agentParams = z.object({ orgId: z.string(), agentId: z.string() });
const agentBody = z.object({ agent: agentViewSchema });
const listQuery = z.strictObject({
  ...pageQueryShape,
  status: z.enum(agentStatuses).optional(),
  isActive: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
});

/** Throws NOT_FOUND unless the agent exists in `orgId` (and row-level security lets us see it). */
export async function findAgent(em: EntityManager, orgId: string, agentId: string) {
  const agent = agentIdSchema.safeParse(agentId).success ? await em.findOne(AiAgent, { id: agentId, organization: orgId }) : null;
  if (!agent) throw new NeuroflowError("NOT_FOUND", "agent not found");
  return agent;
}

/** Agents of an org: read (VIEWER), manage (ADMIN), give a task (MEMBER). */
export function agentRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/api/orgs/:orgId/agents",
      { schema: { params: orgParams, querystring: listQuery, response: { 200: z.object({ agents: z.array(agentViewSchema), nextCursor: nextCursorSchema }) } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const { status, isActive, limit, cursor } = request.query;
          const where = {
            organization: request.params.orgId,
            ...(status ? { status } : {}),
            ...(isActive === undefined ? {} : { isActive }),
          };
          const result = await page(em, AiAgent, where, { limit, cursor, direction: "asc" });
          return { agents: result.items.map(agentView), nextCursor: result.nextCursor };
        }),
    );

    app.post(
      "/api/orgs/:orgId/agents",
      { schema: { params: orgParams, body: createAgentBodySchema, response: { 201: agentBody } } },
      async (request, reply) => {
        const agent = await deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em, access) => {
          const created = em.create(AiAgent, {
            ...request.body,
            description: request.body.description ?? null,
            organization: access.orgId,
            createdBy: access.userId,
            memory: {},
          });
          await em.flush();
          return created;
        });
        return reply.status(201).send({ agent: agentView(agent) });
      },
    );

    app.get(
      "/api/orgs/:orgId/agents/:agentId",
      { schema: { params: agentParams, response: { 200: agentBody } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => ({
          agent: agentView(await findAgent(em, request.params.orgId, request.params.agentId)),
        })),
    );

    app.patch(
      "/api/orgs/:orgId/agents/:agentId",
      { schema: { params: agentParams, body: updateAgentBodySchema, response: { 200: agentBody } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em) => {
          const agent = await findAgent(em, request.params.orgId, request.params.agentId);
          em.assign(agent, request.body);
          await em.flush();
          return { agent: agentView(agent) };
        }),
    );

    app.delete(
      "/api/orgs/:orgId/agents/:agentId",
      { schema: { params: agentParams } },
      async (request, reply) => {
        const { orgId, agentId } = request.params;
        await deps.gate.run(request.headers, orgId, "ADMIN", async (em) => {
          em.remove(await findAgent(em, orgId, agentId));
          await em.flush();
        });
        // Once the row is gone: its memory must not outlive it. The agent is deleted either way.
        await deps.snapshots.forget(orgId, agentId).catch((error: unknown) => {
          deps.logger.error({ err: error, orgId, agentId }, "deleted an agent but could not remove its snapshot (its memory)");
        });
        return reply.status(204).send();
      },
    );

    app.post(
      "/api/orgs/:orgId/agents/:agentId/tasks",
      { schema: { params: agentParams, body: createTaskBodySchema, response: { 202: z.object({ execution: executionViewSchema }) } } },
      async (request, reply) => {
        const { orgId, agentId } = request.params;
        const execution = await dispatchTask(
          { nc: deps.nc, logger: deps.logger, publishTimeoutMs: deps.taskAckTimeoutMs },
          (work) => deps.gate.run(request.headers, orgId, "MEMBER", work),
          (em) => findAgent(em, orgId, agentId),
          request.body.prompt,
        ).catch((error: unknown) => {
          deps.metrics.tasksDispatched.inc({ result: error instanceof NeuroflowError ? error.code : "INTERNAL" });
          throw error;
        });
        deps.metrics.tasksDispatched.inc({ result: "accepted" });
        return reply.status(202).send({ execution: executionView(execution) });
      },
    );
  };
}
