/** Every MikroORM entity, for the ORM config and the migrator. */
import { AgentExecution } from "./agent-execution.entity.js";
import { AgentTeam } from "./agent-team.entity.js";
import { AiAgent } from "./ai-agent.entity.js";
import { ApiKey } from "./api-key.entity.js";
import { Experiment } from "./experiment.entity.js";
import { Integration } from "./integration.entity.js";
import { Membership } from "./membership.entity.js";
import { Organization } from "./organization.entity.js";
import { TeamExecution } from "./team-execution.entity.js";
import { TeamMember } from "./team-member.entity.js";
import { User } from "./user.entity.js";
import { WorkflowExecution } from "./workflow-execution.entity.js";
import { WorkflowTemplate } from "./workflow-template.entity.js";
import { Workflow } from "./workflow.entity.js";

export { Organization, type IOrganization } from "./organization.entity.js";
export { User, type IUser } from "./user.entity.js";
export { Membership, type IMembership } from "./membership.entity.js";
export { ApiKey, type IApiKey } from "./api-key.entity.js";
export { AiAgent, type IAiAgent } from "./ai-agent.entity.js";
export { AgentExecution, type IAgentExecution } from "./agent-execution.entity.js";
export { Workflow, type IWorkflow } from "./workflow.entity.js";
export { WorkflowExecution, type IWorkflowExecution } from "./workflow-execution.entity.js";
export { WorkflowTemplate, type IWorkflowTemplate } from "./workflow-template.entity.js";
export { AgentTeam, type IAgentTeam } from "./agent-team.entity.js";
export { TeamMember, type ITeamMember } from "./team-member.entity.js";
export { TeamExecution, type ITeamExecution } from "./team-execution.entity.js";
export { Integration, type IIntegration } from "./integration.entity.js";
export { Experiment, type IExperiment } from "./experiment.entity.js";
export * from "./enums.js";

export const allEntities = [
  Organization,
  User,
  Membership,
  ApiKey,
  AiAgent,
  AgentExecution,
  Workflow,
  WorkflowExecution,
  WorkflowTemplate,
  AgentTeam,
  TeamMember,
  TeamExecution,
  Integration,
  Experiment,
];

/** Tables whose rows belong to one organization (row level security applies to each). */
export const tenantTables = [
  "neuroflow_memberships",
  "neuroflow_api_keys",
  "neuroflow_ai_agents",
  "neuroflow_agent_executions",
  "neuroflow_workflows",
  "neuroflow_workflow_executions",
  "neuroflow_workflow_templates",
  "neuroflow_agent_teams",
  "neuroflow_team_members",
  "neuroflow_team_executions",
  "neuroflow_integrations",
  "neuroflow_experiments",
] as const;
