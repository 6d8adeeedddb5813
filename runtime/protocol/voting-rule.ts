import { z } from "zod";

/** The voting rule of a DEMOCRATIC team: wire data (team coordination config), counted by runtime/teams/voting. */

/**
 * What to do when the count leaves several options level at the top.
 * - `leader`: the option the leader (`context.leaderId`) prefers among the tied ones wins — their
 *   choice, or on a ranked ballot the tied option they rank highest. A casting vote, as a chair has.
 *   If the leader abstained, was rejected or backed none of the tied options, the outcome is `tie`.
 * - `highest-weight`: each tied option's supporters (voters who prefer it over the other tied
 *   options) are sorted by weight, heaviest first; the option whose heaviest supporter is heavier
 *   wins, then the second heaviest decides, and so on; an option that runs out of supporters first
 *   loses. Fully identical weight lists leave a `tie` of those options. Needs `context.weights`.
 * - `random`: a seeded draw (`context.seed`, mulberry32) over the tied options in code-unit order,
 *   so a recount draws the same option.
 * - `revote`: no choice is made here; the outcome is `tie` with the tied options, and the caller
 *   runs another round (typically restricted to them).
 */
export const tieBreakPolicySchema = z.enum(["leader", "highest-weight", "random", "revote"]);
export type TieBreakPolicy = z.infer<typeof tieBreakPolicySchema>;

/** Options every rule has. */
const commonOptions = {
  /**
   * Minimum fraction of eligible voters who must cast an accepted, non-abstaining ballot (0–1).
   * Compared as `turnout / eligible >= quorum`, so `0.7` with 7 of 10 voters is met exactly. Even
   * with quorum 0, at least one non-abstaining ballot is required: nothing can be decided from none.
   */
  quorum: z.number().min(0).max(1).default(0),
  tieBreak: tieBreakPolicySchema.default("revote"),
};

/**
 * `abstentionsCount`: whether explicit abstentions stay in the denominator. `false` (default): the
 * threshold is measured against non-abstaining ballots only, so abstaining is neutral — the common
 * "majority of votes cast". `true`: an abstention works like a vote against every option ("majority
 * of those present"; for unanimity, one abstention blocks). Eligible voters who sent no ballot are
 * never in the denominator; the quorum is what guards against low turnout.
 */
const abstentionsCount = z.boolean().default(false);

/**
 * The decision rules. Only `weighted` uses voter weights in the count; every other rule is one voter,
 * one vote (the `highest-weight` tie-break still reads weights).
 * - `majority`: an option needs more than half of the denominator. If no option has it, the outcome
 *   is `no-majority` — except an exact 50/50 split between two options, which is a tie and goes to
 *   the tie-break (a casting vote breaks a deadlock; it cannot turn 40% into a majority).
 * - `plurality`: most votes wins; a level top goes to the tie-break.
 * - `weighted`: plurality (or, with `threshold: "majority"`, majority) over the sum of supporters'
 *   weights. The caller resolves `weightSource` (agent priority, success rate or an explicit map) to
 *   numbers in `context.weights`; the rule records the source so the audit says where they came from.
 * - `ranked-choice`: instant runoff, see instant-runoff.ts.
 * - `borda`: m candidates, position i (0-based) earns m−1−i points, unranked candidates earn 0.
 * - `unanimity`: every non-abstaining ballot names the same option; otherwise `no-majority`.
 */
export const votingRuleSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("majority"), ...commonOptions, abstentionsCount }),
  z.strictObject({ kind: z.literal("plurality"), ...commonOptions }),
  z.strictObject({
    kind: z.literal("weighted"),
    ...commonOptions,
    weightSource: z.enum(["priority", "successRate", "explicit"]),
    threshold: z.enum(["plurality", "majority"]).default("plurality"),
    abstentionsCount,
  }),
  z.strictObject({ kind: z.literal("ranked-choice"), ...commonOptions }),
  z.strictObject({ kind: z.literal("borda"), ...commonOptions }),
  z.strictObject({ kind: z.literal("unanimity"), ...commonOptions, abstentionsCount }),
]);
/** A rule with every default filled in: what the tally stores and recounts from. */
export type VotingRule = z.infer<typeof votingRuleSchema>;
/** A rule as a caller may write it (defaulted options may be left out). */
export type VotingRuleInput = z.input<typeof votingRuleSchema>;
export type VotingRuleKind = VotingRule["kind"];
