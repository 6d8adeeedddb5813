import { NeuroflowError } from "../../protocol/errors.js";
import type { CountedBallot } from "./ballot-admission.js";
import { compareCodeUnits } from "./canonical-json.js";
import type { RuleCount } from "./rule-count.js";

/**
 * Borda count. With m candidates (the declared options, or every option some counted ballot ranks),
 * the option in position i (0-based) of a ranking earns m−1−i points and an option left off the
 * ranking earns 0 — so a truncated ballot still gives its first choice the full m−1, and a voter who
 * ranks everything hands out exactly m(m−1)/2. The most points wins; a level top is tied. Only options
 * some ballot ranks can win (an unranked option has 0 and every ranked first choice has at least 1).
 * The round's tallies are first preferences, for reference.
 *
 * Throws NeuroflowError INTERNAL when no ballot ranks anything (the quorum check in `tally` rules
 * that out).
 */
export function countBorda(ballots: readonly CountedBallot[], declared: readonly string[] | null): RuleCount {
  const ranked = new Set(ballots.flatMap((ballot) => ballot.ranking));
  if (ranked.size === 0) throw new NeuroflowError("INTERNAL", "Borda count reached with no votes cast");
  const candidates = declared === null ? [...ranked].sort(compareCodeUnits) : [...declared];
  const m = candidates.length;
  const points = new Map(candidates.map((option) => [option, 0]));
  const firsts = new Map(candidates.map((option) => [option, 0]));
  for (const ballot of ballots) {
    for (const [position, option] of ballot.ranking.entries()) {
      points.set(option, (points.get(option) ?? 0) + (m - 1 - position));
    }
    const first = ballot.ranking[0];
    if (first !== undefined) firsts.set(first, (firsts.get(first) ?? 0) + 1);
  }
  const bordaPoints = candidates.map((option) => ({ option, points: points.get(option) ?? 0 }));
  const contenders = bordaPoints.filter((entry) => ranked.has(entry.option));
  const top = Math.max(...contenders.map((entry) => entry.points));
  const leading = contenders.filter((entry) => entry.points === top).map((entry) => entry.option);
  const only = leading.length === 1 ? leading[0] : undefined;
  return {
    rounds: [
      { round: 1, tallies: candidates.map((option) => ({ option, votes: firsts.get(option) ?? 0 })), exhausted: 0, eliminated: null },
    ],
    bordaPoints,
    verdict: only !== undefined ? { kind: "winner", winner: only } : { kind: "tied", tied: leading },
  };
}
