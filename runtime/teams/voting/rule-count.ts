import type { BordaPoints, TallyRound } from "./result.js";

/** What a counter concluded before any tie-break: a winner, a level top, or a threshold not reached. */
export type Verdict =
  | { kind: "winner"; winner: string }
  | { kind: "tied"; tied: string[] }
  | { kind: "no-majority"; threshold: "majority" | "unanimity"; leading: string[]; leadingVotes: number; denominator: number };

/** A counter's full answer: the verdict and the rounds (and Borda points) that justify it. */
export interface RuleCount {
  verdict: Verdict;
  rounds: TallyRound[];
  bordaPoints: BordaPoints[] | null;
}
