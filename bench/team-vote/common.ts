import { createPrng, tally, type SingleChoiceBallot, type TallyContextInput, type VotingRuleInput } from "../../runtime/teams/voting/index.js";

/**
 * What every column of the team-vote benchmark shares: the electorate (7 voters), how a voter decides
 * (deterministically, from the round id), the count (the project's voting library, majority rule) and
 * the in-flight pool that measures rounds per second and round latency. A column differs only in how
 * the 7 ballots travel from the voters to the tally.
 */

/** Voters per round: a 7-agent DEMOCRATIC team. */
export const VOTER_COUNT = 7;
/** The two options on every ballot paper. */
export const OPTIONS = ["yes", "no"] as const;
/** One option of {@link OPTIONS}. */
export type Choice = (typeof OPTIONS)[number];

/** Voter ids `voter-0` … `voter-6`, in index order. */
export const VOTER_IDS: readonly string[] = Array.from({ length: VOTER_COUNT }, (_, index) => `voter-${index}`);

/** The rule of the team: simple majority of the votes cast. With 7 voters and 2 options there is always a winner. */
export const RULE: VotingRuleInput = { kind: "majority" };
/** Everyone votes; only the two options are accepted. */
export const CONTEXT: TallyContextInput = { eligibleVoters: [...VOTER_IDS], options: [...OPTIONS] };

/** FNV-1a, 32 bits: a cheap, stable hash to seed each voter's decision. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * How voter `voterIndex` votes in round `roundId`: a fair coin seeded with a hash of both, through the
 * voting library's PRNG. The same arguments give the same choice in every column, so all columns count
 * the same votes.
 */
export function voterChoice(roundId: string, voterIndex: number): Choice {
  return createPrng(fnv1a(`${roundId}#${voterIndex}`)).next() < 0.5 ? "yes" : "no";
}

/** The ballot voter `voterIndex` casts in round `roundId`. Throws RangeError for an index outside 0–6. */
export function ballotFor(roundId: string, voterIndex: number): SingleChoiceBallot {
  const voterId = VOTER_IDS[voterIndex];
  if (voterId === undefined) throw new RangeError(`no voter ${voterIndex}`);
  return { voterId, choice: voterChoice(roundId, voterIndex) };
}

/**
 * Counts one round's ballots with the project's `tally` and returns the winner. Throws when the round
 * was not decided with all 7 ballots counted — a column that lost or mangled a ballot must fail, not
 * report a rate.
 */
export function countRound(roundId: string, ballots: readonly unknown[]): Choice {
  const result = tally(RULE, ballots, CONTEXT);
  if (result.outcome !== "decided" || result.audit.counted.length !== VOTER_COUNT) {
    throw new Error(`round ${roundId}: expected a decision from ${VOTER_COUNT} ballots, got ${result.outcome} from ${result.audit.counted.length}`);
  }
  return result.winner === "yes" ? "yes" : "no";
}

/** What one column measured. */
export interface RoundStats {
  /** Rounds completed per second of wall time in the measured window (warm-up excluded). */
  roundsPerSec: number;
  /** Median round latency (start of the round to its tally), under the in-flight load. */
  p50Ms: number;
  /** 95th-percentile round latency, under the same load. */
  p95Ms: number;
  /** Rounds completed in the measured window. */
  rounds: number;
}

/** How long and how hard to measure. */
export interface MeasureOptions {
  /** Rounds in flight at once (a pool of lanes, each starting its next round when the last ended). Default 64. */
  inFlight?: number;
  /** Warm-up before measuring, same load, results discarded. Default 1 s. */
  warmupSeconds?: number;
  /** Length of the measured window. Default 5 s. Ignored when `rounds` is set. */
  seconds?: number;
  /** Measure a fixed number of rounds instead of a fixed duration. */
  rounds?: number;
  /**
   * Called (and awaited) right before the measured window opens and right after it closes, e.g. to
   * read each process's CPU time or cut a CPU profile to the window.
   */
  onWindow?: (edge: "start" | "end") => Promise<void> | void;
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

let roundSequence = 0;

/**
 * Runs `round` with `inFlight` rounds in flight: first a warm-up, then the measured window (a duration,
 * or a count). Each call gets a fresh round id. The rate divides the rounds completed in the window by
 * the window's wall time up to the last completion, so the rounds still in flight at the deadline are
 * counted and so is the time they took. Rejects with the first round's error.
 */
export async function measureRounds(round: (roundId: string) => Promise<void>, options: MeasureOptions = {}): Promise<RoundStats> {
  const inFlight = options.inFlight ?? 64;
  let failed = false;
  const pool = async (keepGoing: () => boolean, onDone?: (ms: number) => void): Promise<void> => {
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (!failed && keepGoing()) {
          const roundId = `r${++roundSequence}`;
          const start = process.hrtime.bigint();
          try {
            await round(roundId);
          } catch (error) {
            failed = true; // stop the other lanes; Promise.all rejects with this error
            throw error;
          }
          onDone?.(Number(process.hrtime.bigint() - start) / 1e6);
        }
      }),
    );
  };

  const warmupEnd = Date.now() + (options.warmupSeconds ?? 1) * 1000;
  await pool(() => Date.now() < warmupEnd);

  await options.onWindow?.("start");
  const samples: number[] = [];
  const fixedCount = options.rounds;
  let started = 0;
  const deadline = Date.now() + (options.seconds ?? 5) * 1000;
  const keepGoing = (): boolean => {
    if (fixedCount === undefined) return Date.now() < deadline;
    if (started >= fixedCount) return false;
    started++;
    return true;
  };
  const begin = process.hrtime.bigint();
  await pool(keepGoing, (ms) => samples.push(ms));
  const elapsedSeconds = Number(process.hrtime.bigint() - begin) / 1e9;
  await options.onWindow?.("end");
  samples.sort((a, b) => a - b);
  return {
    roundsPerSec: samples.length / elapsedSeconds,
    p50Ms: percentile(samples, 50),
    p95Ms: percentile(samples, 95),
    rounds: samples.length,
  };
}
