import { isDeepStrictEqual } from "node:util";
import type { FilterQuery } from "@mikro-orm/core";
import { raw, type EntityManager } from "@mikro-orm/postgresql";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { Workflow, WorkflowExecution, type IWorkflow } from "../../../entities/index.js";
import {
  assertSoundGraphChange,
  createWorkflowBodySchema,
  createWorkflowExecutionBodySchema,
  nextCursorSchema,
  NeuroflowError,
  updateWorkflowBodySchema,
  workflowExecutionIdSchema,
  workflowExecutionViewSchema,
  workflowIdSchema,
  workflowViewSchema,
} from "../../../runtime/protocol/index.js";
import { workflowExecutionView, workflowView } from "../../persistence/workflow-views.js";
import { executionFilters, executionQueryShape } from "../execution-query.js";
import { page, pageQueryShape } from "../pagination.js";
import type { RouteDeps } from "../route-deps.js";
import { containsPattern, findTemplate } from "./templates.routes.js";

// Path ids are checked in the handler (NOT_FOUND), not by the schema, so a malformed id reads as
// "no such thing" — the same answer as another org's id.
const orgParams = z.object({ orgId: z.string() });
const workflowParams = z.object({ orgId: z.string(), workflowId: z.string() });
const workflowBody = z.object({ workflow: workflowViewSchema });
const executionBody = z.object({ execution: workflowExecutionViewSchema });
const executionList = z.object({ executions: z.array(workflowExecutionViewSchema), nextCursor: nextCursorSchema });

const listQuery = z.strictObject({
  ...pageQueryShape,
  isActive: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
  /** Workflows carrying this tag (exact match). */
  tag: z.string().trim().min(1).max(50).optional(),
  /** Case-insensitive substring of the name. */
  search: z.string().trim().min(1).max(200).optional(),
});
const executionQuery = z.strictObject({ ...executionQueryShape, workflowId: workflowIdSchema.optional() });

/** Throws NOT_FOUND unless the workflow exists in `orgId` (and row-level security lets us see it). */
export async function findWorkflow(em: EntityManager, orgId: string, workflowId: string): Promise<IWorkflow> {
  const workflow = workflowIdSchema.safeParse(workflowId).success ? await em.findOne(Workflow, { id: workflowId, organization: orgId }) : null;
  if (!workflow) throw new NeuroflowError("NOT_FOUND", "workflow not found");
  return workflow;
}

function workflowFilters(orgId: string, query: z.infer<typeof listQuery>): FilterQuery<IWorkflow> {
  return {
    organization: orgId,
    ...(query.isActive === undefined ? {} : { isActive: query.isActive }),
    ...(query.search ? { name: { $ilike: containsPattern(query.search) } } : {}),
    // jsonb containment: the tags array holds this string (bound as JSON, never spliced into SQL).
    ...(query.tag ? { [raw("tags @> ?::jsonb", [JSON.stringify([query.tag])])]: true } : {}),
  };
}

/**
 * Workflows of an org: read (VIEWER), manage (ADMIN), run (MEMBER); and their executions, per org
 * or per workflow, newest first, filtered by status, workflow and time range.
 */
