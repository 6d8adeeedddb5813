import { describe, expect, it } from "vitest";
import { createPrng, tally } from "../../runtime/teams/voting/index.js";

/**
 * Condorcet's jury theorem as a statistical check of the majority rule and the PRNG together: n
 * independent voters, each right with probability p on a binary question ("A" right, "B" wrong),
 * decide by simple majority. The exact chance the majority is right is the binomial tail
 * Σ_{k>n/2} C(n,k) p^k (1−p)^(n−k); the measured rate over many trials must fall inside the 99%
 * normal-approximation interval around it. Fixed seeds make it deterministic; the bound is the honest
 * 99% one, so a biased PRNG or a miscounting rule would still fail it.
 */

const TRIALS = 4_000;
const Z_99 = 2.576;

function binomial(n: number, k: number): number {
  let result = 1;
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i;
  return result;
}

/** Exact P(a strict majority of n voters is right), each right with probability p. */
function majorityCorrectProbability(n: number, p: number): number {
  let total = 0;
  for (let k = Math.floor(n / 2) + 1; k <= n; k++) total += binomial(n, k) * p ** k * (1 - p) ** (n - k);
  return total;
}

interface Measurement {
  correct: number;
  trials: number;
  accuracy: number;
}

function simulate(n: number, p: number, seed: number): Measurement {
  const prng = createPrng(seed);
  const eligibleVoters = Array.from({ length: n }, (_, i) => `juror-${i}`);
  let correct = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const ballots = eligibleVoters.map((voterId) => ({ voterId, choice: prng.next() < p ? "A" : "B" }));
    const result = tally({ kind: "majority" }, ballots, { eligibleVoters });
    // n is odd and every juror votes, so the rule must always decide.
    if (result.outcome !== "decided") throw new Error(`trial ${trial}: outcome ${result.outcome}`);
    if (result.winner === "A") correct += 1;
  }
  return { correct, trials: TRIALS, accuracy: correct / TRIALS };
}

describe("Condorcet jury theorem under the majority rule", () => {
  it("computes the binomial prediction exactly for small cases", () => {
    expect(majorityCorrectProbability(1, 0.6)).toBeCloseTo(0.6, 12);
    expect(majorityCorrectProbability(3, 0.6)).toBeCloseTo(0.648, 12); // 3·0.36·0.4 + 0.216
    expect(majorityCorrectProbability(3, 0.7)).toBeCloseTo(0.784, 12); // 3·0.49·0.3 + 0.343
    // The theorem's claim, on the exact values: for p > 1/2, a bigger jury is more often right.
    for (const p of [0.6, 0.7]) {
      expect(majorityCorrectProbability(5, p)).toBeGreaterThan(majorityCorrectProbability(3, p));
      expect(majorityCorrectProbability(7, p)).toBeGreaterThan(majorityCorrectProbability(5, p));
    }
  });

  it("draws single votes that are right with probability p (the PRNG is not biased)", () => {
    for (const p of [0.6, 0.7]) {
      const prng = createPrng(Math.round(p * 1_000));
      let right = 0;
      for (let i = 0; i < TRIALS; i++) if (prng.next() < p) right += 1;
      const halfWidth = Z_99 * Math.sqrt((p * (1 - p)) / TRIALS);
      expect(Math.abs(right / TRIALS - p)).toBeLessThanOrEqual(halfWidth);
    }
  });

  for (const n of [3, 5, 7]) {
    for (const p of [0.6, 0.7]) {
      it(`n = ${n}, p = ${p}: measured accuracy lies in the 99% interval of the binomial prediction`, () => {
        const predicted = majorityCorrectProbability(n, p);
        const halfWidth = Z_99 * Math.sqrt((predicted * (1 - predicted)) / TRIALS);
        const measured = simulate(n, p, 10_000 * n + Math.round(p * 100));
        expect(measured.trials).toBeGreaterThanOrEqual(2_000);
        expect(measured.accuracy).toBeGreaterThanOrEqual(predicted - halfWidth);
        expect(measured.accuracy).toBeLessThanOrEqual(predicted + halfWidth);
        // Better than one juror alone: the point of the theorem, measured.
        expect(measured.accuracy).toBeGreaterThan(p);
      });
    }
  }
});
