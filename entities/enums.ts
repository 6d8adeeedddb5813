/**
 * Enum values of the data model. The wire protocol owns the values that travel (agent and
 * execution status); the rest are the database's own. Entities pass these arrays to `p.enum`
 * (a text column with a CHECK constraint).
 */
export { agentStatuses, executionStatuses } from "../runtime/protocol/index.js";
export type { AgentStatus, ExecutionStatus } from "../runtime/protocol/index.js";

export const membershipRoles = ["OWNER", "ADMIN", "MEMBER", "VIEWER"] as const;
export type MembershipRole = (typeof membershipRoles)[number];

export const teamStructures = ["HIERARCHICAL", "COLLABORATIVE", "PIPELINE", "DEMOCRATIC"] as const;
export type TeamStructure = (typeof teamStructures)[number];

export const teamRoles = ["LEADER", "WORKER", "COORDINATOR", "SPECIALIST"] as const;
export type TeamRole = (typeof teamRoles)[number];

export const integrationProviders = ["SLACK", "GMAIL", "WEBHOOK", "HTTP"] as const;
export type IntegrationProvider = (typeof integrationProviders)[number];

export const integrationStatuses = ["CONNECTED", "DISCONNECTED", "ERROR", "TESTING"] as const;
export type IntegrationStatus = (typeof integrationStatuses)[number];

export const templateCategories = [
  "SALES",
  "SUPPORT",
  "MARKETING",
  "DATA_PROCESSING",
  "AUTOMATION",
  "ANALYTICS",
  "CONTENT",
  "COMMUNICATION",
] as const;
export type TemplateCategory = (typeof templateCategories)[number];

export const difficultyLevels = ["BEGINNER", "INTERMEDIATE", "ADVANCED", "EXPERT"] as const;
export type DifficultyLevel = (typeof difficultyLevels)[number];
