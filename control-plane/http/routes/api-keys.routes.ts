import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ApiKey, type IApiKey, type MembershipRole } from "../../../entities/index.js";
import { apiKeyViewSchema, createApiKeyBodySchema, NeuroflowError, type ApiKeyView } from "../../../runtime/protocol/index.js";
import { generateApiKey } from "../../auth/api-keys.js";
import type { RouteDeps } from "../route-deps.js";

const orgParams = z.object({ orgId: z.string() });
const keyParams = z.object({ orgId: z.string(), keyId: z.string() });
const rank: Record<MembershipRole, number> = { VIEWER: 0, MEMBER: 1, ADMIN: 2, OWNER: 3 };

function apiKeyView(key: IApiKey): ApiKeyView {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    role: key.role,
    createdBy: key.createdBy?.id ?? null,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    expiresAt: key.expiresAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}

/**
 * Org-scoped API keys, managed by an OWNER. The key itself is in the creation response only;
 * afterwards only its prefix is shown. Revoking is immediate (the next request fails).
 */
export function apiKeyRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/orgs/:orgId/api-keys", { schema: { params: orgParams, response: { 200: z.object({ apiKeys: z.array(apiKeyViewSchema) }) } } }, async (request) =>
      deps.gate.run(request.headers, request.params.orgId, "OWNER", async (em, access) => ({
        apiKeys: (await em.find(ApiKey, { organization: access.orgId }, { orderBy: { createdAt: "desc" } })).map(apiKeyView),
      })),
    );

    app.post(
      "/api/orgs/:orgId/api-keys",
      { schema: { params: orgParams, body: createApiKeyBodySchema, response: { 201: z.object({ apiKey: apiKeyViewSchema, key: z.string() }) } } },
      async (request, reply) => {
        const created = await deps.gate.run(request.headers, request.params.orgId, "OWNER", async (em, access) => {
          if (rank[request.body.role] > rank[access.role]) throw new NeuroflowError("FORBIDDEN", "a key can't have more rights than you");
          const expiresAt = request.body.expiresAt ? new Date(request.body.expiresAt) : null;
          if (expiresAt && expiresAt <= new Date()) throw new NeuroflowError("VALIDATION_FAILED", "expiresAt must be in the future");
          const secret = generateApiKey(access.orgId);
          const key = em.create(ApiKey, {
            organization: access.orgId,
            name: request.body.name,
            role: request.body.role,
            prefix: secret.prefix,
            secretHash: secret.secretHash,
            createdBy: access.userId,
            expiresAt,
          });
          await em.flush();
          return { key, secret: secret.key };
        });
        return reply.status(201).send({ apiKey: apiKeyView(created.key), key: created.secret });
      },
    );

    app.delete("/api/orgs/:orgId/api-keys/:keyId", { schema: { params: keyParams } }, async (request, reply) => {
      await deps.gate.run(request.headers, request.params.orgId, "OWNER", async (em, access) => {
        const key = z.uuid().safeParse(request.params.keyId).success
          ? await em.findOne(ApiKey, { id: request.params.keyId, organization: access.orgId })
          : null;
        if (!key) throw new NeuroflowError("NOT_FOUND", "API key not found");
        key.revokedAt ??= new Date();
        await em.flush();
      });
      return reply.status(204).send();
    });
  };
}
