import { randomUUID } from "node:crypto";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { Membership, Organization, type MembershipRole } from "../../../entities/index.js";
import { createOrgBodySchema, NeuroflowError, orgViewSchema, updateOrgBodySchema, type OrgView } from "../../../runtime/protocol/index.js";
import type { RouteDeps } from "../route-deps.js";

const orgParams = z.object({ orgId: z.string() });

function orgView(org: { id: string; name: string; slug: string; createdAt: Date }, role: MembershipRole): OrgView {
  return { id: org.id, name: org.name, slug: org.slug, role, createdAt: org.createdAt.toISOString() };
}

/**
 * Organizations: every logged-in user may create one (and becomes its OWNER); members read it;
 * the OWNER renames or deletes it (deleting removes every row of the org, by cascade, then its
 * agents' snapshots from the runtime's bucket).
 */
export function organizationRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post("/api/orgs", { schema: { body: createOrgBodySchema, response: { 201: z.object({ organization: orgViewSchema }) } } }, async (request, reply) => {
      const principal = await deps.gate.principal(request.headers);
      if (principal.kind !== "session") throw new NeuroflowError("FORBIDDEN", "API keys can't create organizations");
      const orgId = randomUUID();
      // Nobody is a member yet, so the first rows are the system's, confined to the new org.
      const org = await deps.db.asSystem(orgId, async (em) => {
        if (await em.findOne(Organization, { slug: request.body.slug })) {
          throw new NeuroflowError("CONFLICT", `the slug "${request.body.slug}" is taken`);
        }
        const created = em.create(Organization, { id: orgId, ...request.body });
        em.create(Membership, { organization: created, user: principal.userId, role: "OWNER" });
        await em.flush();
        return created;
      });
      return reply.status(201).send({ organization: orgView(org, "OWNER") });
    });

    app.get("/api/orgs/:orgId", { schema: { params: orgParams, response: { 200: z.object({ organization: orgViewSchema }) } } }, async (request) =>
      deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em, access) => ({
        organization: orgView(await em.findOneOrFail(Organization, { id: access.orgId }), access.role),
      })),
    );

    app.patch(
      "/api/orgs/:orgId",
      { schema: { params: orgParams, body: updateOrgBodySchema, response: { 200: z.object({ organization: orgViewSchema }) } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "OWNER", async (em, access) => {
          const org = await em.findOneOrFail(Organization, { id: access.orgId });
          org.name = request.body.name;
          await em.flush();
          return { organization: orgView(org, access.role) };
        }),
    );

    app.delete("/api/orgs/:orgId", { schema: { params: orgParams } }, async (request, reply) => {
      const orgId = await deps.gate.run(request.headers, request.params.orgId, "OWNER", async (em, access) => {
        await em.nativeDelete(Organization, { id: access.orgId });
        return access.orgId;
      });
      // Once the rows are gone: the agents' memory must not outlive them. The org is deleted either way.
      await deps.snapshots.forgetOrg(orgId).catch((error: unknown) => {
        deps.logger.error({ err: error, orgId }, "deleted an organization but could not remove its agents' snapshots (their memory)");
      });
      return reply.status(204).send();
    });
  };
}
