import type { EntityManager } from "@mikro-orm/postgresql";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { TeamMember, type IAgentTeam, type ITeamMember } from "../../../entities/index.js";
import {
  nextCursorSchema,
  NeuroflowError,
  teamMemberIdSchema,
  teamMemberInputSchema,
  teamMemberViewSchema,
  updateTeamMemberBodySchema,
} from "../../../runtime/protocol/index.js";
import { teamMemberView } from "../../persistence/team-views.js";
import { page, pageQueryShape } from "../pagination.js";
import type { RouteDeps } from "../route-deps.js";
import { checkTeam, findTeam, memberInput, requireAgents } from "./teams.routes.js";

const teamParams = z.object({ orgId: z.string(), teamId: z.string() });
const memberParams = z.object({ orgId: z.string(), teamId: z.string(), memberId: z.string() });
const memberBody = z.object({ member: teamMemberViewSchema });

/**
 * The locked team, its current members and the one named by `memberId`. Throws NOT_FOUND for an
 * unknown team, or a member id that is malformed or not in this team.
 */
async function lockedMember(em: EntityManager, orgId: string, teamId: string, memberId: string) {
  const team = await findTeam(em, orgId, teamId, { lock: true });
  const current = await em.find(TeamMember, { team });
  const member = teamMemberIdSchema.safeParse(memberId).success ? current.find((candidate) => candidate.id === memberId) : undefined;
  if (!member) throw new NeuroflowError("NOT_FOUND", "team member not found");
  return { team, current, member };
}

/** Throws VALIDATION_FAILED when the team with `members` would break its structure's rules. */
function recheck(team: IAgentTeam, members: readonly ITeamMember[]): void {
  checkTeam({ structure: team.structure, coordination: team.coordination, members: members.map(memberInput) });
}

/**
 * One team's members: read (VIEWER), add / change / remove (ADMIN). Every change re-checks the
 * team's structure rules on the members it would leave (e.g. removing a HIERARCHICAL team's only
 * worker is a 400), with the team row locked so concurrent changes can't each pass alone.
 */
export function teamMemberRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/api/orgs/:orgId/teams/:teamId/members",
      {
        schema: {
          params: teamParams,
          querystring: z.strictObject(pageQueryShape),
          response: { 200: z.object({ members: z.array(teamMemberViewSchema), nextCursor: nextCursorSchema }) },
        },
      },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const team = await findTeam(em, request.params.orgId, request.params.teamId);
          const result = await page(em, TeamMember, { team, organization: request.params.orgId }, { ...request.query, direction: "asc" });
          return { members: result.items.map(teamMemberView), nextCursor: result.nextCursor };
        }),
    );

    app.post(
      "/api/orgs/:orgId/teams/:teamId/members",
      { schema: { params: teamParams, body: teamMemberInputSchema, response: { 201: memberBody } } },
      async (request, reply) => {
        const member = await deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em, access) => {
          const team = await findTeam(em, access.orgId, request.params.teamId, { lock: true });
          const current = await em.find(TeamMember, { team });
          const { agentId, role, priority } = request.body;
          await requireAgents(em, access.orgId, [agentId]);
          checkTeam({ structure: team.structure, coordination: team.coordination, members: [...current.map(memberInput), request.body] });
          const created = em.create(TeamMember, { role, priority, agent: agentId, organization: access.orgId, team });
          await em.flush();
          return teamMemberView(created);
        });
        return reply.status(201).send({ member });
      },
    );

    app.patch(
      "/api/orgs/:orgId/teams/:teamId/members/:memberId",
      { schema: { params: memberParams, body: updateTeamMemberBodySchema, response: { 200: memberBody } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em, access) => {
          const { team, current, member } = await lockedMember(em, access.orgId, request.params.teamId, request.params.memberId);
          em.assign(member, request.body);
          // `member` is one of `current`, so the check sees its new role / priority.
          recheck(team, current);
          await em.flush();
          return { member: teamMemberView(member) };
        }),
    );

    app.delete(
      "/api/orgs/:orgId/teams/:teamId/members/:memberId",
      { schema: { params: memberParams } },
      async (request, reply) => {
        await deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em, access) => {
          const { team, current, member } = await lockedMember(em, access.orgId, request.params.teamId, request.params.memberId);
          recheck(team, current.filter((candidate) => candidate !== member));
          em.remove(member);
          await em.flush();
        });
        return reply.status(204).send();
      },
    );
  };
}
