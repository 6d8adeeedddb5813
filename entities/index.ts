/** Every MikroORM entity, for the ORM config and the migrator. */
export { Organization, type IOrganization } from "./organization.entity.js";
export { User, type IUser } from "./user.entity.js";
export { Membership, type IMembership } from "./membership.entity.js";
export { AiAgent, type IAiAgent } from "./ai-agent.entity.js";
export { AgentExecution, type IAgentExecution } from "./agent-execution.entity.js";
export * from "./enums.js";

import { AgentExecution } from "./agent-execution.entity.js";
import { AiAgent } from "./ai-agent.entity.js";
import { Membership } from "./membership.entity.js";
import { Organization } from "./organization.entity.js";
import { User } from "./user.entity.js";

export const allEntities = [Organization, User, Membership, AiAgent, AgentExecution];
