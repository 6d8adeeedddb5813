import { NeuroflowError } from "../../protocol/errors.js";
import { votingRuleSchema, type VotingRule } from "../../protocol/voting-rule.js";
import { describeIssues } from "./ballot.js";

// The rule schemas are wire data (a team's coordination config), so they live in the protocol.
export { tieBreakPolicySchema, votingRuleSchema } from "../../protocol/voting-rule.js";
export type { TieBreakPolicy, VotingRule, VotingRuleInput, VotingRuleKind } from "../../protocol/voting-rule.js";

/** Which ballot shape a rule counts. */
export type BallotKind = "single-choice" | "ranked";

/** The ballot shape a rule expects: ranked for `ranked-choice` and `borda`, single-choice otherwise. */
export function ballotKindOf(rule: VotingRule): BallotKind {
  return rule.kind === "ranked-choice" || rule.kind === "borda" ? "ranked" : "single-choice";
}

/**
 * Parses a rule config (from a team definition, an HTTP body, a file). Throws NeuroflowError
 * VALIDATION_FAILED, with the zod issues in `details`, for an unknown `kind`, an unknown or misspelt
 * option, or a value out of range.
 */
export function parseVotingRule(value: unknown): VotingRule {
  const parsed = votingRuleSchema.safeParse(value);
  if (!parsed.success) {
    throw new NeuroflowError("VALIDATION_FAILED", `invalid voting rule: ${describeIssues(parsed.error)}`, {
      details: parsed.error.issues,
    });
  }
  return parsed.data;
}
