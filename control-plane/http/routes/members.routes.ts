import type { EntityManager } from "@mikro-orm/postgresql";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { Membership, User, type IMembership } from "../../../entities/index.js";
import { addMemberBodySchema, memberViewSchema, NeuroflowError, updateMemberBodySchema, type MemberView } from "../../../runtime/protocol/index.js";
import type { RouteDeps } from "../route-deps.js";

const orgParams = z.object({ orgId: z.string() });
const memberParams = z.object({ orgId: z.string(), userId: z.string() });
const memberBody = z.object({ member: memberViewSchema });

function memberView(membership: IMembership): MemberView {
  return {
    userId: membership.user.id,
    email: membership.user.email,
    name: membership.user.name,
    role: membership.role,
    joinedAt: membership.createdAt.toISOString(),
  };
}

async function findMembership(em: EntityManager, orgId: string, userId: string) {
  const membership = z.uuid().safeParse(userId).success
    ? await em.findOne(Membership, { organization: orgId, user: userId }, { populate: ["user"] })
    : null;
  if (!membership) throw new NeuroflowError("NOT_FOUND", "member not found");
  return membership;
}

/** Refuses a change that would leave the org without an OWNER. */
async function keepAnOwner(em: EntityManager, orgId: string, membership: IMembership, nextRole: string | null): Promise<void> {
  if (membership.role !== "OWNER" || nextRole === "OWNER") return;
  const owners = await em.count(Membership, { organization: orgId, role: "OWNER" });
  if (owners <= 1) throw new NeuroflowError("CONFLICT", "an organization needs at least one OWNER");
}

/** Members of an org: everyone reads the list; only an OWNER adds, re-roles or removes. */
export function memberRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/orgs/:orgId/members", { schema: { params: orgParams, response: { 200: z.object({ members: z.array(memberViewSchema) }) } } }, async (request) =>
      deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em, access) => {
        const members = await em.find(Membership, { organization: access.orgId }, { populate: ["user"], orderBy: { createdAt: "asc" } });
        return { members: members.map(memberView) };
      }),
    );

    app.post("/api/orgs/:orgId/members", { schema: { params: orgParams, body: addMemberBodySchema, response: { 201: memberBody } } }, async (request, reply) => {
      const member = await deps.gate.run(request.headers, request.params.orgId, "OWNER", async (em, access) => {
        // The person isn't a member yet, so row-level security hides them from us: look them up as the system.
        const user = await deps.db.asSystem(null, (sys) => sys.findOne(User, { email: request.body.email.toLowerCase() }));
        if (!user) throw new NeuroflowError("NOT_FOUND", "no user with that email");
        if (await em.count(Membership, { organization: access.orgId, user: user.id })) {
          throw new NeuroflowError("CONFLICT", "already a member");
        }
        const membership = em.create(Membership, { organization: access.orgId, user: user.id, role: request.body.role });
        await em.flush();
        return findMembership(em, access.orgId, membership.user.id);
      });
      return reply.status(201).send({ member: memberView(member) });
    });

    app.patch("/api/orgs/:orgId/members/:userId", { schema: { params: memberParams, body: updateMemberBodySchema, response: { 200: memberBody } } }, async (request) =>
      deps.gate.run(request.headers, request.params.orgId, "OWNER", async (em, access) => {
        const membership = await findMembership(em, access.orgId, request.params.userId);
        await keepAnOwner(em, access.orgId, membership, request.body.role);
        membership.role = request.body.role;
        await em.flush();
        return { member: memberView(membership) };
      }),
    );

    app.delete("/api/orgs/:orgId/members/:userId", { schema: { params: memberParams } }, async (request, reply) => {
      await deps.gate.run(request.headers, request.params.orgId, "OWNER", async (em, access) => {
        const membership = await findMembership(em, access.orgId, request.params.userId);
        await keepAnOwner(em, access.orgId, membership, null);
        em.remove(membership);
        await em.flush();
      });
      return reply.status(204).send();
    });
  };
}
