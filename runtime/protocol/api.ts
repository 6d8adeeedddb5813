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

export const signupBodySchema = z.strictObject({
  email: z.email().max(320),
  name: z.string().trim().min(1).max(200),
  password: z.string().min(10, "use at least 10 characters").max(1024),
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
  isActive: z.boolean(),
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

/** Writable fields of an agent. `status` and the metrics are the runtime's, not the caller's. */
export const createAgentBodySchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2_000).nullable().optional(),
  personality: personalitySchema.strict().default({}),
  modelConfig: modelConfigSchema.strict(),
  capabilities: z.array(z.string().trim().min(1).max(100)).max(100).default([]),
  isActive: z.boolean().default(true),
});
export type CreateAgentBody = z.infer<typeof createAgentBodySchema>;

export const updateAgentBodySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2_000).nullable(),
    personality: personalitySchema.strict(),
    modelConfig: modelConfigSchema.strict(),
    capabilities: z.array(z.string().trim().min(1).max(100)).max(100),
    isActive: z.boolean(),
  })
  .partial()
  .refine((body) => Object.keys(body).length > 0, "give at least one field to change");
export type UpdateAgentBody = z.infer<typeof updateAgentBodySchema>;

/** List responses: one page of items and the cursor of the next page (null at the end). */
export const nextCursorSchema = z.string().nullable();

export const createTaskBodySchema = z.strictObject({
  prompt: z.string().trim().min(1).max(20_000),
});
export type CreateTaskBody = z.infer<typeof createTaskBodySchema>;
