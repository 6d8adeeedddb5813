import { NeuroflowError } from "../../protocol/errors.js";
import { describeIssues } from "./ballot.js";
import { canonicalJson } from "./canonical-json.js";
import { tallyResultSchema, type TallyResult } from "./result.js";
import { tally } from "./tally.js";

/**
 * Re-runs the count a stored result records (its `input`: rule, ballots, context) and returns the
 * fresh result. Takes `unknown` because a stored result comes from a database, a file or the wire.
 * Throws NeuroflowError VALIDATION_FAILED, with the zod issues in `details`, when `stored` is not a
 * tally result (or its input no longer passes validation).
 */
export function recount(stored: unknown): TallyResult {
  const parsed = tallyResultSchema.safeParse(stored);
  if (!parsed.success) {
    throw new NeuroflowError("VALIDATION_FAILED", `not a tally result: ${describeIssues(parsed.error)}`, {
      details: parsed.error.issues,
    });
  }
  const { rule, ballots, context } = parsed.data.input;
  return tally(rule, ballots, context);
}

/** Whether a stored result is exactly what its own input counts to, and the recount to show if not. */
export interface RecountCheck {
  matches: boolean;
  recounted: TallyResult;
}

/**
 * Recounts `stored` and compares the whole result — outcome, audit and input — as canonical JSON, so
 * key order (Postgres `jsonb` reorders keys) does not matter but any altered count, reason or extra
 * field does. Throws like {@link recount} when `stored` is not a tally result; a stored value that is
 * not even JSON data does not match.
 */
export function verifyRecount(stored: unknown): RecountCheck {
  const recounted = recount(stored);
  let storedText: string;
  try {
    storedText = canonicalJson(stored);
  } catch {
    return { matches: false, recounted };
  }
  return { matches: storedText === canonicalJson(recounted), recounted };
}
