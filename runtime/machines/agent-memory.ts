/** One finished turn of an agent's conversation: what it was asked and what it answered. */
export interface Exchange {
  prompt: string;
  answer: string;
}

/**
 * The last `window` exchanges, oldest first (none for a window of 0 or less). Plain data, so it
 * survives a persisted snapshot's JSON round trip. Never throws. `memory` itself when it fits the
 * window (a model call reads it on every call; the machine never mutates it), else a copy.
 */
export function recall(memory: readonly Exchange[], window: number): readonly Exchange[] {
  if (window <= 0) return [];
  return memory.length <= window ? memory : memory.slice(-window);
}

/** `memory` with `exchange` appended, trimmed to the last `window` exchanges, as a new array. Never throws. */
export function remember(memory: readonly Exchange[], exchange: Exchange, window: number): Exchange[] {
  if (window <= 0) return [];
  // One array built in place: appending, then trimming, copied the memory twice per answer.
  const kept: Exchange[] = [];
  for (let i = Math.max(0, memory.length - window + 1); i < memory.length; i++) kept.push(memory[i] as Exchange);
  kept.push(exchange);
  return kept;
}
