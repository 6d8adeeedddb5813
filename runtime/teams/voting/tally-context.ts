import { z } from "zod";
import { NeuroflowError } from "../../protocol/errors.js";
import { describeIssues, optionIdSchema, voterIdSchema, voterWeightsSchema } from "./ballot.js";
import { compareCodeUnits } from "./canonical-json.js";
import type { VotingRule } from "./rules.js";

function noDuplicates(what: string) {
  return (values: readonly string[], context: z.RefinementCtx): void => {
    const seen = new Set<string>();
    for (const [index, value] of values.entries()) {
      if (seen.has(value)) context.addIssue({ code: "custom", path: [index], message: `${what} "${value}" is listed twice` });
      seen.add(value);
    }
  };
}

/**
 * Who may vote and what the count may need besides the ballots.
 * - `eligibleVoters`: the electorate; the quorum is a fraction of it.
 * - `weights`: per voter, for the `weighted` rule and the `highest-weight` tie-break. When given it
 *   must cover every eligible voter: a voter silently weighing 0 because a key was misspelt is the
 *   kind of error an audit should never have to find.
 * - `leaderId`: the casting voter for the `leader` tie-break; must be eligible.
 * - `seed`: for the `random` tie-break. Vary it per vote (e.g. a hash of the vote id) — the same seed
 *   draws the same position every time.
 * - `options`: the options on the ballot paper, when the team has a fixed list. A ballot naming
 *   anything else is rejected (`unknown-option`), and Borda scores against this list. Without it the
 *   options are whatever the accepted ballots name.
 */
export const tallyContextSchema = z.strictObject({
  eligibleVoters: z.array(voterIdSchema).min(1).max(100_000).superRefine(noDuplicates("voter")),
  weights: voterWeightsSchema.optional(),
  leaderId: voterIdSchema.optional(),
  seed: z.number().int().refine(Number.isSafeInteger, "seed must be a safe integer").optional(),
  options: z.array(optionIdSchema).min(1).max(10_000).superRefine(noDuplicates("option")).optional(),
});
export type TallyContext = z.infer<typeof tallyContextSchema>;
/** The context as a caller writes it. */
export type TallyContextInput = z.input<typeof tallyContextSchema>;

/** The context in the form the counters use, plus the canonical copy the result stores. */
export interface ResolvedContext {
  /** Canonical: sorted lists, sorted weight keys, absent fields omitted — independent of caller order. */
  stored: TallyContext;
  eligible: ReadonlySet<string>;
  /** Eligible voters in code-unit order. */
  eligibleSorted: readonly string[];
  weights: ReadonlyMap<string, number> | null;
  leaderId: string | null;
  seed: number | null;
  /** Declared options in code-unit order, or null when the ballots define them. */
  options: readonly string[] | null;
}

/**
 * Validates the context against the rule it will be used with. Throws NeuroflowError
 * VALIDATION_FAILED (zod issues in `details` where zod found them) when the context is malformed, when
 * `weights` misses an eligible voter, when the `weighted` rule or the `highest-weight` tie-break has no
 * weights, when the `leader` tie-break has no `leaderId` or the leader is not eligible, or when the
 * `random` tie-break has no `seed`. These are configuration errors, found before any ballot is read,
 * so that a misconfigured vote fails the same way whether or not it happens to end in a tie.
 */
export function resolveContext(rule: VotingRule, value: unknown): ResolvedContext {
  const parsed = tallyContextSchema.safeParse(value);
  if (!parsed.success) {
    throw new NeuroflowError("VALIDATION_FAILED", `invalid tally context: ${describeIssues(parsed.error)}`, {
      details: parsed.error.issues,
    });
  }
  const context = parsed.data;
  const eligibleSorted = [...context.eligibleVoters].sort(compareCodeUnits);
  const fail = (message: string): never => {
    throw new NeuroflowError("VALIDATION_FAILED", `invalid tally context: ${message}`);
  };

  let weights: Map<string, number> | null = null;
  if (context.weights !== undefined) {
    // `+ 0` turns -0 into 0, which JSON could not tell apart anyway.
    weights = new Map(Object.entries(context.weights).map(([voter, weight]) => [voter, weight + 0]));
    const missing = eligibleSorted.filter((voter) => !weights?.has(voter));
    if (missing.length > 0) fail(`weights has no entry for eligible voter(s) ${missing.map((v) => `"${v}"`).join(", ")}`);
  }
  if (weights === null && rule.kind === "weighted") fail(`the weighted rule needs weights (source: ${rule.weightSource})`);
  if (weights === null && rule.tieBreak === "highest-weight") fail("the highest-weight tie-break needs weights");
  if (rule.tieBreak === "leader") {
    if (context.leaderId === undefined) fail("the leader tie-break needs a leaderId");
    else if (!context.eligibleVoters.includes(context.leaderId)) fail(`leader "${context.leaderId}" is not an eligible voter`);
  }
  if (rule.tieBreak === "random" && context.seed === undefined) fail("the random tie-break needs a seed");

  const options = context.options === undefined ? null : [...context.options].sort(compareCodeUnits);
  const stored: TallyContext = { eligibleVoters: eligibleSorted };
  if (weights !== null) {
    stored.weights = Object.fromEntries([...weights.entries()].sort(([a], [b]) => compareCodeUnits(a, b)));
  }
  if (context.leaderId !== undefined) stored.leaderId = context.leaderId;
  if (context.seed !== undefined) stored.seed = context.seed + 0;
  if (options !== null) stored.options = options;

  return {
    stored,
    eligible: new Set(eligibleSorted),
    eligibleSorted,
    weights,
    leaderId: context.leaderId ?? null,
    seed: context.seed ?? null,
    options,
  };
}
