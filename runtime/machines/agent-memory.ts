/** One finished turn of an agent's conversation: what it was asked and what it answered. */
export interface Exchange {
  prompt: string;
  answer: string;
}

/**
 * The last `window` exchanges, oldest first (none for a window of 0 or less). Plain data, so it
 * survives a persisted snapshot's JSON round trip. Never throws.
 */
export function recall(memory: readonly Exchange[], window: number): Exchange[] {
  // slice(-0) would be the whole array, hence the explicit bound.
  return window > 0 ? memory.slice(-window) : [];
}

/** `memory` with `exchange` appended, trimmed to the last `window` exchanges. Never throws. */
export function remember(memory: readonly Exchange[], exchange: Exchange, window: number): Exchange[] {
  return recall([...memory, exchange], window);
}
