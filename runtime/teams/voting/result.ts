import { z } from "zod";
import { optionIdSchema, voterIdSchema } from "./ballot.js";
import { votingRuleSchema } from "./rules.js";
import { tallyContextSchema } from "./tally-context.js";

/**
 * The shape of a tally result, as zod schemas so a consumer that receives one over the wire or loads
 * it from storage can parse it instead of trusting it. Everything here is plain JSON: lists of
 * `{ option, votes }` rather than maps keyed by option, so an option named `__proto__` or `"1"` can
 * neither corrupt an object nor be reordered by the engine.
 */

/** One option's total in one round: a count of ballots, or a sum of weights under `weighted`. */
export const optionVotesSchema = z.object({ option: optionIdSchema, votes: z.number() });
export type OptionVotes = z.infer<typeof optionVotesSchema>;

/**
 * Why a ballot was not counted. `duplicate-voter`: the voter sent more than one ballot, and all of
 * them are rejected (keeping the first or the last would make the result depend on arrival order,
 * which a recount cannot see). `malformed`: not a ballot of the rule's shape (including a ranking that
 * lists an option twice). `ineligible`: the voter is not in `eligibleVoters`. `unknown-option`: the
 * ballot names an option outside `context.options`.
 */
export const rejectionReasonSchema = z.enum(["duplicate-voter", "malformed", "ineligible", "unknown-option"]);
export type RejectionReason = z.infer<typeof rejectionReasonSchema>;

export const rejectedBallotSchema = z.object({
  /** The voter the ballot claims to be from, or null when it has no string `voterId`. */
  voterId: z.string().nullable(),
  reason: rejectionReasonSchema,
  message: z.string(),
  ballot: z.json(),
});
export type RejectedBallot = z.infer<typeof rejectedBallotSchema>;

/**
 * An instant-runoff elimination. `brokenBy`: `fewest-votes` when one option alone had the fewest;
 * `previous-round` when several tied for fewest and the most recent earlier round in which they
 * differed (`decidingRound`) singled one out; `option-id` when they were level in every round and the
 * one that sorts last by code unit went — arbitrary, but fixed, so anyone can recount it.
 */
export const eliminationSchema = z.object({
  option: optionIdSchema,
  tiedWith: z.array(optionIdSchema),
  brokenBy: z.enum(["fewest-votes", "previous-round", "option-id"]),
  decidingRound: z.number().int().min(1).nullable(),
});
export type Elimination = z.infer<typeof eliminationSchema>;

/** One counting round: single-choice rules and Borda have one, instant runoff one per elimination. */
export const tallyRoundSchema = z.object({
  round: z.number().int().min(1),
  /** Every option still in the count, in code-unit order. Under Borda: first preferences. */
  tallies: z.array(optionVotesSchema),
  /** Ranked ballots whose every option has been eliminated (always 0 outside instant runoff). */
  exhausted: z.number().int().min(0),
  eliminated: eliminationSchema.nullable(),
});
export type TallyRound = z.infer<typeof tallyRoundSchema>;

export const bordaPointsSchema = z.object({ option: optionIdSchema, points: z.number().int().min(0) });
export type BordaPoints = z.infer<typeof bordaPointsSchema>;

/** How a level top was broken; `chosen: null` means the policy could not pick and the outcome is `tie`. */
export const tieBreakRecordSchema = z.discriminatedUnion("policy", [
  z.object({
    policy: z.literal("leader"),
    tied: z.array(optionIdSchema),
    leaderId: voterIdSchema,
    /** The tied option the leader's counted ballot prefers, or null (abstained, rejected, backed none). */
    leaderPrefers: optionIdSchema.nullable(),
    chosen: optionIdSchema.nullable(),
  }),
  z.object({
    policy: z.literal("highest-weight"),
    tied: z.array(optionIdSchema),
    /** Per tied option, the weights of the voters who prefer it among the tied options, heaviest first. */
    supporterWeights: z.array(z.object({ option: optionIdSchema, weights: z.array(z.number()) })),
    chosen: optionIdSchema.nullable(),
  }),
  z.object({
    policy: z.literal("random"),
    tied: z.array(optionIdSchema),
    seed: z.number().int(),
    /** Index into `tied` that the first draw of mulberry32(seed) picked. */
    draw: z.number().int().min(0),
    chosen: optionIdSchema,
  }),
  z.object({ policy: z.literal("revote"), tied: z.array(optionIdSchema), chosen: z.null() }),
]);
export type TieBreakRecord = z.infer<typeof tieBreakRecordSchema>;

/** Everything needed to check the outcome by hand. */
export const tallyAuditSchema = z.object({
  eligible: z.number().int().min(1),
  ballotsReceived: z.number().int().min(0),
  /** Voters whose ballot was counted (abstentions included), in code-unit order. */
  counted: z.array(voterIdSchema),
  abstainers: z.array(voterIdSchema),
  /** Eligible voters with no counted ballot: never voted, or every ballot they sent was rejected. */
  nonVoters: z.array(voterIdSchema),
  /** Counted, non-abstaining ballots. */
  turnout: z.number().int().min(0),
  quorum: z.object({ fraction: z.number(), required: z.number().int().min(1), met: z.boolean() }),
  rejected: z.array(rejectedBallotSchema),
  /** Empty when the quorum was not met: nothing was counted. */
  rounds: z.array(tallyRoundSchema),
  bordaPoints: z.array(bordaPointsSchema).nullable(),
  tieBreak: tieBreakRecordSchema.nullable(),
});
export type TallyAudit = z.infer<typeof tallyAuditSchema>;

/**
 * What was counted, in canonical order (ballots sorted by their canonical JSON, voter lists sorted),
 * so the same votes in any arrival order store the same input — and `recount` re-runs exactly this.
 */
export const tallyInputSchema = z.object({
  rule: votingRuleSchema,
  ballots: z.array(z.json()),
  context: tallyContextSchema,
});
export type TallyInput = z.infer<typeof tallyInputSchema>;

const record = { version: z.literal(1), input: tallyInputSchema, audit: tallyAuditSchema };

/**
 * The outcome plus its record. `decided`: `winner` won by the count or by the tie-break
 * (`decidedBy`). `tie`: the options still level (the `revote` policy, or a policy that could not
 * pick). `no-quorum`: too few non-abstaining ballots. `no-majority`: a `majority` (or weighted
 * majority) or `unanimity` threshold was not reached; `leading` are the options with the most votes.
 */
export const tallyResultSchema = z.discriminatedUnion("outcome", [
  z.object({ outcome: z.literal("decided"), winner: optionIdSchema, decidedBy: z.enum(["count", "tie-break"]), ...record }),
  z.object({ outcome: z.literal("tie"), tied: z.array(optionIdSchema).min(2), ...record }),
  z.object({ outcome: z.literal("no-quorum"), turnout: z.number().int().min(0), required: z.number().int().min(1), ...record }),
  z.object({
    outcome: z.literal("no-majority"),
    threshold: z.enum(["majority", "unanimity"]),
    leading: z.array(optionIdSchema),
    leadingVotes: z.number(),
    /** What the threshold was measured against: non-abstaining votes, plus abstentions if they count. */
    denominator: z.number(),
    ...record,
  }),
]);
export type TallyResult = z.infer<typeof tallyResultSchema>;
export type TallyOutcome = TallyResult["outcome"];
