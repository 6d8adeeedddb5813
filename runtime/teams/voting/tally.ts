import { NeuroflowError } from "../../protocol/errors.js";
import { admitBallots, sortByBallot, type CountedBallot } from "./ballot-admission.js";
import { countBorda } from "./borda-count.js";
import { toJsonValue } from "./canonical-json.js";
import { runInstantRunoff } from "./instant-runoff.js";
import type { TallyAudit, TallyInput, TallyResult } from "./result.js";
import type { RuleCount } from "./rule-count.js";
import { ballotKindOf, parseVotingRule, type VotingRule, type VotingRuleInput } from "./rules.js";
import { countSingleChoice } from "./single-choice-count.js";
import { resolveContext, type ResolvedContext, type TallyContextInput } from "./tally-context.js";
import { breakTie } from "./tie-break.js";

/**
 * Counts one vote. Pure: no clock, no I/O, no `Math.random` — the same arguments give the same
 * result, in any order of `ballots`, and `recount(result)` reproduces it from what it stores.
 *
 * All three arguments are validated at run time whatever their static types, since they may come
 * from a config file or the wire. Ballots from voters are untrusted and never make it throw: each bad
 * one is rejected with a reason in `audit.rejected` (see `rejectionReasonSchema`), so one misbehaving
 * agent cannot stop the vote.
 * The caller's own configuration is trusted to be right, and it throws NeuroflowError
 * VALIDATION_FAILED when it is not: an invalid `rule` (see `parseVotingRule`), an invalid `context` or
 * one missing what the rule needs (see `resolveContext`), or `ballots` that are not an array of JSON
 * data (they are stored in the result, and a value JSON would alter could never be recounted).
 *
 * Order of decisions: reject bad ballots; check the quorum (`no-quorum`); count by the rule; on a
 * level top, apply the tie-break (`decided` by tie-break, or `tie`); thresholds not reached give
 * `no-majority`.
 */
export function tally(rule: VotingRuleInput, ballots: readonly unknown[], context: TallyContextInput): TallyResult {
  const parsedRule = parseVotingRule(rule);
  const resolved = resolveContext(parsedRule, context);
  if (!Array.isArray(ballots)) throw new NeuroflowError("VALIDATION_FAILED", "ballots must be an array");
  // Canonical order makes the stored input — and with it the whole result — independent of arrival order.
  const stored = sortByBallot(
    ballots.map((ballot: unknown, index) => toJsonValue(ballot, `ballots[${index}]`)),
    (ballot) => ballot,
  );
  const input: TallyInput = { rule: parsedRule, ballots: stored, context: resolved.stored };

  const { counted, rejected } = admitBallots(ballotKindOf(parsedRule), input.ballots, resolved.eligible, resolved.options);
  const countedVoters = new Set(counted.map((ballot) => ballot.voterId));
  const abstainers = counted.filter((ballot) => ballot.ranking.length === 0).map((ballot) => ballot.voterId);
  const turnout = counted.length - abstainers.length;
  const eligible = resolved.eligibleSorted.length;
  const required = quorumRequired(parsedRule.quorum, eligible);
  const met = turnout >= required;

  const audit: TallyAudit = {
    eligible,
    ballotsReceived: input.ballots.length,
    counted: counted.map((ballot) => ballot.voterId),
    abstainers,
    nonVoters: resolved.eligibleSorted.filter((voter) => !countedVoters.has(voter)),
    turnout,
    quorum: { fraction: parsedRule.quorum, required, met },
    rejected,
    rounds: [],
    bordaPoints: null,
    tieBreak: null,
  };
  if (!met) return { outcome: "no-quorum", turnout, required, version: 1, input, audit };

  const count = countByRule(parsedRule, counted, resolved);
  audit.rounds = count.rounds;
  audit.bordaPoints = count.bordaPoints;
  const verdict = count.verdict;
  switch (verdict.kind) {
    case "winner":
      return { outcome: "decided", winner: verdict.winner, decidedBy: "count", version: 1, input, audit };
    case "no-majority": {
      const { threshold, leading, leadingVotes, denominator } = verdict;
      return { outcome: "no-majority", threshold, leading, leadingVotes, denominator, version: 1, input, audit };
    }
    case "tied": {
      const broken = breakTie({
        policy: parsedRule.tieBreak,
        tied: verdict.tied,
        ballots: counted,
        weights: resolved.weights,
        leaderId: resolved.leaderId,
        seed: resolved.seed,
      });
      audit.tieBreak = broken.record;
      if (broken.chosen !== null) return { outcome: "decided", winner: broken.chosen, decidedBy: "tie-break", version: 1, input, audit };
      return { outcome: "tie", tied: broken.stillTied, version: 1, input, audit };
    }
  }
}

/**
 * The smallest number of non-abstaining ballots k ≥ 1 with k / eligible ≥ quorum. Comparing the
 * quotient (not `quorum * eligible`) keeps decimal quorums exact: 7/10 and 0.7 are the same double,
 * whereas 0.7 * 10 is 7.000000000000001 and would demand an eighth voter.
 */
export function quorumRequired(quorum: number, eligible: number): number {
  for (let k = 1; k < eligible; k++) if (k / eligible >= quorum) return k;
  return Math.max(eligible, 1);
}

function countByRule(rule: VotingRule, counted: readonly CountedBallot[], context: ResolvedContext): RuleCount {
  const perHead = { weightOf: (): number => 1, declared: context.options };
  switch (rule.kind) {
    case "plurality":
      return countSingleChoice(counted, { ...perHead, threshold: "plurality", abstentionsCount: false });
    case "majority":
      return countSingleChoice(counted, { ...perHead, threshold: "majority", abstentionsCount: rule.abstentionsCount });
    case "unanimity":
      return countSingleChoice(counted, { ...perHead, threshold: "unanimity", abstentionsCount: rule.abstentionsCount });
    case "weighted": {
      const weights = context.weights;
      if (weights === null) throw new NeuroflowError("INTERNAL", "weighted rule reached without weights");
      return countSingleChoice(counted, {
        threshold: rule.threshold,
        abstentionsCount: rule.abstentionsCount,
        weightOf: (voterId) => weights.get(voterId) ?? 0,
        declared: context.options,
      });
    }
    case "ranked-choice":
      return runInstantRunoff(counted, context.options);
    case "borda":
      return countBorda(counted, context.options);
  }
}
