import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { Integration, integrationProviders, integrationStatuses } from "../../../entities/index.js";
import {
  createIntegrationBodySchema,
  integrationConfigSchema,
  integrationIdSchema,
  integrationViewSchema,
  nextCursorSchema,
  NeuroflowError,
  updateIntegrationBodySchema,
} from "../../../runtime/protocol/index.js";
import { integrationCredentialsContext, type CredentialsCipher } from "../../auth/credentials-cipher.js";
import { integrationView } from "../../persistence/team-views.js";
import { page, pageQueryShape } from "../pagination.js";
import type { RouteDeps } from "../route-deps.js";

// Path ids are checked in the handler (NOT_FOUND), as in agents.routes.ts.
const orgParams = z.object({ orgId: z.string() });
const integrationParams = z.object({ orgId: z.string(), integrationId: z.string() });
const integrationBody = z.object({ integration: integrationViewSchema });
const listQuery = z.strictObject({
  ...pageQueryShape,
  provider: z.enum(integrationProviders).optional(),
  status: z.enum(integrationStatuses).optional(),
});

/** Throws NOT_FOUND unless the integration exists in `orgId`. */
export async function findIntegration(em: EntityManager, orgId: string, integrationId: string) {
  const integration = integrationIdSchema.safeParse(integrationId).success
    ? await em.findOne(Integration, { id: integrationId, organization: orgId })
    : null;
  if (!integration) throw new NeuroflowError("NOT_FOUND", "integration not found");
  return integration;
}

function seal(cipher: CredentialsCipher, credentials: Record<string, string> | null | undefined, orgId: string, id: string): string | null {
  return credentials ? cipher.encrypt(credentials, integrationCredentialsContext(orgId, id)) : null;
}

/**
 * Integrations of an org: read (VIEWER), manage (ADMIN). Credentials are write-only: sealed with
 * `deps.cipher` before they reach the database, never in a response (views say `hasCredentials`),
 * and never logged — no handler here logs a body.
 */
export function integrationRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/api/orgs/:orgId/integrations",
      {
        schema: {
          params: orgParams,
          querystring: listQuery,
          response: { 200: z.object({ integrations: z.array(integrationViewSchema), nextCursor: nextCursorSchema }) },
        },
      },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const { provider, status, limit, cursor } = request.query;
          const where = { organization: request.params.orgId, ...(provider ? { provider } : {}), ...(status ? { status } : {}) };
          const result = await page(em, Integration, where, { limit, cursor, direction: "asc" });
          return { integrations: result.items.map(integrationView), nextCursor: result.nextCursor };
        }),
    );

    app.post(
      "/api/orgs/:orgId/integrations",
      { schema: { params: orgParams, body: createIntegrationBodySchema, response: { 201: integrationBody } } },
      async (request, reply) => {
        const { credentials, ...fields } = request.body;
        const integration = await deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em, access) => {
          // The id is chosen first because the sealed credentials are bound to it.
          const id = randomUUID();
          const sealed = seal(deps.cipher, credentials, access.orgId, id);
          // The ORM types a hidden nullable column as a required non-null string (Hidden<string | null>
          // loses its null), so create() takes a placeholder and assign() (which admits null) sets the
          // real value before anything is written.
          const created = em.create(Integration, { ...fields, id, organization: access.orgId, createdBy: access.userId, encryptedCredentials: "" });
          em.assign(created, { encryptedCredentials: sealed });
          await em.flush();
          return created;
        });
        return reply.status(201).send({ integration: integrationView(integration) });
      },
    );

    app.get(
      "/api/orgs/:orgId/integrations/:integrationId",
      { schema: { params: integrationParams, response: { 200: integrationBody } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => ({
          integration: integrationView(await findIntegration(em, request.params.orgId, request.params.integrationId)),
        })),
    );

    app.patch(
      "/api/orgs/:orgId/integrations/:integrationId",
      { schema: { params: integrationParams, body: updateIntegrationBodySchema, response: { 200: integrationBody } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em, access) => {
          const integration = await findIntegration(em, access.orgId, request.params.integrationId);
          const { name, config, credentials } = request.body;
          if (config !== undefined) {
            // The provider is fixed, so the new config is checked against the stored one.
            const parsed = integrationConfigSchema.safeParse({ provider: integration.provider, config });
            if (!parsed.success) {
              const details = parsed.error.issues.map((issue) => ({ path: `/${issue.path.join("/")}`, code: issue.code, message: issue.message }));
              const summary = details.slice(0, 3).map((detail) => `${detail.path} ${detail.message}`).join("; ");
              throw new NeuroflowError("VALIDATION_FAILED", `invalid ${integration.provider} integration: ${summary}`, { details });
            }
            integration.config = parsed.data.config;
          }
          if (name !== undefined) integration.name = name;
          // assign(), as in create, so `null` (remove them) type-checks.
          if (credentials !== undefined) em.assign(integration, { encryptedCredentials: seal(deps.cipher, credentials, access.orgId, integration.id) });
          // A new target or secret makes the last connection test say nothing about the integration.
          if (config !== undefined || credentials !== undefined) {
            integration.status = "DISCONNECTED";
            integration.lastError = null;
          }
          await em.flush();
          return { integration: integrationView(integration) };
        }),
    );

    app.delete(
      "/api/orgs/:orgId/integrations/:integrationId",
      { schema: { params: integrationParams } },
      async (request, reply) => {
        await deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em) => {
          em.remove(await findIntegration(em, request.params.orgId, request.params.integrationId));
          await em.flush();
        });
        return reply.status(204).send();
      },
    );
  };
}
