import type { EntityManager } from "@mikro-orm/postgresql";
import { NeuroflowError, orgIdSchema, teamIdSchema } from "../../runtime/protocol/index.js";
import type { TeamRef } from "./team-runner.js";

/** A team's row as a run needs it; `structure` and `coordination` are checked by the run request's schema. */
export interface RunnableTeam {
  id: string;
  orgId: string;
  isActive: boolean;
  structure: unknown;
  coordination: unknown;
}

/** A member with its agent; what the database does not guarantee is checked by the run request's schema. */
export interface RunnableMember {
  agentId: string;
  name: string;
  role: unknown;
  priority: number;
  capabilities: unknown;
  personality: unknown;
  modelConfig: unknown;
  isActive: boolean;
  totalExecutions: number;
  successRate: number;
}

/** One row per member, the team's columns on each; a team without members is one row with no member. */
type RunnableRow = { team: RunnableTeam } & (RunnableMember | { agentId: null });

/**
 * The team with its members and their agents, in one statement (a run starts often: no entity
 * hydration), inside the caller's transaction, so row-level security shows only its org's rows.
 * Members come in the order compareMembers (team-views.ts) gives: priority, creation time to the
 * millisecond (the precision a loaded `createdAt` has), then id — uuids order as their lowercase
 * text does. Throws NOT_FOUND ("team not found") for a malformed id or a team not found.
 */
export async function loadRunnableTeam(em: EntityManager, team: TeamRef): Promise<RunnableTeam & { members: RunnableMember[] }> {
  const wellFormed = orgIdSchema.safeParse(team.orgId).success && teamIdSchema.safeParse(team.teamId).success;
  const rows = wellFormed
    ? await em.execute<RunnableRow[]>(
        `select json_build_object('id', t.id, 'orgId', t.organization_id, 'isActive', t.is_active, 'structure', t.structure,
                                  'coordination', t.coordination) as team,
                a.id as "agentId", a.name, m.role, m.priority, a.capabilities, a.personality, a.model_config as "modelConfig",
                a.is_active as "isActive", a.total_executions as "totalExecutions", a.success_rate as "successRate"
           from neuroflow_agent_teams t
           left join (neuroflow_team_members m join neuroflow_ai_agents a on a.id = m.agent_id) on m.team_id = t.id
          where t.id = ? and t.organization_id = ?
          order by m.priority, date_trunc('milliseconds', m.created_at), m.id`,
        [team.teamId, team.orgId],
      )
    : [];
  const [first] = rows;
  if (!first) throw new NeuroflowError("NOT_FOUND", "team not found");
  return { ...first.team, members: rows.filter((row): row is RunnableRow & RunnableMember => row.agentId !== null) };
}
