import { z } from "zod";
import { agentIdSchema, executionIdSchema, orgIdSchema } from "./ids.js";
import { wireErrorSchema } from "./errors.js";

export const modelProviderNames = ["simulated", "openai", "anthropic"] as const;
export const modelProviderNameSchema = z.enum(modelProviderNames);
export type ModelProviderName = z.infer<typeof modelProviderNameSchema>;

/** How an agent talks to its model. Stored in AiAgent.modelConfig. */
export const modelConfigSchema = z.object({
  provider: modelProviderNameSchema,
  model: z.string().min(1).max(200),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.int().positive().max(200_000).optional(),
  /** Options of the offline simulated provider; the other providers ignore them. */
  simulated: z
    .object({
      /** Thinking time per call, overriding the worker's SIMULATED_LATENCY_MS. */
      latencyMs: z.int().min(0).max(600_000).optional(),
      /** Seed of this agent's deterministic answers, overriding the worker's. */
      seed: z.int().optional(),
      /**
       * Probability of answering a task with a known answer ({@link AgentTask.answerKey}) correctly,
       * so experiments measure something offline. Absent: 1 (always right).
       */
      accuracy: z.number().min(0).max(1).optional(),
    })
    .optional(),
});
export type ModelConfig = z.infer<typeof modelConfigSchema>;

/** Tone, traits and system prompt. Stored in AiAgent.personality. */
export const personalitySchema = z.object({
  tone: z.string().max(200).optional(),
  traits: z.array(z.string().max(100)).max(50).optional(),
  systemPrompt: z.string().max(20_000).optional(),
});
export type Personality = z.infer<typeof personalitySchema>;

/** What a worker needs to know about an agent to run its tasks; travels with each task. */
export const agentProfileSchema = z.object({
  name: z.string().min(1).max(200),
  personality: personalitySchema,
  modelConfig: modelConfigSchema,
  capabilities: z.array(z.string().max(100)).max(100),
});
export type AgentProfile = z.infer<typeof agentProfileSchema>;

/**
 * How long and how hard an agent works on one task, and how much it remembers. Every field is
 * optional: the agent machine fills in its defaults (runtime/machines/agent-limits.ts).
 */
export const taskLimitsSchema = z.strictObject({
  /** Deadline of the whole task from its start (all attempts and back-offs), in ms. */
  timeoutMs: z.int().min(1).max(3_600_000).optional(),
  /** Retries after a retryable failure (429, 5xx, provider TIMEOUT); 0 fails at the first error. */
  maxRetries: z.int().min(0).max(10).optional(),
  /** First back-off in ms; it doubles with each retry. */
  retryBaseMs: z.int().min(0).max(60_000).optional(),
  /** Past exchanges (prompt + answer) sent along as conversation context; 0 forgets everything. */
  memoryWindow: z.int().min(0).max(100).optional(),
});
export type TaskLimits = z.infer<typeof taskLimitsSchema>;

/**
 * The known answer of an experiment task: the options a member may answer with and the right one.
 * Only the simulated provider reads it (to be right with its agent's `accuracy`); it is never sent
 * to a real model.
 */
export const answerKeySchema = z
  .strictObject({
    options: z.array(z.string().min(1).max(200)).min(2).max(26),
    correct: z.string().min(1).max(200),
  })
  .refine((key) => key.options.includes(key.correct), { path: ["correct"], message: "correct must be one of options" });
export type AnswerKey = z.infer<typeof answerKeySchema>;

/**
 * A task for one agent. Published on `nf.<orgId>.agent.<agentId>.task` (the reply is a
 * {@link TaskAck}; the outcome follows as status events) or `.call` (the reply is the outcome, an
 * {@link AgentCallReply}, once the task has ended).
 */
export const agentTaskSchema = z.strictObject({
  type: z.literal("agent.task"),
  executionId: executionIdSchema,
  orgId: orgIdSchema,
  agentId: agentIdSchema,
  prompt: z.string().min(1).max(20_000),
  agent: agentProfileSchema,
  submittedAt: z.iso.datetime(),
  limits: taskLimitsSchema.optional(),
  answerKey: answerKeySchema.optional(),
});
export type AgentTask = z.infer<typeof agentTaskSchema>;

/**
 * A task submitted on the bus by an org-scoped client (`nf.<orgId>.agent.<agentId>.task`): the
 * control plane records the execution and queues it, exactly like the HTTP API, and replies with a
 * {@link TaskAck}; the outcome follows as status events.
 */
export const agentSubmitSchema = z.strictObject({
  type: z.literal("agent.submit"),
  prompt: z.string().min(1).max(20_000),
});
export type AgentSubmit = z.infer<typeof agentSubmitSchema>;

/** The reply to a submitted task: recorded and queued (`workerId`: who accepted it), or a typed error. */
export const taskAckSchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), executionId: executionIdSchema, workerId: z.string() }),
  z.object({ ok: z.literal(false), error: wireErrorSchema }),
]);
export type TaskAck = z.infer<typeof taskAckSchema>;

/**
 * Requested on `nf.<orgId>.agent.<agentId>.cancel`: stop one execution of that agent. Every runtime
 * worker receives it; only the worker holding the execution (running or queued) answers with a
 * {@link CancelReply}, so silence (timeout or no responders) means no worker has it.
 */
export const agentCancelSchema = z.strictObject({
  type: z.literal("agent.cancel"),
  executionId: executionIdSchema,
  orgId: orgIdSchema,
  agentId: agentIdSchema,
});
export type AgentCancel = z.infer<typeof agentCancelSchema>;

/**
 * A worker's answer to a cancel: it had the execution and cancelled it (`found: true`; its
 * CANCELLED status event follows on the status subject), or the request was malformed.
 */
export const cancelReplySchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), executionId: executionIdSchema, found: z.boolean(), workerId: z.string() }),
  z.object({ ok: z.literal(false), error: wireErrorSchema }),
]);
export type CancelReply = z.infer<typeof cancelReplySchema>;
