import { NeuroflowError } from "../protocol/index.js";

/** The two-sided 95% normal quantile. */
export const Z_95 = 1.959963984540054;

/** A confidence interval of a proportion, both ends in [0, 1]. */
export interface ProportionInterval {
  low: number;
  high: number;
}

/**
 * The Wilson score interval of `successes` out of `trials` (95% by default). Unlike the normal
 * ("Wald") interval it stays inside [0, 1] and does not collapse to a point at 0 or n successes,
 * which matters for small cells and near-perfect teams. With no trials it is [0, 1] (nothing known).
 * Throws VALIDATION_FAILED unless 0 ≤ successes ≤ trials are integers and z > 0.
 */
export function wilsonInterval(successes: number, trials: number, z = Z_95): ProportionInterval {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || successes > trials || !(z > 0)) {
    throw new NeuroflowError("VALIDATION_FAILED", `Wilson interval needs 0 ≤ successes ≤ trials (integers) and z > 0, got ${successes}/${trials}, z = ${z}`);
  }
  if (trials === 0) return { low: 0, high: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const halfWidth = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  // At 0 or n successes one end is exact in theory; clamp the floating-point residue.
  return {
    low: successes === 0 ? 0 : Math.max(0, centre - halfWidth),
    high: successes === trials ? 1 : Math.min(1, centre + halfWidth),
  };
}

/**
 * The nearest-rank percentile: the smallest value such that at least `p`% of the values are at or
 * below it — always one of the values, never interpolated. `p` = 0 gives the minimum.
 * Throws VALIDATION_FAILED on no values, a non-finite value, or `p` outside [0, 100].
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new NeuroflowError("VALIDATION_FAILED", "percentile of no values");
  if (!(p >= 0 && p <= 100)) throw new NeuroflowError("VALIDATION_FAILED", `percentile must be within [0, 100], got ${p}`);
  if (values.some((value) => !Number.isFinite(value))) throw new NeuroflowError("VALIDATION_FAILED", "percentile of a non-finite value");
  const sorted = [...values].sort((a, b) => a - b);
  // p · n first: (95 · 20) / 100 is exactly 19, while 0.95 · 20 might not be for every p and n.
  const rank = Math.max(1, Math.ceil((p * sorted.length) / 100));
  return sorted[rank - 1] ?? 0;
}
