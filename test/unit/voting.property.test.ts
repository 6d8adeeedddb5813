import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createPrng,
  tally,
  verifyRecount,
  type TallyContextInput,
  type TallyResult,
  type VotingRuleInput,
} from "../../runtime/teams/voting/index.js";

const OPTIONS = ["a", "b", "c", "d"];
type Kind = "single-choice" | "ranked";
interface Ballot {
  voterId: string;
  choice?: string | null;
  ranking?: string[];
}
interface Scenario {
  rule: VotingRuleInput;
  kind: Kind;
  voters: string[];
  /** One well-formed ballot per voter who voted; may include abstentions. */
  good: Ballot[];
  /** Ballots that must be rejected, and may drag a good ballot down with them (a second ballot). */
  bad: unknown[];
  context: TallyContextInput;
}

const tieBreak = fc.constantFrom("leader", "highest-weight", "random", "revote");
const quorum = fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true }));
const singleRule: fc.Arbitrary<VotingRuleInput> = fc.oneof(
  fc.record({ kind: fc.constant("plurality"), tieBreak, quorum }),
  fc.record({ kind: fc.constant("majority"), tieBreak, quorum, abstentionsCount: fc.boolean() }),
  fc.record({
    kind: fc.constant("weighted"),
    weightSource: fc.constantFrom("priority", "successRate", "explicit"),
    threshold: fc.constantFrom("plurality", "majority"),
    abstentionsCount: fc.boolean(),
    tieBreak,
    quorum,
  }),
  fc.record({ kind: fc.constant("unanimity"), tieBreak, quorum, abstentionsCount: fc.boolean() }),
);
const rankedRule: fc.Arbitrary<VotingRuleInput> = fc.oneof(
  fc.record({ kind: fc.constant("ranked-choice"), tieBreak, quorum }),
  fc.record({ kind: fc.constant("borda"), tieBreak, quorum }),
);
const kindOf = (rule: VotingRuleInput): Kind => (rule.kind === "ranked-choice" || rule.kind === "borda" ? "ranked" : "single-choice");

function ballotFor(kind: Kind, voterId: string): fc.Arbitrary<Ballot> {
  return kind === "single-choice"
    ? fc.option(fc.constantFrom(...OPTIONS), { freq: 6 }).map((choice) => ({ voterId, choice }))
    : fc.shuffledSubarray(OPTIONS).map((ranking) => ({ voterId, ranking }));
}

/** Integer and fractional weights, zero included: sums must not depend on ballot order either way. */
const weight = (min: number): fc.Arbitrary<number> =>
  fc.oneof(fc.integer({ min: Math.ceil(min), max: 5 }), fc.double({ min, max: 10, noNaN: true, noDefaultInfinity: true }));

function contextFor(voters: string[], minWeight = 0): fc.Arbitrary<TallyContextInput> {
  return fc.record({
    weights: fc.tuple(...voters.map(() => weight(minWeight))).map((ws) => Object.fromEntries(voters.map((v, i) => [v, ws[i] ?? 0]))),
    leaderId: fc.constantFrom(...voters),
    seed: fc.integer(),
  }).map((rest) => ({ eligibleVoters: voters, ...rest }));
}

const votersArb = fc.integer({ min: 1, max: 8 }).map((n) => Array.from({ length: n }, (_, i) => `v${i}`));

const scenario = (rules: fc.Arbitrary<VotingRuleInput>, withBad = true): fc.Arbitrary<Scenario> =>
  fc.tuple(rules, votersArb).chain(([rule, voters]) => {
    const kind = kindOf(rule);
    const bad = fc.oneof(
      ballotFor(kind, "outsider"),
      fc.constantFrom(...voters).chain((v) => ballotFor(kind, v)),
      fc.constantFrom<unknown>(
        { voterId: "v0", ranking: ["a", "a"] },
        { voterId: "v1", choice: "a", extra: 1 },
        { nope: true },
        "junk",
        null,
        42,
      ),
    );
    return fc.record({
      rule: fc.constant(rule),
      kind: fc.constant(kind),
      voters: fc.constant(voters),
      good: fc
        .tuple(...voters.map((v) => fc.option(ballotFor(kind, v), { freq: 5 })))
        .map((bs) => bs.filter((b): b is Ballot => b !== null)),
      bad: withBad ? fc.array(bad, { maxLength: 3 }) : fc.constant([]),
      context: contextFor(voters),
    });
  });

const allRules = fc.oneof(singleRule, rankedRule);

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const prng = createPrng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    const a = out[i];
    const b = out[j];
    if (a === undefined || b === undefined) throw new Error("index out of range");
    out[i] = b;
    out[j] = a;
  }
  return out;
}

const optionsOn = (ballots: readonly Ballot[]): Set<string> =>
  new Set(ballots.flatMap((b) => (b.ranking !== undefined ? b.ranking : b.choice != null ? [b.choice] : [])));

function isBallot(value: unknown): value is Ballot {
  return typeof value === "object" && value !== null && "voterId" in value && typeof value.voterId === "string";
}

/** The options a result names as winner, tied or leading. */
function named(result: TallyResult): string[] {
  switch (result.outcome) {
    case "decided":
      return [result.winner];
    case "tie":
      return result.tied;
    case "no-majority":
      return result.leading;
    case "no-quorum":
      return [];
  }
}

