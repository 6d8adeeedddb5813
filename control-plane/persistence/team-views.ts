import { runOutcomeView } from "./views.js";
import type { IAgentTeam, IIntegration, ITeamExecution, ITeamMember } from "../../entities/index.js";
import type { IntegrationView, TeamExecutionView, TeamMemberView, TeamView } from "../../runtime/protocol/index.js";

/**
 * Entity → API view for teams, team members, team executions and integrations. Fields are mapped
 * one by one so nothing internal leaks by accident — above all not an integration's credentials.
 */

export function teamMemberView(member: ITeamMember): TeamMemberView {
  return {
    id: member.id,
    teamId: member.team.id,
    agentId: member.agent.id,
    role: member.role,
    priority: member.priority,
    createdAt: member.createdAt.toISOString(),
  };
}

/** Members in the order a pipeline runs them: priority, then oldest first. */
export function compareMembers(a: ITeamMember, b: ITeamMember): number {
  return a.priority - b.priority || a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** `members` are the team's members (any order; the view sorts them). */
export function teamView(team: IAgentTeam, members: readonly ITeamMember[]): TeamView {
  return {
    id: team.id,
    orgId: team.organization.id,
    name: team.name,
    description: team.description ?? null,
    structure: team.structure,
    coordination: team.coordination,
    isActive: team.isActive,
    totalExecutions: team.totalExecutions,
    successRate: team.successRate,
    members: [...members].sort(compareMembers).map(teamMemberView),
    createdAt: team.createdAt.toISOString(),
    updatedAt: team.updatedAt.toISOString(),
  };
}

export function teamExecutionView(execution: ITeamExecution): TeamExecutionView {
  return {
    id: execution.id,
    orgId: execution.organization.id,
    teamId: execution.team.id,
    structure: execution.structure,
    coordination: execution.coordination,
    status: execution.status,
    input: execution.input,
    agentParticipation: execution.agentParticipation,
    results: execution.results,
    log: execution.log,
    ...runOutcomeView(execution),
  };
}

/** Says only whether credentials exist; their sealed value stays in the database. */
export function integrationView(integration: IIntegration): IntegrationView {
  return {
    id: integration.id,
    orgId: integration.organization.id,
    provider: integration.provider,
    name: integration.name,
    config: integration.config,
    hasCredentials: Boolean(integration.encryptedCredentials),
    status: integration.status,
    lastTestedAt: integration.lastTestedAt?.toISOString() ?? null,
    lastError: integration.lastError ?? null,
    createdAt: integration.createdAt.toISOString(),
    updatedAt: integration.updatedAt.toISOString(),
  };
}
