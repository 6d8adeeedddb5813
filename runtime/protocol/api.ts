import { z } from "zod";
import { agentIdSchema, executionIdSchema, orgIdSchema } from "./ids.js";
import { modelConfigSchema, personalitySchema } from "./messages.js";
import { agentStatusSchema, executionStatusSchema } from "./status.js";

/**
 * HTTP request and response bodies shared by the control plane and the console. zod schemas are
 * the only source of these types.
 */

export const errorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const membershipRoleSchema = z.enum(["OWNER", "ADMIN", "MEMBER", "VIEWER"]);

export const loginBodySchema = z.strictObject({
  email: z.email().max(320),
  password: z.string().min(1).max(1024),
});

export const sessionViewSchema = z.object({
  user: z.object({ id: z.uuid(), email: z.string(), name: z.string() }),
  memberships: z.array(
    z.object({ orgId: orgIdSchema, orgName: z.string(), role: membershipRoleSchema }),
  ),
});
export type SessionView = z.infer<typeof sessionViewSchema>;

export const agentViewSchema = z.object({
  id: agentIdSchema,
  orgId: orgIdSchema,
  name: z.string(),
  description: z.string().nullable(),
  status: agentStatusSchema,
  personality: personalitySchema,
  modelConfig: modelConfigSchema,
  capabilities: z.array(z.string()),
  totalExecutions: z.int(),
  successRate: z.number(),
  avgResponseTime: z.number(),
  lastActiveAt: z.iso.datetime().nullable(),
});
export type AgentView = z.infer<typeof agentViewSchema>;

export const executionViewSchema = z.object({
  id: executionIdSchema,
  orgId: orgIdSchema,
  agentId: agentIdSchema,
  task: z.string(),
  status: executionStatusSchema,
  output: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  provider: z.string().nullable(),
  model: z.string().nullable(),
  promptTokens: z.int(),
  completionTokens: z.int(),
  tokensUsed: z.int(),
  duration: z.int().nullable(),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  completedAt: z.iso.datetime().nullable(),
});
export type ExecutionView = z.infer<typeof executionViewSchema>;

export const createTaskBodySchema = z.strictObject({
  prompt: z.string().trim().min(1).max(20_000),
});
export type CreateTaskBody = z.infer<typeof createTaskBodySchema>;