describe("voting rules: properties", () => {
  it("only ever names options some counted ballot voted for", () => {
    fc.assert(
      fc.property(scenario(allRules), ({ rule, good, bad, context }) => {
        const result = tally(rule, [...good, ...bad], context);
        const counted = new Set(result.audit.counted);
        // Independent of the tally's own admission: a named option is on a ballot of a voter whose
        // ballot the audit says it counted (a "bad" ballot is a fine one when its voter sent no other).
        const sent = [...good, ...bad].flatMap((b) => (isBallot(b) ? [b] : []));
        const votedFor = optionsOn(sent.filter((b) => counted.has(b.voterId)));
        for (const option of named(result)) expect(votedFor.has(option)).toBe(true);
        if (result.outcome === "decided") expect(result.audit.turnout).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it("gives the identical result for any order of the ballots", () => {
    fc.assert(
      fc.property(scenario(allRules), fc.integer(), ({ rule, good, bad, context }, seed) => {
        const ballots = [...good, ...bad];
        expect(tally(rule, shuffle(ballots, seed), context)).toStrictEqual(tally(rule, ballots, context));
      }),
      { numRuns: 300 },
    );
  });

  it("elects the option every voter chose, under every rule and tie-break", () => {
    // Positive weights: with every weight 0 a weighted majority has nothing to be a majority of.
    const unanimous = fc
      .tuple(allRules, votersArb, fc.constantFrom(...OPTIONS))
      .chain(([rule, voters, option]) =>
        fc.record({
          rule: fc.constant(rule),
          option: fc.constant(option),
          ballots: fc.tuple(
            ...voters.map((voterId) =>
              kindOf(rule) === "single-choice"
                ? fc.constant<Ballot>({ voterId, choice: option })
                : fc.shuffledSubarray(OPTIONS.filter((o) => o !== option)).map((rest): Ballot => ({ voterId, ranking: [option, ...rest] })),
            ),
          ),
          context: contextFor(voters, 0.001),
        }),
      );
    fc.assert(
      fc.property(unanimous, ({ rule, option, ballots, context }) => {
        expect(tally(rule, ballots, context)).toMatchObject({ outcome: "decided", winner: option, decidedBy: "count" });
      }),
      { numRuns: 300 },
    );
  });

  it("never makes the plurality or majority winner lose by adding a ballot for it", () => {
    const rules: fc.Arbitrary<VotingRuleInput> = fc.oneof(
      fc.record({ kind: fc.constant("plurality"), tieBreak, quorum }),
      fc.record({ kind: fc.constant("majority"), tieBreak, quorum, abstentionsCount: fc.boolean() }),
    );
    fc.assert(
      fc.property(scenario(rules), ({ rule, good, bad, context, voters }) => {
        // A voter who has not voted yet, eligible from the start so the electorate is the same.
        const withSpare = { ...context, eligibleVoters: [...voters, "spare"], weights: { ...context.weights, spare: 1 } };
        const before = tally(rule, [...good, ...bad], withSpare);
        if (before.outcome !== "decided") return;
        const after = tally(rule, [...good, ...bad, { voterId: "spare", choice: before.winner }], withSpare);
        expect(after).toMatchObject({ outcome: "decided", winner: before.winner });
      }),
      { numRuns: 300 },
    );
  });

  it("elects a first-preference majority in round 1 of instant runoff", () => {
    const withMajority = votersArb.chain((voters) =>
      fc.record({
        winner: fc.constantFrom(...OPTIONS),
        // How many voters (from the front) rank the winner first: more than half of all voters.
        backers: fc.integer({ min: Math.floor(voters.length / 2) + 1, max: voters.length }),
        tails: fc.tuple(...voters.map(() => fc.shuffledSubarray(OPTIONS))),
        context: contextFor(voters),
        tieBreak,
      }),
    );
    fc.assert(
      fc.property(withMajority, ({ winner, backers, tails, context, tieBreak: policy }) => {
        const ballots = context.eligibleVoters.map((voterId, i) => {
          const others = (tails[i] ?? []).filter((o) => o !== winner);
          // Everyone else ranks the winner anywhere but first, or abstains (an empty ranking).
          return { voterId, ranking: i < backers ? [winner, ...others] : others };
        });
        const result = tally({ kind: "ranked-choice", tieBreak: policy }, ballots, context);
        expect(result).toMatchObject({ outcome: "decided", winner, decidedBy: "count" });
        expect(result.audit.rounds).toHaveLength(1);
        expect(result.audit.rounds[0]?.eliminated).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it("survives a JSON round trip unchanged and recounts to itself", () => {
    fc.assert(
      fc.property(scenario(allRules), ({ rule, good, bad, context }) => {
        const result = tally(rule, [...good, ...bad], context);
        const stored: unknown = JSON.parse(JSON.stringify(result));
        expect(stored).toStrictEqual(result);
        const check = verifyRecount(stored);
        expect(check.matches).toBe(true);
        expect(check.recounted).toStrictEqual(result);
      }),
      { numRuns: 300 },
    );
  });

  it("accounts for every ballot: counted plus rejected is what was received", () => {
    fc.assert(
      fc.property(scenario(allRules), ({ rule, good, bad, context, voters }) => {
        const result = tally(rule, [...good, ...bad], context);
        const { audit } = result;
        expect(audit.counted.length + audit.rejected.length).toBe(good.length + bad.length);
        expect(audit.counted.length + audit.nonVoters.length).toBe(voters.length);
        expect(audit.turnout + audit.abstainers.length).toBe(audit.counted.length);
      }),
      { numRuns: 300 },
    );
  });
});
