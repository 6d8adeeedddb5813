import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AgentTeam, AiAgent, TeamExecution, TeamMember, type IAgentTeam, type ITeamMember } from "../../../entities/index.js";
import {
  createTeamBodySchema,
  nextCursorSchema,
  NeuroflowError,
  teamDefinitionSchema,
  teamIdSchema,
  teamStructureSchema,
  teamViewSchema,
  updateTeamBodySchema,
  type TeamDefinition,
  type TeamMemberInput,
} from "../../../runtime/protocol/index.js";
import { teamView } from "../../persistence/team-views.js";
import { page, pageQueryShape } from "../pagination.js";
import type { RouteDeps } from "../route-deps.js";

// Path ids are checked in the handler (NOT_FOUND), as in agents.routes.ts.
const orgParams = z.object({ orgId: z.string() });
const teamParams = z.object({ orgId: z.string(), teamId: z.string() });
const teamBody = z.object({ team: teamViewSchema });
const listQuery = z.strictObject({
  ...pageQueryShape,
  structure: teamStructureSchema.optional(),
  isActive: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
});

/**
 * Throws NOT_FOUND unless the team exists in `orgId`. With `lock`, the row stays locked to the end
 * of the unit of work: every change to a team or its members takes it first, so two concurrent
 * changes (say, removing the last two workers) are checked against the team one after the other.
 */
export async function findTeam(em: EntityManager, orgId: string, teamId: string, options: { lock?: boolean } = {}) {
  const team = teamIdSchema.safeParse(teamId).success
    ? await em.findOne(AgentTeam, { id: teamId, organization: orgId }, options.lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {})
    : null;
  if (!team) throw new NeuroflowError("NOT_FOUND", "team not found");
  return team;
}

/** The members of each team, by team id. */
export async function membersOf(em: EntityManager, teams: readonly IAgentTeam[]): Promise<Map<string, ITeamMember[]>> {
  const byTeam = new Map<string, ITeamMember[]>(teams.map((team) => [team.id, []]));
  if (teams.length === 0) return byTeam;
  const members = await em.find(TeamMember, { team: { $in: teams.map((team) => team.id) } });
  for (const member of members) byTeam.get(member.team.id)?.push(member);
  return byTeam;
}

/** Throws NOT_FOUND ("agent not found", the first missing id in `details`) unless each id is an agent of `orgId`. */
export async function requireAgents(em: EntityManager, orgId: string, agentIds: readonly string[]): Promise<void> {
  const unique = [...new Set(agentIds)];
  if (unique.length === 0) return;
  const found = new Set((await em.find(AiAgent, { id: { $in: unique }, organization: orgId }, { fields: ["id"] })).map((agent) => agent.id));
  const missing = unique.find((id) => !found.has(id));
  if (missing) throw new NeuroflowError("NOT_FOUND", "agent not found", { details: { agentId: missing } });
}

/** A stored member as it would be written in a body, for re-checking the team's rules. */
export function memberInput(member: ITeamMember): TeamMemberInput {
  return { agentId: member.agent.id, role: member.role, priority: member.priority };
}

/**
 * The team that a change would leave, checked as a whole (coordination against structure, then the
 * structure's rules on the members). Throws VALIDATION_FAILED (400) with every issue in `details`,
 * shaped like a schema error's.
 */
export function checkTeam(candidate: { structure: string; coordination: unknown; members: readonly TeamMemberInput[] }): TeamDefinition {
  const parsed = teamDefinitionSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => ({ path: `/${issue.path.join("/")}`, code: issue.code, message: issue.message }));
  const summary = details.slice(0, 3).map((detail) => `${detail.path} ${detail.message}`).join("; ");
  throw new NeuroflowError("VALIDATION_FAILED", `invalid team: ${summary}`, { details });
}

/**
 * Agent teams of an org: read (VIEWER), manage (ADMIN). Members and team executions have their own
 * plugins (team-members.routes.ts, team-executions.routes.ts).
 */
