import { NeuroflowError } from "../../protocol/errors.js";
import type { CountedBallot } from "./ballot-admission.js";
import { compareCodeUnits } from "./canonical-json.js";
import type { RuleCount, Verdict } from "./rule-count.js";

export interface SingleChoiceCountOptions {
  threshold: "plurality" | "majority" | "unanimity";
  /** Keep abstentions (their weight) in the majority/unanimity denominator; see `votingRuleSchema`. */
  abstentionsCount: boolean;
  /** 1 for everyone except under the `weighted` rule. */
  weightOf: (voterId: string) => number;
  /** Declared options, listed in the tallies even with no votes; null when the ballots define them. */
  declared: readonly string[] | null;
}

/**
 * Counts single-choice ballots (majority, plurality, weighted, unanimity) in one round. Only options
 * someone voted for can win or tie, so a declared option nobody chose never wins on a 0–0 level
 * (possible when all supporters weigh 0). Weights are summed in voter-id order, so floating-point
 * totals do not depend on the order ballots arrived in.
 *
 * Throws NeuroflowError INTERNAL when there is no non-abstaining ballot: the quorum check in `tally`
 * runs first and always requires one.
 */
export function countSingleChoice(ballots: readonly CountedBallot[], options: SingleChoiceCountOptions): RuleCount {
  const totals = new Map<string, number>();
  const counts = new Map<string, number>();
  let castWeight = 0;
  let abstainedWeight = 0;
  let cast = 0;
  let abstained = 0;
  for (const ballot of ballots) {
    const choice = ballot.ranking[0];
    const weight = options.weightOf(ballot.voterId);
    if (choice === undefined) {
      abstained += 1;
      abstainedWeight += weight;
      continue;
    }
    cast += 1;
    castWeight += weight;
    totals.set(choice, (totals.get(choice) ?? 0) + weight);
    counts.set(choice, (counts.get(choice) ?? 0) + 1);
  }
  const supported = [...totals.keys()].sort(compareCodeUnits);
  if (supported.length === 0) throw new NeuroflowError("INTERNAL", "single-choice count reached with no votes cast");

  const listed = [...new Set([...(options.declared ?? []), ...supported])].sort(compareCodeUnits);
  const tallies = listed.map((option) => ({ option, votes: totals.get(option) ?? 0 }));
  const done = (verdict: Verdict): RuleCount => ({
    rounds: [{ round: 1, tallies, exhausted: 0, eliminated: null }],
    bordaPoints: null,
    verdict,
  });
  const top = Math.max(...supported.map((option) => totals.get(option) ?? 0));
  const leading = supported.filter((option) => totals.get(option) === top);
  const only = leading.length === 1 ? leading[0] : undefined;

  switch (options.threshold) {
    case "plurality":
      return done(only !== undefined ? { kind: "winner", winner: only } : { kind: "tied", tied: leading });
    case "majority": {
      const denominator = castWeight + (options.abstentionsCount ? abstainedWeight : 0);
      if (only !== undefined && 2 * top > denominator) return done({ kind: "winner", winner: only });
      // An exact 50/50 split is a deadlock a casting vote may break; anything short of that is no majority.
      if (leading.length === 2 && top > 0 && 2 * top === denominator) return done({ kind: "tied", tied: leading });
      return done({ kind: "no-majority", threshold: "majority", leading, leadingVotes: top, denominator });
    }
    case "unanimity": {
      // One voter, one vote whatever the weights: the denominator is a number of voters.
      const denominator = cast + (options.abstentionsCount ? abstained : 0);
      if (only !== undefined && supported.length === 1 && cast === denominator) return done({ kind: "winner", winner: only });
      const most = Math.max(...supported.map((option) => counts.get(option) ?? 0));
      const ahead = supported.filter((option) => counts.get(option) === most);
      return done({ kind: "no-majority", threshold: "unanimity", leading: ahead, leadingVotes: most, denominator });
    }
  }
}
