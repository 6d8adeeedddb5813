import { z } from "zod";
import { agentIdSchema, executionIdSchema, orgIdSchema } from "./ids.js";
import { wireErrorSchema } from "./errors.js";
import { modelProviderNameSchema } from "./messages.js";

export const agentStatuses = ["IDLE", "BUSY", "OFFLINE", "ERROR"] as const;
export const agentStatusSchema = z.enum(agentStatuses);
export type AgentStatus = z.infer<typeof agentStatusSchema>;

export const executionStatuses = ["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"] as const;
export const executionStatusSchema = z.enum(executionStatuses);
export type ExecutionStatus = z.infer<typeof executionStatusSchema>;

export const tokenUsageSchema = z.object({
  promptTokens: z.int().nonnegative(),
  completionTokens: z.int().nonnegative(),
});
export type TokenUsage = z.infer<typeof tokenUsageSchema>;

/** Where one execution stands, as carried by a status event. */
export const executionProgressSchema = z.object({
  executionId: executionIdSchema,
  status: executionStatusSchema,
  startedAt: z.iso.datetime(),
  completedAt: z.iso.datetime().optional(),
  durationMs: z.int().nonnegative().optional(),
  output: z.string().optional(),
  error: wireErrorSchema.optional(),
  provider: modelProviderNameSchema.optional(),
  model: z.string().optional(),
  usage: tokenUsageSchema.optional(),
  /** Model cost in millionths of a US dollar. */
  costMicroUsd: z.int().nonnegative().optional(),
  /**
   * Which model call this is (1 = first try): a RUNNING event repeats with 2, 3, … for each retry;
   * a finished event carries the number of calls made (absent when the task never started).
   */
  attempt: z.int().positive().optional(),
});
export type ExecutionProgress = z.infer<typeof executionProgressSchema>;

/**
 * `agent.status.changed`, published on `nf.<orgId>.agent.<agentId>.status` whenever an agent's
 * actor changes state; `execution` is the task the transition concerns (started or finished).
 */
export const agentStatusChangedSchema = z.object({
  type: z.literal("agent.status.changed"),
  orgId: orgIdSchema,
  agentId: agentIdSchema,
  status: agentStatusSchema,
  workerId: z.string(),
  at: z.iso.datetime(),
  queued: z.int().nonnegative(),
  execution: executionProgressSchema.optional(),
});
export type AgentStatusChanged = z.infer<typeof agentStatusChangedSchema>;

/**
 * The reply to a task sent on `nf.<orgId>.agent.<agentId>.call`: the execution once it has ended
 * (COMPLETED, FAILED or CANCELLED, with output, usage and cost), or a typed error when the task was
 * refused (malformed, wrong subject).
 */
export const agentCallReplySchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), workerId: z.string(), execution: executionProgressSchema }),
  z.object({ ok: z.literal(false), error: wireErrorSchema }),
]);
export type AgentCallReply = z.infer<typeof agentCallReplySchema>;
