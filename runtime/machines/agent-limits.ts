import type { AgentTask } from "../protocol/index.js";

/** The limits an agent applies to one task, every field filled in. */
export interface ResolvedLimits {
  /** Deadline of the whole task from its start, across attempts and back-offs. */
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  /** How many past exchanges travel with a model call. */
  memoryWindow: number;
}

/**
 * Defaults for a task that sets no limits: two minutes is long enough for a slow streamed answer
 * yet frees the agent's mailbox from a hung call; two retries ride out a rate limit or a restart
 * of the provider without tripling the bill; ten exchanges keep a conversation coherent without
 * sending unbounded context.
 */
export const DEFAULT_LIMITS: Readonly<ResolvedLimits> = Object.freeze({
  timeoutMs: 120_000,
  maxRetries: 2,
  retryBaseMs: 500,
  memoryWindow: 10,
});

/**
 * A task's limits over the defaults; no task (the agent at rest) or one without limits gives
 * {@link DEFAULT_LIMITS} itself (read several times per call, so not copied). Never throws.
 */
export function limitsOf(task: AgentTask | null): Readonly<ResolvedLimits> {
  const limits = task?.limits;
  if (!limits) return DEFAULT_LIMITS;
  return {
    timeoutMs: limits.timeoutMs ?? DEFAULT_LIMITS.timeoutMs,
    maxRetries: limits.maxRetries ?? DEFAULT_LIMITS.maxRetries,
    retryBaseMs: limits.retryBaseMs ?? DEFAULT_LIMITS.retryBaseMs,
    memoryWindow: limits.memoryWindow ?? DEFAULT_LIMITS.memoryWindow,
  };
}
