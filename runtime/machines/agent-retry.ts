import { NeuroflowError } from "../protocol/index.js";
import type { ResolvedLimits } from "./agent-limits.js";

/** Jitter adds up to this fraction of the back-off, so retries of many tasks don't line up. */
export const JITTER_RATIO = 0.2;

/** FNV-1a (32 bit): a stable hash, so the jitter of a given retry is the same on every run. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    value ^= text.charCodeAt(i);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}

/**
 * The wait the provider asked for (`details.retryAfterMs` of a NeuroflowError, from a 429's
 * Retry-After), or undefined. Never throws: anything else reads as "no preference".
 */
export function retryAfterOf(error: unknown): number | undefined {
  if (!(error instanceof NeuroflowError)) return undefined;
  const details = error.details;
  if (typeof details !== "object" || details === null || !("retryAfterMs" in details)) return undefined;
  const ms = details.retryAfterMs;
  return typeof ms === "number" && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/**
 * Back-off before retry number `retry` (0 for the first): `baseMs * 2^retry` plus a jitter of up
 * to {@link JITTER_RATIO} of it derived from the execution id — deterministic, because the machine
 * may not draw random numbers — and never less than the provider's Retry-After. Never throws.
 */
export function backoffMs(executionId: string, retry: number, baseMs: number, retryAfterMs?: number): number {
  const exponential = baseMs * 2 ** retry;
  const jitter = Math.floor((exponential * JITTER_RATIO * hash(`${executionId}:${retry}`)) / 0x1_0000_0000);
  return Math.max(exponential + jitter, retryAfterMs ?? 0);
}

/**
 * Whether a failed model call is tried again and after how long: undefined when the error is not
 * retryable (a NeuroflowError with `retryable`; anything else is an unexpected fault) or the task
 * has used its retries. `attempts` counts the calls made so far, the failed one included.
 */
export function retryDelayMs(error: unknown, executionId: string, attempts: number, limits: ResolvedLimits): number | undefined {
  const retryable = error instanceof NeuroflowError && error.retryable;
  if (!retryable || attempts > limits.maxRetries) return undefined;
  return backoffMs(executionId, attempts - 1, limits.retryBaseMs, retryAfterOf(error));
}
