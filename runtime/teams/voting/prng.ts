import { NeuroflowError } from "../../protocol/errors.js";

/** A seeded source of uniform numbers; the only randomness the voting rules may use. */
export interface Prng {
  /** The next number in [0, 1). */
  next(): number;
  /** The next integer in [0, maxExclusive); throws VALIDATION_FAILED unless maxExclusive is a positive safe integer. */
  int(maxExclusive: number): number;
}

/**
 * mulberry32: 32 bits of state, one multiply-xorshift per draw. Small enough to re-implement from the
 * audit trail in any language, which matters more here than cryptographic strength: a recount must
 * draw the same numbers from the same seed. Its output passes the Bernoulli-trial use the Condorcet
 * test puts it to (see test/unit/condorcet.test.ts).
 *
 * Throws VALIDATION_FAILED when `seed` is not a safe integer (a fractional or NaN seed would be
 * truncated silently by the 32-bit arithmetic, so two "different" seeds could give the same stream).
 */
export function createPrng(seed: number): Prng {
  if (!Number.isSafeInteger(seed)) {
    throw new NeuroflowError("VALIDATION_FAILED", `PRNG seed must be a safe integer, got ${String(seed)}`);
  }
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    int(maxExclusive: number): number {
      if (!Number.isSafeInteger(maxExclusive) || maxExclusive <= 0) {
        throw new NeuroflowError("VALIDATION_FAILED", `PRNG range must be a positive safe integer, got ${String(maxExclusive)}`);
      }
      return Math.floor(next() * maxExclusive);
    },
  };
}
