/**
 * When a collaborative team has converged, as pure functions over two consecutive rounds of
 * contributions (agent id → text). Only members who contributed in the round being judged count;
 * a member who failed this round neither helps nor blocks convergence.
 */

export type ConvergenceMethod = "similarity" | "unchanged";

/** The distinct lower-case words of a text (letters and digits; everything else separates). */
export function wordSet(text: string): Set<string> {
  return new Set(
    text
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u)
      .filter((word) => word !== ""),
  );
}

/** |A ∩ B| / |A ∪ B| of the two texts' word sets; two texts without words are identical (1). */
export function jaccard(a: string, b: string): number {
  const left = wordSet(a);
  const right = wordSet(b);
  if (left.size === 0 && right.size === 0) return 1;
  let shared = 0;
  for (const word of left) if (right.has(word)) shared++;
  return shared / (left.size + right.size - shared);
}

const sameText = (a: string, b: string): boolean => a.trim().replace(/\s+/g, " ") === b.trim().replace(/\s+/g, " ");

/**
 * The convergence score of round `current` against `previous`, in [0, 1]:
 * - `similarity`: the mean Jaccard similarity between each member's two consecutive contributions,
 *   over members who contributed in both rounds (0 when there are none);
 * - `unchanged`: the fraction of this round's contributors whose text is the same as last round's
 *   (whitespace aside; a member new this round counts as changed).
 */
export function convergenceScore(method: ConvergenceMethod, previous: ReadonlyMap<string, string>, current: ReadonlyMap<string, string>): number {
  if (method === "similarity") {
    const scores = [...current].flatMap(([agentId, text]) => {
      const before = previous.get(agentId);
      return before === undefined ? [] : [jaccard(before, text)];
    });
    return scores.length === 0 ? 0 : scores.reduce((sum, score) => sum + score, 0) / scores.length;
  }
  if (current.size === 0) return 0;
  let unchanged = 0;
  for (const [agentId, text] of current) {
    const before = previous.get(agentId);
    if (before !== undefined && sameText(before, text)) unchanged++;
  }
  return unchanged / current.size;
}