export function teamRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/api/orgs/:orgId/teams",
      { schema: { params: orgParams, querystring: listQuery, response: { 200: z.object({ teams: z.array(teamViewSchema), nextCursor: nextCursorSchema }) } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const { structure, isActive, limit, cursor } = request.query;
          const where = {
            organization: request.params.orgId,
            ...(structure ? { structure } : {}),
            ...(isActive === undefined ? {} : { isActive }),
          };
          const result = await page(em, AgentTeam, where, { limit, cursor, direction: "asc" });
          const members = await membersOf(em, result.items);
          return { teams: result.items.map((team) => teamView(team, members.get(team.id) ?? [])), nextCursor: result.nextCursor };
        }),
    );

    app.post(
      "/api/orgs/:orgId/teams",
      { schema: { params: orgParams, body: createTeamBodySchema, response: { 201: teamBody } } },
      async (request, reply) => {
        const { members, description, ...fields } = request.body;
        const team = await deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em, access) => {
          await requireAgents(em, access.orgId, members.map((member) => member.agentId));
          const created = em.create(AgentTeam, { ...fields, description: description ?? null, organization: access.orgId, createdBy: access.userId });
          const rows = members.map((member) => em.create(TeamMember, { role: member.role, priority: member.priority, agent: member.agentId, organization: access.orgId, team: created }));
          await em.flush();
          return teamView(created, rows);
        });
        return reply.status(201).send({ team });
      },
    );

    app.get(
      "/api/orgs/:orgId/teams/:teamId",
      { schema: { params: teamParams, response: { 200: teamBody } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "VIEWER", async (em) => {
          const team = await findTeam(em, request.params.orgId, request.params.teamId);
          return { team: teamView(team, (await membersOf(em, [team])).get(team.id) ?? []) };
        }),
    );

    app.patch(
      "/api/orgs/:orgId/teams/:teamId",
      { schema: { params: teamParams, body: updateTeamBodySchema, response: { 200: teamBody } } },
      async (request) =>
        deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em, access) => {
          const team = await findTeam(em, access.orgId, request.params.teamId, { lock: true });
          const current = await em.find(TeamMember, { team });
          const { structure, coordination, members, ...plain } = request.body;
          let result = current;
          if (structure !== undefined || coordination !== undefined || members !== undefined) {
            if (structure !== undefined && structure !== team.structure && coordination === undefined) {
              throw new NeuroflowError("VALIDATION_FAILED", `changing the structure to ${structure} needs its coordination in the same request`);
            }
            const definition = checkTeam({
              structure: structure ?? team.structure,
              coordination: coordination ?? team.coordination,
              members: members ?? current.map(memberInput),
            });
            if (members !== undefined) {
              await requireAgents(em, access.orgId, definition.members.map((member) => member.agentId));
              result = replaceMembers(em, team, current, definition.members);
            }
            team.structure = definition.structure;
            team.coordination = definition.coordination;
          }
          em.assign(team, plain);
          await em.flush();
          return { team: teamView(team, result) };
        }),
    );

    app.delete(
      "/api/orgs/:orgId/teams/:teamId",
      { schema: { params: teamParams } },
      async (request, reply) => {
        await deps.gate.run(request.headers, request.params.orgId, "ADMIN", async (em, access) => {
          const team = await findTeam(em, access.orgId, request.params.teamId, { lock: true });
          // Deleting cascades to the executions; one still in flight would lose its record mid-run.
          const live = await em.count(TeamExecution, { team, status: { $in: ["PENDING", "RUNNING"] } });
          if (live > 0) throw new NeuroflowError("CONFLICT", `team has ${live} execution(s) pending or running; wait for them to finish`);
          em.remove(team);
          await em.flush();
        });
        return reply.status(204).send();
      },
    );
  };
}

/**
 * Makes the stored members match `wanted`: an agent that stays keeps its member row (and id) with
 * the new role and priority, the others are removed or created. Returns the resulting members.
 */
function replaceMembers(em: EntityManager, team: IAgentTeam, current: readonly ITeamMember[], wanted: readonly TeamMemberInput[]): ITeamMember[] {
  const byAgent = new Map(current.map((member) => [member.agent.id, member]));
  const kept = new Set(wanted.map((member) => member.agentId));
  for (const member of current) if (!kept.has(member.agent.id)) em.remove(member);
  return wanted.map((input) => {
    const existing = byAgent.get(input.agentId);
    if (!existing) return em.create(TeamMember, { role: input.role, priority: input.priority, agent: input.agentId, organization: team.organization, team });
    existing.role = input.role;
    existing.priority = input.priority;
    return existing;
  });
}
