/**
 * Enum values of the data model. The wire protocol owns the values that travel (agent and
 * execution status); the rest are the database's own.
 */
export { agentStatuses, executionStatuses } from "../runtime/protocol/index.js";
export type { AgentStatus, ExecutionStatus } from "../runtime/protocol/index.js";

export const membershipRoles = ["OWNER", "ADMIN", "MEMBER", "VIEWER"] as const;
export type MembershipRole = (typeof membershipRoles)[number];
