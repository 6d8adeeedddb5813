import type { FilterQuery } from "@mikro-orm/core";
import { raw, type EntityManager } from "@mikro-orm/postgresql";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { difficultyLevels, templateCategories, Workflow, WorkflowTemplate, type IWorkflowTemplate } from "../../../entities/index.js";
import {
  assertSoundGraphChange,
  createTemplateBodySchema,
  instantiateTemplateBodySchema,
  nextCursorSchema,
  NeuroflowError,
  rateTemplateBodySchema,
  templateIdSchema,
  templateViewSchema,
  updateTemplateBodySchema,
  workflowViewSchema,
} from "../../../runtime/protocol/index.js";
import { templateView, workflowView } from "../../persistence/workflow-views.js";
import { page, pageQueryShape } from "../pagination.js";
import type { RouteDeps } from "../route-deps.js";

// Path ids are checked in the handler (NOT_FOUND), as everywhere: a malformed id reads as "no such thing".
const orgParams = z.object({ orgId: z.string() });
const templateParams = z.object({ orgId: z.string(), templateId: z.string() });
const templateBody = z.object({ template: templateViewSchema });
const listQuery = z.strictObject({
  ...pageQueryShape,
  /** own: the org's templates (published or not); public: system and published ones (the org's too); all: both. */
  scope: z.enum(["own", "public", "all"]).default("all"),
  category: z.enum(templateCategories).optional(),
  difficulty: z.enum(difficultyLevels).optional(),
  featured: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
  /** Case-insensitive substring of the name or description. */
  search: z.string().trim().min(1).max(200).optional(),
});

/** A LIKE pattern matching `text` anywhere, with `\`, `%` and `_` in it matched literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The templates an org can read: its own, the system's, and those other orgs published. Row-level
 * security says the same; this filter keeps the query honest without relying on it alone.
 */
function readableBy(orgId: string): FilterQuery<IWorkflowTemplate> {
  return { $or: [{ organization: orgId }, { organization: null }, { isPublic: true }] };
}

/** Throws NOT_FOUND unless `orgId` can read the template (its own, a system one or a published one). */
export async function findTemplate(em: EntityManager, orgId: string, templateId: string): Promise<IWorkflowTemplate> {
  const template = templateIdSchema.safeParse(templateId).success
    ? await em.findOne(WorkflowTemplate, { $and: [{ id: templateId }, readableBy(orgId)] })
    : null;
  if (!template) throw new NeuroflowError("NOT_FOUND", "template not found");
  return template;
}

/**
 * Throws NOT_FOUND when the org can't read the template, FORBIDDEN when it can but doesn't own it:
 * a system template or another org's published one is visible, so "not found" would be a lie.
 */
async function findOwnTemplate(em: EntityManager, orgId: string, templateId: string): Promise<IWorkflowTemplate> {
  const template = await findTemplate(em, orgId, templateId);
  if (template.organization?.id !== orgId) {
    throw new NeuroflowError("FORBIDDEN", "system templates and other organizations' templates are read-only");
  }
  return template;
}

/** Who may write the counters of a template: the system role confined to the template's owner (null = system). */
interface CounterTarget {
  id: string;
  ownerOrgId: string | null;
}

/**
 * Workflow templates: read (VIEWER: own, system and published ones), manage the org's own
 * (ADMIN), rate (MEMBER) and instantiate into a workflow (ADMIN, as it creates one).
 *
 * Rating and usage counters of a template the org doesn't own can't be written as the user —
 * row-level security forbids the app role to update system and foreign rows, rightly — so after
 * the caller's transaction has proved the template readable, only the counters are changed by the
 * system role, confined to the template's owner (null = system templates), in one atomic UPDATE.
 */
