import { NeuroflowError } from "../protocol/index.js";

/** How long a store request may take before the work that needs it gives up and is retried. */
export const STORE_DEADLINE_MS = 5_000;

/** `promise`, or a retryable UNAVAILABLE after `ms`: a JetStream request must never hang the caller. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NeuroflowError("UNAVAILABLE", `${what} took longer than ${ms} ms`, { retryable: true })), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
