import { describeIssues, rankedBallotSchema, singleChoiceBallotSchema } from "./ballot.js";
import { canonicalJson, compareCodeUnits, type JsonValue } from "./canonical-json.js";
import type { RejectedBallot } from "./result.js";
import type { BallotKind } from "./rules.js";

/**
 * A counted ballot in the one shape all counters read: a single choice is a ranking of one, and an
 * abstention (null choice, empty ranking) is an empty ranking.
 */
export interface CountedBallot {
  voterId: string;
  ranking: readonly string[];
}

export interface Admission {
  /** In code-unit order of voter id, one per voter. */
  counted: CountedBallot[];
  /** In `compareBallots` order. */
  rejected: RejectedBallot[];
}

/**
 * The voter id a ballot claims, or null when it is not an object with a string `voterId`. Reads
 * nothing else, so the rest of the ballot need not be trusted. (A plain check rather than a schema:
 * sorting ballots asks this of every ballot, and a count is on every team's hot path.)
 */
export function claimedVoterId(ballot: JsonValue): string | null {
  if (typeof ballot !== "object" || ballot === null || Array.isArray(ballot)) return null;
  const voterId = ballot.voterId;
  return typeof voterId === "string" ? voterId : null;
}

/**
 * The order ballots are stored and listed in, whatever order they arrived in: by claimed voter id
 * (ballots without one first), then by canonical JSON. Voter order first so a reader finds a
 * voter's ballot where they expect it.
 */
export function compareBallots(a: JsonValue, b: JsonValue): number {
  return compareKeyed({ ballot: a, voterId: claimedVoterId(a) }, { ballot: b, voterId: claimedVoterId(b) });
}

/** A ballot with its sort keys: the claimed voter id, and its canonical JSON once a tie needs it. */
interface Keyed<T> {
  ballot: JsonValue;
  voterId: string | null;
  text?: string;
  item?: T;
}

function compareKeyed<T>(a: Keyed<T>, b: Keyed<T>): number {
  if (a.voterId !== b.voterId) return a.voterId === null ? -1 : b.voterId === null ? 1 : compareCodeUnits(a.voterId, b.voterId);
  a.text ??= canonicalJson(a.ballot);
  b.text ??= canonicalJson(b.ballot);
  return compareCodeUnits(a.text, b.text);
}

/**
 * `items` sorted by their ballots (`ballotOf`) in {@link compareBallots} order, each ballot's keys
 * computed once instead of on every comparison. Returns a new array.
 */
export function sortByBallot<T>(items: readonly T[], ballotOf: (item: T) => JsonValue): T[] {
  const keyed = items.map((item): Keyed<T> => {
    const ballot = ballotOf(item);
    return { ballot, voterId: claimedVoterId(ballot), item };
  });
  keyed.sort(compareKeyed);
  return keyed.map((entry) => entry.item as T);
}

/**
 * Sorts ballots into counted and rejected; never throws for a bad ballot, because one misbehaving
 * voter must not be able to stop the vote. Checks, first failure wins: a voter id that appears on more
 * than one ballot rejects all of them (`duplicate-voter`); a ballot not of the rule's shape is
 * `malformed`; a voter outside the electorate is `ineligible`; an option outside `options` (when the
 * team declared them) is `unknown-option`. The outcome does not depend on the order of `ballots`.
 */
export function admitBallots(
  kind: BallotKind,
  ballots: readonly JsonValue[],
  eligible: ReadonlySet<string>,
  options: readonly string[] | null,
): Admission {
  const claimed = ballots.map(claimedVoterId);
  const ballotsPerVoter = new Map<string, number>();
  for (const voterId of claimed) {
    if (voterId !== null) ballotsPerVoter.set(voterId, (ballotsPerVoter.get(voterId) ?? 0) + 1);
  }
  const declared = options === null ? null : new Set(options);

  const counted: CountedBallot[] = [];
  const rejected: RejectedBallot[] = [];
  for (const [index, ballot] of ballots.entries()) {
    const voterId = claimed[index] ?? null;
    const reject = (reason: RejectedBallot["reason"], message: string): void => {
      rejected.push({ voterId, reason, message, ballot });
    };
    const copies = voterId === null ? 0 : (ballotsPerVoter.get(voterId) ?? 0);
    if (voterId !== null && copies > 1) {
      reject("duplicate-voter", `voter "${voterId}" sent ${copies} ballots; all are rejected, since arrival order cannot pick one`);
      continue;
    }
    const parsed = parseCountedBallot(kind, ballot);
    if (!parsed.ok) {
      reject("malformed", `not a ${kind} ballot: ${parsed.message}`);
      continue;
    }
    if (!eligible.has(parsed.ballot.voterId)) {
      reject("ineligible", `voter "${parsed.ballot.voterId}" is not an eligible voter`);
      continue;
    }
    const unknown = declared === null ? undefined : parsed.ballot.ranking.find((option) => !declared.has(option));
    if (unknown !== undefined) {
      reject("unknown-option", `"${unknown}" is not one of the options on this vote`);
      continue;
    }
    counted.push(parsed.ballot);
  }

  counted.sort((a, b) => compareCodeUnits(a.voterId, b.voterId));
  // One voter's ballots all get the same reason, so ballot order alone orders the rejections.
  return { counted, rejected: sortByBallot(rejected, (entry) => entry.ballot) };
}

function parseCountedBallot(
  kind: BallotKind,
  ballot: JsonValue,
): { ok: true; ballot: CountedBallot } | { ok: false; message: string } {
  if (kind === "single-choice") {
    const parsed = singleChoiceBallotSchema.safeParse(ballot);
    if (!parsed.success) return { ok: false, message: describeIssues(parsed.error) };
    const { voterId, choice } = parsed.data;
    return { ok: true, ballot: { voterId, ranking: choice === null ? [] : [choice] } };
  }
  const parsed = rankedBallotSchema.safeParse(ballot);
  if (!parsed.success) return { ok: false, message: describeIssues(parsed.error) };
  return { ok: true, ballot: { voterId: parsed.data.voterId, ranking: parsed.data.ranking } };
}