export function templateRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  const countersOf = (template: IWorkflowTemplate): CounterTarget => ({ id: template.id, ownerOrgId: template.organization?.id ?? null });

  return async (app) => {
    app.get(
      "/api/orgs/:orgId/templates",
      { schema: { params: orgParams, querystring: listQuery, response: { 200: z.object({ templates: z.array(templateViewSchema), nextCursor: nextCursorSchema }) } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const { orgId } = request.params;
          const { scope, category, difficulty, featured, search, limit, cursor } = request.query;
          const scopes: Record<typeof scope, FilterQuery<IWorkflowTemplate>> = {
            own: { organization: orgId },
            public: { $or: [{ organization: null }, { isPublic: true }] },
            all: readableBy(orgId),
          };
          const pattern = search ? containsPattern(search) : undefined;
          const where: FilterQuery<IWorkflowTemplate> = {
            $and: [
              scopes[scope],
              pattern ? { $or: [{ name: { $ilike: pattern } }, { description: { $ilike: pattern } }] } : {},
              {
                ...(category ? { category } : {}),
                ...(difficulty ? { difficulty } : {}),
                ...(featured === undefined ? {} : { isFeatured: featured }),
              },
            ],
          };
          const result = await page(em, WorkflowTemplate, where, { limit, cursor });
          return { templates: result.items.map(templateView), nextCursor: result.nextCursor };
        }),
    );

    app.post(
      "/api/orgs/:orgId/templates",
      { schema: { params: orgParams, body: createTemplateBodySchema, response: { 201: templateBody } } },
      async (request, reply) => {
        const template = await deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em, access) => {
          const created = em.create(WorkflowTemplate, {
            ...request.body,
            description: request.body.description ?? null,
            organization: access.orgId,
            createdBy: access.userId,
          });
          await em.flush();
          return created;
        });
        return reply.status(201).send({ template: templateView(template) });
      },
    );

    app.get(
      "/api/orgs/:orgId/templates/:templateId",
      { schema: { params: templateParams, response: { 200: templateBody } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => ({
          template: templateView(await findTemplate(em, request.params.orgId, request.params.templateId)),
        })),
    );

    app.patch(
      "/api/orgs/:orgId/templates/:templateId",
      { schema: { params: templateParams, body: updateTemplateBodySchema, response: { 200: templateBody } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em) => {
          const template = await findOwnTemplate(em, request.params.orgId, request.params.templateId);
          assertSoundGraphChange(request.body, template);
          em.assign(template, request.body);
          await em.flush();
          return { template: templateView(template) };
        }),
    );

    app.delete("/api/orgs/:orgId/templates/:templateId", { schema: { params: templateParams } }, async (request, reply) => {
      // Workflows made from it keep their graph; their templateId becomes null (FK on delete set null).
      await deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em) => {
        em.remove(await findOwnTemplate(em, request.params.orgId, request.params.templateId));
        await em.flush();
      });
      return reply.status(204).send();
    });

    app.post(
      "/api/orgs/:orgId/templates/:templateId/rate",
      { schema: { params: templateParams, body: rateTemplateBodySchema, response: { 200: templateBody } } },
      async (request) => {
        const target = await deps.gate.run(request.headers, request.params.orgId, "MEMBER", async (em) =>
          countersOf(await findTemplate(em, request.params.orgId, request.params.templateId)),
        );
        const template = await deps.db.asSystem(target.ownerOrgId, async (em) => {
          // Every right-hand side sees the old row, so the mean uses the old count.
          const changed = await em.nativeUpdate(
            WorkflowTemplate,
            { id: target.id },
            { rating: raw("(rating * rating_count + ?) / (rating_count + 1)", [request.body.rating]), ratingCount: raw("rating_count + 1") },
          );
          // Deleted between the two transactions.
          if (changed === 0) throw new NeuroflowError("NOT_FOUND", "template not found");
          return em.findOneOrFail(WorkflowTemplate, { id: target.id });
        });
        return { template: templateView(template) };
      },
    );

    app.post(
      "/api/orgs/:orgId/templates/:templateId/instantiate",
      { schema: { params: templateParams, body: instantiateTemplateBodySchema, response: { 201: z.object({ workflow: workflowViewSchema }) } } },
      async (request, reply) => {
        const { workflow, target } = await deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em, access) => {
          const template = await findTemplate(em, request.params.orgId, request.params.templateId);
          const created = em.create(Workflow, {
            organization: access.orgId,
            name: request.body.name ?? template.name,
            description: request.body.description === undefined ? (template.description ?? null) : request.body.description,
            nodes: template.nodes,
            edges: template.edges,
            tags: template.tags,
            settings: {},
            template,
            createdBy: access.userId,
          });
          await em.flush();
          return { workflow: created, target: countersOf(template) };
        });
        // Counted only once the workflow is committed. A failed count is a statistic off by one,
        // not a reason to answer 500 for a workflow that exists (a retry would make a second one).
        await deps.db
          .asSystem(target.ownerOrgId, (em) => em.nativeUpdate(WorkflowTemplate, { id: target.id }, { usageCount: raw("usage_count + 1") }))
          .catch((err: unknown) => deps.logger.warn({ err, orgId: request.params.orgId, templateId: target.id }, "could not count a template use"));
        return reply.status(201).send({ workflow: workflowView(workflow) });
      },
    );
  };
}
