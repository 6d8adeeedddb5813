import { mixSeed } from "../providers/simulated.provider.js";

/**
 * A PRNG seed (in [0, 2^32)) derived from an experiment's seed and a path of labels, e.g.
 * `deriveSeed(spec.seed, "trial", cell.id, 17)`. Stable across processes and versions of Node: the
 * same inputs always give the same seed, and a change in any part gives an unrelated one. The whole
 * experiment seed takes part (not only its low 32 bits), so seeds beyond 2^32 stay distinct.
 */
export function deriveSeed(seed: number, ...parts: readonly (string | number)[]): number {
  return mixSeed([String(seed), ...parts.map(String)].join("\u0000"));
}
