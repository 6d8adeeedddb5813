import type { TeamBallot, TeamEvent, VotingRule, WireError } from "../protocol/index.js";
import { NeuroflowError } from "../protocol/index.js";
import type { TeamMemberInfo } from "../machines/team.js";
import { parseAnswer, parseRanking } from "./answer-format.js";
import { pickLeader } from "./assignment.js";
import { membersUnavailable } from "./team-run.js";
import { ballotKindOf, tally, type TallyContextInput, type TallyResult } from "./voting/index.js";

/**
 * The vote of a DEMOCRATIC team as pure functions: which options are on the ballot, what each
 * member's reply counts as, the tally context (electorate, weights, leader, seed) and what the team
 * makes of the count. Counting itself is runtime/teams/voting; the machine only sequences the asks.
 */

/** A member's current answer: its reply and what it parsed to (null: nothing countable). */
export interface Stance {
  agentId: string;
  text: string;
  answer: string | null;
}

/** A ballot as handed to the tally, with why it abstains (logged as `team.ballot`). */
export interface CastBallot {
  ballot: TeamBallot;
  abstained: boolean;
  reason?: string;
}

/** Whether the rule counts ranked ballots (ranked-choice, borda) and so needs a ranking call. */
export const isRanked = (rule: VotingRule): boolean => ballotKindOf(rule) === "ranked";

