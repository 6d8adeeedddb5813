import { z } from "zod";
import { NeuroflowError } from "../../protocol/errors.js";

/** Who votes: an agent id or any other non-empty name the team uses. */
export const voterIdSchema = z.string().min(1).max(256);
/** What is voted on: a proposal id, an answer, a candidate agent. Compared exactly (case and spaces matter). */
export const optionIdSchema = z.string().min(1).max(256);

/**
 * A ballot for the single-choice rules (majority, plurality, weighted, unanimity). `choice: null` is
 * an explicit abstention. Strict: an unknown key makes the ballot invalid, so a ranked ballot (or a
 * misspelt `choise`) can never be read as an abstention.
 */
export const singleChoiceBallotSchema = z.strictObject({
  voterId: voterIdSchema,
  choice: optionIdSchema.nullable(),
});
export type SingleChoiceBallot = z.infer<typeof singleChoiceBallotSchema>;

/**
 * A ballot for the ranked rules (ranked-choice, borda): options from most to least preferred. An
 * empty ranking is an explicit abstention. Listing an option twice makes the ballot invalid — we do
 * not guess which of the two positions the voter meant.
 */
export const rankedBallotSchema = z
  .strictObject({
    voterId: voterIdSchema,
    ranking: z.array(optionIdSchema).max(1_000),
  })
  .superRefine((ballot, context) => {
    const seen = new Set<string>();
    for (const [index, option] of ballot.ranking.entries()) {
      if (seen.has(option)) {
        context.addIssue({
          code: "custom",
          path: ["ranking", index],
          message: `ranking lists "${option}" more than once`,
        });
      }
      seen.add(option);
    }
  });
export type RankedBallot = z.infer<typeof rankedBallotSchema>;

/**
 * Voting weight per voter id: non-negative and finite. A weight of 0 is allowed (the voter counts
 * toward turnout and quorum but moves no totals); negative weight would let a vote count against.
 */
export const voterWeightsSchema = z.record(voterIdSchema, z.number().finite().nonnegative());
export type VoterWeights = z.infer<typeof voterWeightsSchema>;

/**
 * What zod found wrong, as one readable line (`ranking[2]: ranking lists "a" more than once`).
 * Kept short and deterministic because it is stored in the audit trail and compared on recount.
 */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("");
      return path === "" ? issue.message : `${path.replace(/^\./, "")}: ${issue.message}`;
    })
    .join("; ");
}

/**
 * Parses one single-choice ballot at the edge (e.g. when an agent's vote arrives), so the voter can be
 * told at once. Throws NeuroflowError VALIDATION_FAILED, with the zod issues in `details`, when the
 * value is not a valid single-choice ballot.
 */
export function parseSingleChoiceBallot(value: unknown): SingleChoiceBallot {
  const parsed = singleChoiceBallotSchema.safeParse(value);
  if (!parsed.success) {
    throw new NeuroflowError("VALIDATION_FAILED", `invalid ballot: ${describeIssues(parsed.error)}`, {
      details: parsed.error.issues,
    });
  }
  return parsed.data;
}

/**
 * Parses one ranked ballot at the edge. Throws NeuroflowError VALIDATION_FAILED, with the zod issues
 * in `details`, when the value is not a ranked ballot or lists an option more than once.
 */
export function parseRankedBallot(value: unknown): RankedBallot {
  const parsed = rankedBallotSchema.safeParse(value);
  if (!parsed.success) {
    throw new NeuroflowError("VALIDATION_FAILED", `invalid ballot: ${describeIssues(parsed.error)}`, {
      details: parsed.error.issues,
    });
  }
  return parsed.data;
}
