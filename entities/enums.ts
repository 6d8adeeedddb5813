import {
  difficultyLevelSchema,
  integrationProviderSchema,
  integrationStatusSchema,
  membershipRoleSchema,
  teamRoleSchema,
  teamStructureSchema,
  templateCategorySchema,
} from "../runtime/protocol/index.js";

/**
 * Enum values of the data model. The wire protocol's zod enums are the one source: entities pass
 * these arrays to `p.enum` (a text column with a CHECK constraint), so the API and the database
 * can't disagree.
 */
export { agentStatuses, executionStatuses } from "../runtime/protocol/index.js";
export type { AgentStatus, ExecutionStatus } from "../runtime/protocol/index.js";

export const membershipRoles = membershipRoleSchema.options;
export type MembershipRole = (typeof membershipRoles)[number];

export const teamStructures = teamStructureSchema.options;
export type TeamStructure = (typeof teamStructures)[number];

export const teamRoles = teamRoleSchema.options;
export type TeamRole = (typeof teamRoles)[number];

export const integrationProviders = integrationProviderSchema.options;
export type IntegrationProvider = (typeof integrationProviders)[number];

export const integrationStatuses = integrationStatusSchema.options;
export type IntegrationStatus = (typeof integrationStatuses)[number];

export const templateCategories = templateCategorySchema.options;
export type TemplateCategory = (typeof templateCategories)[number];

export const difficultyLevels = difficultyLevelSchema.options;
export type DifficultyLevel = (typeof difficultyLevels)[number];
