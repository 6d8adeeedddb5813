import { NeuroflowError } from "../../protocol/errors.js";
import type { CountedBallot } from "./ballot-admission.js";
import { compareCodeUnits } from "./canonical-json.js";
import type { Elimination, TallyRound } from "./result.js";
import type { RuleCount } from "./rule-count.js";

/**
 * Instant runoff. Each round, every ballot counts for its highest-ranked option still in the race; a
 * ballot with none left is exhausted and drops out of the round's total. An option with more than half
 * of the round's non-exhausted ballots wins. If every remaining option has the same count, they are
 * tied (the rule's tie-break decides). Otherwise the option with the fewest votes is eliminated and
 * the next round begins.
 *
 * Several options tied for fewest: the one with fewer votes in the most recent earlier round in which
 * they differed is eliminated ("backwards" tie-breaking, as in many election laws: it uses only facts
 * of this count). If they were level in every round, the one that sorts last by code unit goes — an
 * arbitrary but fixed rule, recorded as `option-id` so the audit shows where it mattered.
 *
 * Candidates are the declared options or, without them, every option some counted ballot ranks; a
 * declared option nobody ranks has 0 votes and is eliminated first. Throws NeuroflowError INTERNAL
 * when no ballot ranks anything (the quorum check in `tally` rules that out).
 */
export function runInstantRunoff(ballots: readonly CountedBallot[], declared: readonly string[] | null): RuleCount {
  const ranked = new Set(ballots.flatMap((ballot) => ballot.ranking));
  if (ranked.size === 0) throw new NeuroflowError("INTERNAL", "instant runoff reached with no votes cast");
  let remaining = declared === null ? [...ranked].sort(compareCodeUnits) : [...declared];
  const rounds: TallyRound[] = [];
  const history: ReadonlyMap<string, number>[] = [];

  for (let round = 1; ; round++) {
    const counts = new Map(remaining.map((option) => [option, 0]));
    let exhausted = 0;
    for (const ballot of ballots) {
      if (ballot.ranking.length === 0) continue; // an abstention, not an exhausted ballot
      const top = ballot.ranking.find((option) => counts.has(option));
      if (top === undefined) exhausted += 1;
      else counts.set(top, (counts.get(top) ?? 0) + 1);
    }
    const tallies = remaining.map((option) => ({ option, votes: counts.get(option) ?? 0 }));
    const active = tallies.reduce((sum, entry) => sum + entry.votes, 0);
    const most = Math.max(...tallies.map((entry) => entry.votes));
    const fewest = Math.min(...tallies.map((entry) => entry.votes));

    const leader = tallies.find((entry) => entry.votes === most);
    if (leader !== undefined && (2 * most > active || remaining.length === 1)) {
      rounds.push({ round, tallies, exhausted, eliminated: null });
      return { rounds, bordaPoints: null, verdict: { kind: "winner", winner: leader.option } };
    }
    if (most === fewest) {
      rounds.push({ round, tallies, exhausted, eliminated: null });
      return { rounds, bordaPoints: null, verdict: { kind: "tied", tied: remaining } };
    }
    const lowest = tallies.filter((entry) => entry.votes === fewest).map((entry) => entry.option);
    const eliminated = chooseElimination(lowest, history);
    rounds.push({ round, tallies, exhausted, eliminated });
    history.push(counts);
    remaining = remaining.filter((option) => option !== eliminated.option);
  }
}

/** Picks which of the options tied for fewest votes goes, as documented on `runInstantRunoff`. */
function chooseElimination(lowest: readonly string[], history: readonly ReadonlyMap<string, number>[]): Elimination {
  const only = lowest.length === 1 ? lowest[0] : undefined;
  if (only !== undefined) return { option: only, tiedWith: [], brokenBy: "fewest-votes", decidingRound: null };
  let candidates = [...lowest];
  for (let index = history.length - 1; index >= 0; index--) {
    const earlier = history[index];
    if (earlier === undefined) continue;
    const votes = (option: string): number => earlier.get(option) ?? 0;
    const fewest = Math.min(...candidates.map(votes));
    candidates = candidates.filter((option) => votes(option) === fewest);
    const singled = candidates.length === 1 ? candidates[0] : undefined;
    if (singled !== undefined) return { option: singled, tiedWith: [...lowest], brokenBy: "previous-round", decidingRound: index + 1 };
  }
  const last = [...candidates].sort(compareCodeUnits).at(-1);
  if (last === undefined) throw new NeuroflowError("INTERNAL", "no option to eliminate");
  return { option: last, tiedWith: [...lowest], brokenBy: "option-id", decidingRound: null };
}