/** The options on the ballot: the answer key's, else the distinct answers given, in code-unit order. */
export function voteOptions(stances: readonly Stance[], keyOptions?: readonly string[]): string[] {
  if (keyOptions !== undefined) return [...keyOptions];
  const distinct = new Set(stances.flatMap((stance) => (stance.answer === null ? [] : [stance.answer])));
  return [...distinct].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Priority as a voting weight: positive and increasing with priority, 1 at the default priority 0
 * (p + 1 from 0 up, 1 / (1 − p) below), so a team that never set priorities votes one member one vote.
 */
export function priorityWeight(priority: number): number {
  return priority >= 0 ? priority + 1 : 1 / (1 - priority);
}

/**
 * Each member's weight under `source`: `priority` via {@link priorityWeight}; `successRate` the
 * agent's rate (absent or negative: 0); `explicit` the member's `weight` (absent: 1).
 */
export function memberWeights(members: readonly TeamMemberInfo[], source: "priority" | "successRate" | "explicit"): Record<string, number> {
  const weightOf = (member: TeamMemberInfo): number => {
    if (source === "priority") return priorityWeight(member.priority);
    if (source === "successRate") return Math.max(0, member.successRate ?? 0);
    return Math.max(0, member.weight ?? 1);
  };
  return Object.fromEntries(members.map((member) => [member.agentId, weightOf(member)]));
}

/**
 * The tally context: every member is eligible (a silent or failed member is a non-voter); weights
 * only where the rule or its tie-break reads them (highest-weight under an unweighted rule weighs by
 * priority); the leader for the leader tie-break; the run's seed; the options.
 */
export function voteContext(rule: VotingRule, members: readonly TeamMemberInfo[], options: readonly string[], seed: number): TallyContextInput {
  const context: TallyContextInput = { eligibleVoters: members.map((member) => member.agentId), seed };
  if (rule.kind === "weighted") context.weights = memberWeights(members, rule.weightSource);
  else if (rule.tieBreak === "highest-weight") context.weights = memberWeights(members, "priority");
  const leader = rule.tieBreak === "leader" ? pickLeader(members) : null;
  if (leader !== null) context.leaderId = leader.agentId;
  if (options.length > 0) context.options = [...options];
  return context;
}

/** A single-choice ballot from a member's answer; null abstains. */
export function choiceBallot(agentId: string, answer: string | null): CastBallot {
  if (answer !== null) return { ballot: { voterId: agentId, choice: answer }, abstained: false };
  return { ballot: { voterId: agentId, choice: null }, abstained: true, reason: "the reply names none of the options" };
}

/** A single-choice ballot from a re-vote reply, read against the tied options. */
export function revoteBallot(agentId: string, text: string, tied: readonly string[]): CastBallot {
  return choiceBallot(agentId, parseAnswer(text, tied));
}

/** A ranked ballot from a ranking reply; an unreadable one abstains. */
export function rankingBallot(agentId: string, text: string, options: readonly string[]): CastBallot {
  const ranking = parseRanking(text, options);
  if (ranking.length > 0) return { ballot: { voterId: agentId, ranking }, abstained: false };
  return { ballot: { voterId: agentId, ranking: [] }, abstained: true, reason: "no readable ranking of the options" };
}

/** A ranked ballot without a call, when there is one option or none: the member's answer alone. */
export function soleOptionBallot(agentId: string, answer: string | null): CastBallot {
  if (answer !== null) return { ballot: { voterId: agentId, ranking: [answer] }, abstained: false };
  return { ballot: { voterId: agentId, ranking: [] }, abstained: true, reason: "the reply names none of the options" };
}

/** What a count means for the run. */
export interface VoteDecision {
  tally: TallyResult | null;
  event: Extract<TeamEvent, { type: "team.decision" }>;
  /** On `next: "fail"`. */
  error: WireError | null;
}

const list = (options: readonly string[]): string => options.map((option) => `"${option}"`).join(", ");

/**
 * Counts the ballots and decides: `complete` with the winner; `revote` on a tie under the `revote`
 * tie-break when `mayRevote`; otherwise `fail` — no quorum or fewer counted votes than `minVoters`
 * (UNAVAILABLE: too few members answered), no majority or a tie left standing (CONFLICT: the members
 * disagree), or a configuration the tally refuses (its own code, VALIDATION_FAILED).
 */
export function decideVote(rule: VotingRule, ballots: readonly TeamBallot[], context: TallyContextInput, minVoters: number | undefined, voteRound: number, mayRevote: boolean): VoteDecision {
  const decision = (outcome: VoteDecision["event"]["outcome"], next: VoteDecision["event"]["next"], message: string, winner: string | null = null) => ({
    type: "team.decision" as const,
    voteRound,
    outcome,
    winner,
    next,
    message,
  });
  let result: TallyResult;
  try {
    result = tally(rule, ballots, context);
  } catch (error) {
    const wire = NeuroflowError.toWire(error);
    return { tally: null, event: decision("invalid", "fail", wire.message), error: wire };
  }
  const { turnout, eligible } = result.audit;
  if (result.outcome === "no-quorum") {
    const message = `no quorum: ${turnout} of ${eligible} members voted, ${result.required} needed`;
    return { tally: result, event: decision("no-quorum", "fail", message), error: membersUnavailable(message) };
  }
  if (minVoters !== undefined && turnout < minVoters) {
    const message = `no quorum: ${turnout} of ${eligible} members voted, minVoters is ${minVoters}`;
    return { tally: result, event: decision("below-min-voters", "fail", message), error: membersUnavailable(message) };
  }
  switch (result.outcome) {
    case "decided": {
      const how = result.decidedBy === "tie-break" ? ` by the ${rule.tieBreak} tie-break` : "";
      return { tally: result, event: decision("decided", "complete", `"${result.winner}" won${how}`, result.winner), error: null };
    }
    case "tie": {
      if (rule.tieBreak === "revote" && mayRevote) {
        return { tally: result, event: decision("tie", "revote", `tie between ${list(result.tied)}: voting again on them`), error: null };
      }
      const why = rule.tieBreak === "revote" ? "after a re-vote" : `the ${rule.tieBreak} tie-break could not pick`;
      const message = `tie between ${list(result.tied)} (${why})`;
      return { tally: result, event: decision("tie", "fail", message), error: { code: "CONFLICT", message, retryable: false } };
    }
    case "no-majority": {
      const needed = result.threshold === "unanimity" ? "a unanimous vote" : "more than half";
      const message = `no ${result.threshold}: ${list(result.leading)} led with ${result.leadingVotes} of ${result.denominator}, ${needed} needed`;
      return { tally: result, event: decision("no-majority", "fail", message), error: { code: "CONFLICT", message, retryable: false } };
    }
  }
}