export function workflowRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/api/orgs/:orgId/workflows",
      { schema: { params: orgParams, querystring: listQuery, response: { 200: z.object({ workflows: z.array(workflowViewSchema), nextCursor: nextCursorSchema }) } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const result = await page(em, Workflow, workflowFilters(request.params.orgId, request.query), request.query);
          return { workflows: result.items.map(workflowView), nextCursor: result.nextCursor };
        }),
    );

    app.post(
      "/api/orgs/:orgId/workflows",
      { schema: { params: orgParams, body: createWorkflowBodySchema, response: { 201: workflowBody } } },
      async (request, reply) => {
        const workflow = await deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em, access) => {
          const { templateId, ...fields } = request.body;
          const created = em.create(Workflow, {
            ...fields,
            description: fields.description ?? null,
            template: templateId ? await findTemplate(em, access.orgId, templateId) : null,
            organization: access.orgId,
            createdBy: access.userId,
          });
          await em.flush();
          return created;
        });
        return reply.status(201).send({ workflow: workflowView(workflow) });
      },
    );

    app.get(
      "/api/orgs/:orgId/workflows/:workflowId",
      { schema: { params: workflowParams, response: { 200: workflowBody } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => ({
          workflow: workflowView(await findWorkflow(em, request.params.orgId, request.params.workflowId)),
        })),
    );

    app.patch(
      "/api/orgs/:orgId/workflows/:workflowId",
      { schema: { params: workflowParams, body: updateWorkflowBodySchema, response: { 200: workflowBody } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em) => {
          const { orgId, workflowId } = request.params;
          const workflow = await findWorkflow(em, orgId, workflowId);
          const { templateId, ...fields } = request.body;
          assertSoundGraphChange(fields, workflow);
          // Deep equality ignores key order, which jsonb doesn't keep: resending the same graph is no new version.
          const graphChanged =
            (fields.nodes !== undefined && !isDeepStrictEqual(fields.nodes, workflow.nodes)) ||
            (fields.edges !== undefined && !isDeepStrictEqual(fields.edges, workflow.edges));
          em.assign(workflow, fields);
          if (templateId !== undefined) workflow.template = templateId === null ? null : await findTemplate(em, orgId, templateId);
          if (graphChanged) workflow.version += 1;
          await em.flush();
          return { workflow: workflowView(workflow) };
        }),
    );

    app.delete("/api/orgs/:orgId/workflows/:workflowId", { schema: { params: workflowParams } }, async (request, reply) => {
      // Its executions go with it (FK on delete cascade).
      await deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em) => {
        em.remove(await findWorkflow(em, request.params.orgId, request.params.workflowId));
        await em.flush();
      });
      return reply.status(204).send();
    });

    app.post(
      "/api/orgs/:orgId/workflows/:workflowId/executions",
      { schema: { params: workflowParams, body: createWorkflowExecutionBodySchema, response: { 201: executionBody } } },
      async (request, reply) => {
        // Only records the run (PENDING) and counts it: the workflow executor that picks PENDING
        // runs up comes in a later issue.
        const execution = await deps.gate.run(request.headers, request.params.orgId, "MEMBER", async (em, access) => {
          const workflow = await findWorkflow(em, request.params.orgId, request.params.workflowId);
          if (!workflow.isActive) throw new NeuroflowError("CONFLICT", "workflow is inactive: activate it before running it");
          const created = em.create(WorkflowExecution, {
            organization: access.orgId,
            workflow,
            input: request.body.input,
            logs: [],
            triggeredBy: access.userId,
          });
          const now = new Date();
          // One atomic UPDATE, so concurrent runs never lose a count.
          await em.nativeUpdate(Workflow, { id: workflow.id }, { executionCount: raw("execution_count + 1"), lastExecutedAt: now });
          await em.flush();
          return created;
        });
        return reply.status(201).send({ execution: workflowExecutionView(execution) });
      },
    );

    app.get(
      "/api/orgs/:orgId/workflows/:workflowId/executions",
      { schema: { params: workflowParams, querystring: executionQuery.omit({ workflowId: true }), response: { 200: executionList } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const workflow = await findWorkflow(em, request.params.orgId, request.params.workflowId);
          const where = { ...executionFilters(request.params.orgId, request.query), workflow: workflow.id };
          const result = await page(em, WorkflowExecution, where, request.query);
          return { executions: result.items.map(workflowExecutionView), nextCursor: result.nextCursor };
        }),
    );

    app.get(
      "/api/orgs/:orgId/workflow-executions",
      { schema: { params: orgParams, querystring: executionQuery, response: { 200: executionList } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const result = await page(em, WorkflowExecution, executionFilters(request.params.orgId, request.query, { workflow: request.query.workflowId }), request.query);
          return { executions: result.items.map(workflowExecutionView), nextCursor: result.nextCursor };
        }),
    );

    app.get(
      "/api/orgs/:orgId/workflow-executions/:executionId",
      { schema: { params: z.object({ orgId: z.string(), executionId: z.string() }), response: { 200: executionBody } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const { orgId, executionId } = request.params;
          const execution = workflowExecutionIdSchema.safeParse(executionId).success
            ? await em.findOne(WorkflowExecution, { id: executionId, organization: orgId })
            : null;
          if (!execution) throw new NeuroflowError("NOT_FOUND", "workflow execution not found");
          return { execution: workflowExecutionView(execution) };
        }),
    );
  };
}
