import { NeuroflowError } from "../../protocol/errors.js";
import type { CountedBallot } from "./ballot-admission.js";
import { compareCodeUnits } from "./canonical-json.js";
import { createPrng } from "./prng.js";
import type { TieBreakRecord } from "./result.js";
import type { TieBreakPolicy } from "./rules.js";

export interface TieBreakInput {
  policy: TieBreakPolicy;
  /** At least two options, level at the top of the count. */
  tied: readonly string[];
  ballots: readonly CountedBallot[];
  weights: ReadonlyMap<string, number> | null;
  leaderId: string | null;
  seed: number | null;
}

export interface TieBreakOutcome {
  record: TieBreakRecord;
  /** The winner, or null when the policy could not pick. */
  chosen: string | null;
  /** When `chosen` is null: the options still level (all of `tied`, or fewer after highest-weight). */
  stillTied: string[];
}

/**
 * Applies the rule's tie-break policy (documented on `tieBreakPolicySchema`) to a level top. Bad
 * ballots cannot make it throw; it throws NeuroflowError INTERNAL only if the policy's own input
 * (leaderId, weights, seed) is missing, which resolveContext rules out before counting — a bug, not
 * a vote that went wrong.
 */
export function breakTie(input: TieBreakInput): TieBreakOutcome {
  const tied = [...input.tied].sort(compareCodeUnits);
  switch (input.policy) {
    case "revote":
      return { record: { policy: "revote", tied, chosen: null }, chosen: null, stillTied: tied };
    case "leader": {
      const leaderId = required(input.leaderId, "leaderId");
      const leaderBallot = input.ballots.find((ballot) => ballot.voterId === leaderId);
      const prefers = leaderBallot === undefined ? null : preferredAmong(leaderBallot, tied);
      return { record: { policy: "leader", tied, leaderId, leaderPrefers: prefers, chosen: prefers }, chosen: prefers, stillTied: tied };
    }
    case "highest-weight":
      return byHighestWeight(tied, input.ballots, required(input.weights, "weights"));
    case "random": {
      const seed = required(input.seed, "seed");
      const draw = createPrng(seed).int(tied.length);
      const chosen = required(tied[draw], "tied option");
      return { record: { policy: "random", tied, seed, draw, chosen }, chosen, stillTied: [] };
    }
  }
}

/** The option a ballot ranks highest among `tied`, or null when it names none of them. */
export function preferredAmong(ballot: CountedBallot, tied: readonly string[]): string | null {
  return ballot.ranking.find((option) => tied.includes(option)) ?? null;
}

function byHighestWeight(tied: string[], ballots: readonly CountedBallot[], weights: ReadonlyMap<string, number>): TieBreakOutcome {
  const supporterWeights = tied.map((option): { option: string; weights: number[] } => ({ option, weights: [] }));
  for (const ballot of ballots) {
    const prefers = preferredAmong(ballot, tied);
    const entry = supporterWeights.find((candidate) => candidate.option === prefers);
    entry?.weights.push(weights.get(ballot.voterId) ?? 0);
  }
  for (const entry of supporterWeights) entry.weights.sort((a, b) => b - a);

  let best: { option: string; weights: number[] }[] = [];
  for (const entry of supporterWeights) {
    const order = best[0] === undefined ? 1 : compareWeightLists(entry.weights, best[0].weights);
    if (order > 0) best = [entry];
    else if (order === 0) best.push(entry);
  }
  const stillTied = best.map((entry) => entry.option);
  const chosen = stillTied.length === 1 ? (stillTied[0] ?? null) : null;
  return {
    record: { policy: "highest-weight", tied, supporterWeights, chosen },
    chosen,
    stillTied: chosen === null ? stillTied : [],
  };
}

/** Heaviest first, then the next; a list that runs out first (fewer supporters) is the lesser. */
function compareWeightLists(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x !== y) return x > y ? 1 : -1;
  }
  return 0;
}

function required<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new NeuroflowError("INTERNAL", `tie-break is missing its ${what}`);
  return value;
}
