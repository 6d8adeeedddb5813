import { describe, expect, it } from "vitest";
import {
  createPrng,
  parseRankedBallot,
  parseSingleChoiceBallot,
  parseVotingRule,
  quorumRequired,
  recount,
  tally,
  verifyRecount,
  type TallyContextInput,
  type TallyResult,
  type VotingRuleInput,
} from "../../runtime/teams/voting/index.js";

const vote = (voterId: string, choice: string | null) => ({ voterId, choice });
const rank = (voterId: string, ...ranking: string[]) => ({ voterId, ranking });
const voters = (n: number): string[] => Array.from({ length: n }, (_, i) => `v${i + 1}`);
/** `votes("A", 3, "B", 2)` → v1..v3 choose A, v4..v5 choose B. */
function votes(...spec: (string | number | null)[]): { voterId: string; choice: string | null }[] {
  const ballots: { voterId: string; choice: string | null }[] = [];
  for (let i = 0; i < spec.length; i += 2) {
    const choice = spec[i];
    const times = spec[i + 1];
    if (typeof times !== "number" || typeof choice === "number" || choice === undefined) throw new Error("bad spec");
    for (let k = 0; k < times; k++) ballots.push(vote(`v${ballots.length + 1}`, choice));
  }
  return ballots;
}

function run(rule: VotingRuleInput, ballots: readonly unknown[], context: TallyContextInput): TallyResult {
  const result = tally(rule, ballots, context);
  // Every result in this file must survive storage and recount unchanged.
  expect(verifyRecount(JSON.parse(JSON.stringify(result))).matches).toBe(true);
  return result;
}

function tallies(result: TallyResult, round = 1): Record<string, number> {
  const entry = result.audit.rounds[round - 1];
  if (entry === undefined) throw new Error(`no round ${round}`);
  return Object.fromEntries(entry.tallies.map(({ option, votes }) => [option, votes]));
}

describe("plurality", () => {
  it("elects the option with the most votes", () => {
    const result = run({ kind: "plurality" }, votes("A", 3, "B", 2, "C", 1), { eligibleVoters: voters(6) });
    expect(result).toMatchObject({ outcome: "decided", winner: "A", decidedBy: "count" });
    expect(tallies(result)).toEqual({ A: 3, B: 2, C: 1 });
    expect(result.audit).toMatchObject({ eligible: 6, turnout: 6, abstainers: [], rejected: [], tieBreak: null });
  });

  it("returns a tie for a revote by default, listing the tied options", () => {
    const result = run({ kind: "plurality" }, votes("B", 2, "A", 2, "C", 1), { eligibleVoters: voters(5) });
    expect(result).toMatchObject({ outcome: "tie", tied: ["A", "B"] });
    expect(result.audit.tieBreak).toEqual({ policy: "revote", tied: ["A", "B"], chosen: null });
  });

  it("lets the leader's choice break a tie, and ties when the leader backed neither tied option", () => {
    const ballots = votes("A", 2, "B", 2, "C", 1); // v3 voted B, v5 voted C
    const byLeader = run({ kind: "plurality", tieBreak: "leader" }, ballots, { eligibleVoters: voters(5), leaderId: "v3" });
    expect(byLeader).toMatchObject({ outcome: "decided", winner: "B", decidedBy: "tie-break" });
    expect(byLeader.audit.tieBreak).toEqual({ policy: "leader", tied: ["A", "B"], leaderId: "v3", leaderPrefers: "B", chosen: "B" });

    const outsider = run({ kind: "plurality", tieBreak: "leader" }, ballots, { eligibleVoters: voters(5), leaderId: "v5" });
    expect(outsider).toMatchObject({ outcome: "tie", tied: ["A", "B"] });
    expect(outsider.audit.tieBreak).toMatchObject({ leaderPrefers: null, chosen: null });
  });

  it("lets the heaviest single supporter break a tie, then the next heaviest, else ties", () => {
    const ballots = votes("A", 2, "B", 2); // A: v1 v2, B: v3 v4
    const heavy = run({ kind: "plurality", tieBreak: "highest-weight" }, ballots, {
      eligibleVoters: voters(4),
      weights: { v1: 1, v2: 1, v3: 5, v4: 0 },
    });
    expect(heavy).toMatchObject({ outcome: "decided", winner: "B", decidedBy: "tie-break" });
    expect(heavy.audit.tieBreak).toMatchObject({
      supporterWeights: [
        { option: "A", weights: [1, 1] },
        { option: "B", weights: [5, 0] },
      ],
    });

    const second = run({ kind: "plurality", tieBreak: "highest-weight" }, ballots, {
      eligibleVoters: voters(4),
      weights: { v1: 3, v2: 2, v3: 3, v4: 1 },
    });
    expect(second).toMatchObject({ outcome: "decided", winner: "A" });

    const level = run({ kind: "plurality", tieBreak: "highest-weight" }, ballots, {
      eligibleVoters: voters(4),
      weights: { v1: 2, v2: 1, v3: 1, v4: 2 },
    });
    expect(level).toMatchObject({ outcome: "tie", tied: ["A", "B"] });
  });

  it("breaks a tie by a seeded draw that a recount repeats", () => {
    const ballots = votes("A", 1, "B", 1, "C", 1);
    const winners = new Set<string>();
    for (let seed = 0; seed < 30; seed++) {
      const result = run({ kind: "plurality", tieBreak: "random" }, ballots, { eligibleVoters: voters(3), seed });
      if (result.outcome !== "decided") throw new Error("expected a decision");
      expect(result.decidedBy).toBe("tie-break");
      const record = result.audit.tieBreak;
      if (record?.policy !== "random") throw new Error("expected a random tie-break record");
      expect(record.tied[record.draw]).toBe(result.winner);
      expect(record.draw).toBe(createPrng(seed).int(3));
      expect(tally({ kind: "plurality", tieBreak: "random" }, [...ballots].reverse(), { eligibleVoters: voters(3), seed })).toEqual(result);
      winners.add(result.winner);
    }
    expect(winners).toEqual(new Set(["A", "B", "C"]));
  });

  it("lists declared options with no votes and rejects a vote for an undeclared one", () => {
    const result = run({ kind: "plurality" }, [vote("v1", "A"), vote("v2", "A"), vote("v3", "Z")], {
      eligibleVoters: voters(3),
      options: ["C", "B", "A"],
    });
    expect(result).toMatchObject({ outcome: "decided", winner: "A" });
    expect(tallies(result)).toEqual({ A: 2, B: 0, C: 0 });
    expect(result.audit.rejected).toEqual([
      { voterId: "v3", reason: "unknown-option", message: '"Z" is not one of the options on this vote', ballot: vote("v3", "Z") },
    ]);
    expect(result.input.context.options).toEqual(["A", "B", "C"]);
  });
});

describe("majority", () => {
  it("elects an option with more than half of the votes", () => {
    const result = run({ kind: "majority" }, votes("A", 3, "B", 2), { eligibleVoters: voters(5) });
    expect(result).toMatchObject({ outcome: "decided", winner: "A", decidedBy: "count" });
  });

  it("reports no majority when the plurality leader has half or less", () => {
    const result = run({ kind: "majority" }, votes("A", 4, "B", 3, "C", 3), { eligibleVoters: voters(10) });
    expect(result).toMatchObject({ outcome: "no-majority", threshold: "majority", leading: ["A"], leadingVotes: 4, denominator: 10 });
  });

  it("leaves abstentions out of the denominator unless abstentionsCount is set", () => {
    const ballots = [...votes("A", 3, "B", 2), vote("v6", null), vote("v7", null)];
    const cast = run({ kind: "majority" }, ballots, { eligibleVoters: voters(7) });
    expect(cast).toMatchObject({ outcome: "decided", winner: "A" });
    expect(cast.audit).toMatchObject({ turnout: 5, abstainers: ["v6", "v7"] });

    const present = run({ kind: "majority", abstentionsCount: true }, ballots, { eligibleVoters: voters(7) });
    expect(present).toMatchObject({ outcome: "no-majority", leading: ["A"], leadingVotes: 3, denominator: 7 });
  });

  it("treats an exact 50/50 split as a tie that a casting vote may break", () => {
    const ballots = votes("A", 2, "B", 2);
    expect(run({ kind: "majority" }, ballots, { eligibleVoters: voters(4) })).toMatchObject({ outcome: "tie", tied: ["A", "B"] });
    const cast = run({ kind: "majority", tieBreak: "leader" }, ballots, { eligibleVoters: voters(4), leaderId: "v1" });
    expect(cast).toMatchObject({ outcome: "decided", winner: "A", decidedBy: "tie-break" });
    // With an abstention counted, 2 of 5 is not half: no majority, and no casting vote.
    const short = run({ kind: "majority", tieBreak: "leader", abstentionsCount: true }, [...ballots, vote("v5", null)], {
      eligibleVoters: voters(5),
      leaderId: "v1",
    });
    expect(short).toMatchObject({ outcome: "no-majority", leading: ["A", "B"], denominator: 5 });
  });
});

describe("weighted", () => {
  it("lets weight overturn the head count", () => {
    const ballots = votes("A", 3, "B", 1);
    const context = { eligibleVoters: voters(4), weights: { v1: 1, v2: 1, v3: 1, v4: 5 } };
    expect(run({ kind: "plurality" }, ballots, context)).toMatchObject({ outcome: "decided", winner: "A" });
    const weighted = run({ kind: "weighted", weightSource: "priority" }, ballots, context);
    expect(weighted).toMatchObject({ outcome: "decided", winner: "B" });
    expect(tallies(weighted)).toEqual({ A: 3, B: 5 });
    expect(weighted.input.rule).toEqual({
      kind: "weighted",
      weightSource: "priority",
      quorum: 0,
      tieBreak: "revote",
      threshold: "plurality",
      abstentionsCount: false,
    });
  });

  it("applies a weighted majority threshold, abstainers' weight counted on request", () => {
    const ballots = [vote("v1", "A"), vote("v2", "B"), vote("v3", null)];
    const context = { eligibleVoters: voters(3), weights: { v1: 0.6, v2: 0.3, v3: 0.5 } };
    expect(run({ kind: "weighted", weightSource: "successRate", threshold: "majority" }, ballots, context)).toMatchObject({
      outcome: "decided",
      winner: "A",
    });
    expect(
      run({ kind: "weighted", weightSource: "successRate", threshold: "majority", abstentionsCount: true }, ballots, context),
    ).toMatchObject({ outcome: "no-majority", leading: ["A"], leadingVotes: 0.6, denominator: 1.4 });
  });

  it("refuses to count without a weight for every eligible voter", () => {
    expect(() => tally({ kind: "weighted", weightSource: "explicit" }, votes("A", 1), { eligibleVoters: voters(2) })).toThrow(
      /weighted rule needs weights/,
    );
    expect(() =>
      tally({ kind: "weighted", weightSource: "explicit" }, votes("A", 1), { eligibleVoters: voters(2), weights: { v1: 1 } }),
    ).toThrow(/no entry for eligible voter\(s\) "v2"/);
    expect(() =>
      tally({ kind: "weighted", weightSource: "explicit" }, votes("A", 1), { eligibleVoters: voters(1), weights: { v1: -1 } }),
    ).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
  });
});

describe("ranked-choice (instant runoff)", () => {
  it("can defeat the plurality winner: the classic three-candidate transfer", () => {
    // X leads on first preferences (4 of 9) but Z's voters all prefer Y to X.
    const ballots = [
      ...["v1", "v2", "v3", "v4"].map((v) => rank(v, "X", "Z", "Y")),
      ...["v5", "v6", "v7"].map((v) => rank(v, "Y", "Z", "X")),
      rank("v8", "Z", "Y", "X"),
      rank("v9", "Z", "Y", "X"),
    ];
    const plurality = run({ kind: "plurality" }, ballots.map((b) => vote(b.voterId, b.ranking[0] ?? null)), { eligibleVoters: voters(9) });
    expect(plurality).toMatchObject({ outcome: "decided", winner: "X" });

    const irv = run({ kind: "ranked-choice" }, ballots, { eligibleVoters: voters(9) });
    expect(irv).toMatchObject({ outcome: "decided", winner: "Y", decidedBy: "count" });
    expect(irv.audit.rounds).toEqual([
      {
        round: 1,
        tallies: [{ option: "X", votes: 4 }, { option: "Y", votes: 3 }, { option: "Z", votes: 2 }],
        exhausted: 0,
        eliminated: { option: "Z", tiedWith: [], brokenBy: "fewest-votes", decidingRound: null },
      },
      { round: 2, tallies: [{ option: "X", votes: 4 }, { option: "Y", votes: 5 }], exhausted: 0, eliminated: null },
    ]);
  });

  it("eliminates one option per round over several rounds, counting exhausted ballots out", () => {
    const ballots = [
      ...voters(6).map((v) => rank(v, "A")), // v1..v6
      ...["v7", "v8", "v9", "v10", "v11"].map((v) => rank(v, "B", "C")),
      ...["v12", "v13", "v14"].map((v) => rank(v, "C", "B")),
      rank("v15", "D", "C"),
      rank("v16", "D"), // exhausted once D goes
    ];
    const result = run({ kind: "ranked-choice" }, ballots, { eligibleVoters: voters(16) });
    expect(result.audit.rounds.map((r) => [tallies(result, r.round), r.exhausted, r.eliminated?.option ?? null])).toEqual([
      [{ A: 6, B: 5, C: 3, D: 2 }, 0, "D"],
      [{ A: 6, B: 5, C: 4 }, 1, "C"], // v15 moved to C, v16 exhausted
      [{ A: 6, B: 8 }, 2, null], // C's three moved to B; v15 exhausted: 8 of 14 active is a majority
    ]);
    expect(result).toMatchObject({ outcome: "decided", winner: "B", decidedBy: "count" });
    expect(result.audit.rounds.every((r) => r.eliminated === null || r.eliminated.brokenBy === "fewest-votes")).toBe(true);
  });

  it("ends in a tie when the last options left are level, after eliminating the rest", () => {
    const ballots = [
      ...["v1", "v2", "v3", "v4", "v5"].map((v) => rank(v, "A")),
      ...["v6", "v7", "v8", "v9"].map((v) => rank(v, "B")),
      ...["v10", "v11", "v12"].map((v) => rank(v, "C")),
      rank("v13", "D", "B"),
    ];
    // Round 1: A 5, B 4, C 3, D 1 → D out (to B). Round 2: A 5, B 5, C 3 → C out, exhausted 3.
    // Round 3: A 5, B 5 → all level: a final tie, not an elimination.
    const result = run({ kind: "ranked-choice" }, ballots, { eligibleVoters: voters(13) });
    expect(result).toMatchObject({ outcome: "tie", tied: ["A", "B"] });
    expect(result.audit.rounds.map((r) => r.eliminated?.option ?? null)).toEqual(["D", "C", null]);
    expect(result.audit.rounds[2]?.exhausted).toBe(3);
  });

  it("records previous-round and option-id elimination tie-breaks", () => {
    // Round 1: A 4, B 3, C 2, D 2 (C and D level, never differed before) → option-id: D (sorts last) goes.
    // D's ballots go to C and B: round 2: A 4, B 4, C 3 → C goes. Round 3: A 4, B 5 (C's three: two to B).
    const ballots = [
      ...["v1", "v2", "v3", "v4"].map((v) => rank(v, "A")),
      ...["v5", "v6", "v7"].map((v) => rank(v, "B")),
      rank("v8", "C", "B"),
      rank("v9", "C", "B"),
      rank("v10", "D", "C"),
      rank("v11", "D", "B"),
    ];
    const result = run({ kind: "ranked-choice" }, ballots, { eligibleVoters: voters(11) });
    expect(result.audit.rounds[0]?.eliminated).toEqual({ option: "D", tiedWith: ["C", "D"], brokenBy: "option-id", decidingRound: null });
    expect(tallies(result, 2)).toEqual({ A: 4, B: 4, C: 3 });
    expect(result).toMatchObject({ outcome: "decided", winner: "B" });

    // Round 1: A 5, B 3, C 2, D 1 → D goes to C. Round 2: A 5, B 3, C 3: B and C level now, but in
    // round 1 C had fewer (2 < 3), so C goes, not B (which option-id order would have picked).
    const backwards = [
      ...["v1", "v2", "v3", "v4", "v5"].map((v) => rank(v, "A")),
      ...["v6", "v7", "v8"].map((v) => rank(v, "B")),
      rank("v9", "C"),
      rank("v10", "C"),
      rank("v11", "D", "C"),
    ];
    const second = run({ kind: "ranked-choice" }, backwards, { eligibleVoters: voters(11) });
    expect(second.audit.rounds[1]?.eliminated).toEqual({ option: "C", tiedWith: ["B", "C"], brokenBy: "previous-round", decidingRound: 1 });
    expect(second).toMatchObject({ outcome: "decided", winner: "A" });
  });

  it("elects a first-preference majority in round 1", () => {
    const ballots = [rank("v1", "A", "B"), rank("v2", "A"), rank("v3", "B", "A")];
    const result = run({ kind: "ranked-choice" }, ballots, { eligibleVoters: voters(3) });
    expect(result).toMatchObject({ outcome: "decided", winner: "A" });
    expect(result.audit.rounds).toHaveLength(1);
  });

  it("hands a final level to the tie-break, the leader's highest-ranked tied option winning", () => {
    const ballots = [rank("v1", "A", "B"), rank("v2", "B", "A"), rank("v3", "C", "B")];
    // Round 1 level at 1-1-1 → every remaining option tied.
    const result = run({ kind: "ranked-choice", tieBreak: "leader" }, ballots, { eligibleVoters: voters(3), leaderId: "v3" });
    expect(result).toMatchObject({ outcome: "decided", winner: "C", decidedBy: "tie-break" });
    expect(result.audit.tieBreak).toMatchObject({ tied: ["A", "B", "C"], leaderPrefers: "C" });
  });
});

describe("borda", () => {
  it("hands out m(m-1)/2 points per full ranking and elects the most points", () => {
    // 5 voters × 3 candidates × (0+1+2) = 15 points in all.
    const ballots = [
      rank("v1", "A", "B", "C"),
      rank("v2", "A", "B", "C"),
      rank("v3", "B", "C", "A"),
      rank("v4", "B", "C", "A"),
      rank("v5", "C", "B", "A"),
    ];
    const result = run({ kind: "borda" }, ballots, { eligibleVoters: voters(5) });
    expect(result.audit.bordaPoints).toEqual([
      { option: "A", points: 4 },
      { option: "B", points: 7 },
      { option: "C", points: 4 },
    ]);
    expect(result.audit.bordaPoints?.reduce((sum, entry) => sum + entry.points, 0)).toBe(15);
    expect(tallies(result)).toEqual({ A: 2, B: 2, C: 1 });
    expect(result).toMatchObject({ outcome: "decided", winner: "B" });
  });

  it("elects a broadly acceptable option that leads no first-preference count", () => {
    const ballots = [
      rank("v1", "A", "C", "B"),
      rank("v2", "A", "C", "B"),
      rank("v3", "B", "C", "A"),
      rank("v4", "B", "C", "A"),
      rank("v5", "C", "A", "B"),
    ];
    const result = run({ kind: "borda" }, ballots, { eligibleVoters: voters(5) });
    expect(result).toMatchObject({ outcome: "decided", winner: "C" }); // A 5, B 4, C 6
  });

  it("scores truncated rankings against the declared options and ties on equal points", () => {
    const ballots = [rank("v1", "A"), rank("v2", "B", "C")];
    const result = run({ kind: "borda", tieBreak: "revote" }, ballots, { eligibleVoters: voters(2), options: ["A", "B", "C", "D"] });
    expect(result.audit.bordaPoints).toEqual([
      { option: "A", points: 3 },
      { option: "B", points: 3 },
      { option: "C", points: 2 },
      { option: "D", points: 0 },
    ]);
    expect(result).toMatchObject({ outcome: "tie", tied: ["A", "B"] });
  });
});

describe("unanimity", () => {
  it("decides when every non-abstaining voter agrees", () => {
    const result = run({ kind: "unanimity" }, [...votes("A", 3), vote("v4", null)], { eligibleVoters: voters(4) });
    expect(result).toMatchObject({ outcome: "decided", winner: "A" });
  });

  it("fails with one dissenter", () => {
    const result = run({ kind: "unanimity" }, votes("A", 4, "B", 1), { eligibleVoters: voters(5) });
    expect(result).toMatchObject({ outcome: "no-majority", threshold: "unanimity", leading: ["A"], leadingVotes: 4, denominator: 5 });
  });

  it("lets one abstention block when abstentionsCount is set", () => {
    const result = run({ kind: "unanimity", abstentionsCount: true }, [...votes("A", 3), vote("v4", null)], { eligibleVoters: voters(4) });
    expect(result).toMatchObject({ outcome: "no-majority", threshold: "unanimity", leadingVotes: 3, denominator: 4 });
  });
});

describe("quorum", () => {
  it("reports no quorum with the turnout and what was required, counting abstentions out", () => {
    const ballots = [...votes("A", 2), vote("v3", null), vote("v4", null)];
    const result = run({ kind: "plurality", quorum: 0.5 }, ballots, { eligibleVoters: voters(6) });
    expect(result).toMatchObject({ outcome: "no-quorum", turnout: 2, required: 3 });
    expect(result.audit).toMatchObject({ rounds: [], quorum: { fraction: 0.5, required: 3, met: false }, nonVoters: ["v5", "v6"] });
  });

  it("meets a decimal quorum exactly (7 of 10 for 0.7)", () => {
    expect(quorumRequired(0.7, 10)).toBe(7);
    expect(quorumRequired(0.6, 5)).toBe(3);
    expect(quorumRequired(1, 3)).toBe(3);
    expect(quorumRequired(0, 3)).toBe(1);
    const result = run({ kind: "plurality", quorum: 0.7 }, votes("A", 7), { eligibleVoters: voters(10) });
    expect(result).toMatchObject({ outcome: "decided", winner: "A" });
  });

  it("needs at least one vote even with quorum 0", () => {
    for (const kind of ["plurality", "majority", "unanimity", "ranked-choice", "borda"] as const) {
      const ballots = kind === "ranked-choice" || kind === "borda" ? [rank("v1")] : [vote("v1", null)];
      expect(run({ kind }, ballots, { eligibleVoters: voters(2) })).toMatchObject({ outcome: "no-quorum", turnout: 0, required: 1 });
    }
  });
});

describe("invalid ballots and configuration", () => {
  it("rejects a ranking that lists an option twice, naming it", () => {
    expect(() => parseRankedBallot(rank("v1", "A", "B", "A"))).toThrow('invalid ballot: ranking[2]: ranking lists "A" more than once');
    const result = run({ kind: "ranked-choice" }, [rank("v1", "A", "B", "A"), rank("v2", "B")], { eligibleVoters: voters(2) });
    expect(result).toMatchObject({ outcome: "decided", winner: "B" });
    expect(result.audit.rejected).toEqual([
      {
        voterId: "v1",
        reason: "malformed",
        message: 'not a ranked ballot: ranking[2]: ranking lists "A" more than once',
        ballot: rank("v1", "A", "B", "A"),
      },
    ]);
    expect(result.audit.nonVoters).toEqual(["v1"]);
  });

  it("rejects a ballot from a voter outside the electorate", () => {
    const ballots = [vote("v1", "A"), vote("mallory", "B"), vote("mallory2", "B")];
    const result = run({ kind: "plurality" }, ballots, { eligibleVoters: voters(1) });
    expect(result).toMatchObject({ outcome: "decided", winner: "A" });
    expect(result.audit.rejected.map((r) => [r.voterId, r.reason])).toEqual([
      ["mallory", "ineligible"],
      ["mallory2", "ineligible"],
    ]);
  });

  it("rejects every ballot of a voter who voted twice, whatever the order", () => {
    const ballots = [vote("v1", "A"), vote("v2", "B"), vote("v3", "B"), vote("v1", "A")];
    const result = run({ kind: "plurality" }, ballots, { eligibleVoters: voters(3) });
    expect(result).toMatchObject({ outcome: "decided", winner: "B" });
    expect(result.audit.rejected).toHaveLength(2);
    expect(result.audit.rejected.every((r) => r.reason === "duplicate-voter" && r.voterId === "v1")).toBe(true);
    expect(result.audit.rejected[0]?.message).toBe('voter "v1" sent 2 ballots; all are rejected, since arrival order cannot pick one');
    expect(result.audit).toMatchObject({ counted: ["v2", "v3"], nonVoters: ["v1"], ballotsReceived: 4 });
  });

  it("rejects ballots of the wrong shape for the rule, unknown keys included", () => {
    const result = run(
      { kind: "plurality" },
      [vote("v1", "A"), rank("v2", "B"), { voterId: "v3", choise: "B" }, { choice: "B" }, "B", vote("v4", "")],
      { eligibleVoters: voters(4) },
    );
    expect(result).toMatchObject({ outcome: "decided", winner: "A" });
    expect(result.audit.rejected.map((r) => [r.voterId, r.reason])).toEqual([
      [null, "malformed"],
      [null, "malformed"],
      ["v2", "malformed"],
      ["v3", "malformed"],
      ["v4", "malformed"],
    ]);
    expect(() => parseSingleChoiceBallot({ voterId: "v3", choise: "B" })).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
  });

  it("throws VALIDATION_FAILED for ballots that are not JSON data, and for a broken configuration", () => {
    const context = { eligibleVoters: voters(2) };
    expect(() => tally({ kind: "plurality" }, [{ voterId: "v1", choice: undefined }], context)).toThrow(
      /ballots\[0\]\.choice is undefined/,
    );
    expect(() => tally({ kind: "plurality" }, [{ voterId: "v1", choice: Number.NaN }], context)).toThrow(/is NaN/);
    expect(() => parseVotingRule({ kind: "majority", abstentionCount: true })).toThrow(/Unrecognized key/);
    expect(() => parseVotingRule({ kind: "plurality", quorum: 1.5 })).toThrow(/quorum/);
    expect(() => parseVotingRule({ kind: "approval" })).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
    expect(() => tally({ kind: "plurality" }, [], { eligibleVoters: [] })).toThrow(/eligibleVoters/);
    expect(() => tally({ kind: "plurality" }, [], { eligibleVoters: ["a", "a"] })).toThrow(/voter "a" is listed twice/);
    expect(() => tally({ kind: "plurality", tieBreak: "leader" }, [], context)).toThrow(/needs a leaderId/);
    expect(() => tally({ kind: "plurality", tieBreak: "leader" }, [], { ...context, leaderId: "boss" })).toThrow(/not an eligible voter/);
    expect(() => tally({ kind: "plurality", tieBreak: "random" }, [], context)).toThrow(/needs a seed/);
    expect(() => tally({ kind: "plurality", tieBreak: "highest-weight" }, [], context)).toThrow(/needs weights/);
  });
});

describe("audit and recount", () => {
  const ballots = [vote("v2", "B"), vote("v1", "A"), vote("v3", "A"), vote("x", "A")];
  const context = { eligibleVoters: ["v3", "v1", "v2"] };

  it("stores the input in canonical order and recounts it to the same result", () => {
    const result = tally({ kind: "plurality" }, ballots, context);
    expect(result.input.ballots).toEqual([vote("v1", "A"), vote("v2", "B"), vote("v3", "A"), vote("x", "A")]);
    expect(result.input.context.eligibleVoters).toEqual(["v1", "v2", "v3"]);
    expect(recount(result)).toEqual(result);
    const stored: unknown = JSON.parse(JSON.stringify(result));
    expect(stored).toStrictEqual(result);
    expect(verifyRecount(stored).matches).toBe(true);
  });

  it("matches a stored copy whose keys were reordered, and catches a tampered one", () => {
    const result = tally({ kind: "plurality" }, ballots, context);
    // As Postgres jsonb would hand it back: same content, keys in another order.
    const reordered: unknown = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(result).reverse())));
    expect(verifyRecount(reordered).matches).toBe(true);
    expect(verifyRecount({ ...result, winner: "B" }).matches).toBe(false);
    expect(verifyRecount({ ...result, audit: { ...result.audit, turnout: 4 } }).matches).toBe(false);
    expect(verifyRecount({ ...result, note: "extra" }).matches).toBe(false);
    expect(() => recount({ outcome: "decided" })).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
  });

  it("does not share the caller's objects: later mutation cannot change a stored result", () => {
    const mutable = [vote("v1", "A")];
    const result = tally({ kind: "plurality" }, mutable, { eligibleVoters: ["v1"] });
    const first = mutable[0];
    if (first !== undefined) first.choice = "B";
    expect(result.input.ballots).toEqual([vote("v1", "A")]);
  });
});

describe("prng", () => {
  it("is a deterministic stream in [0, 1) per seed", () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const drawsA = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(drawsA);
    expect(drawsA.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(createPrng(43).next()).not.toBe(drawsA[0]);
    const ints = createPrng(7);
    expect(Array.from({ length: 200 }, () => ints.int(3)).every((x) => x === 0 || x === 1 || x === 2)).toBe(true);
  });

  it("refuses seeds and ranges it would silently truncate", () => {
    expect(() => createPrng(1.5)).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
    expect(() => createPrng(0).int(0)).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
  });
});
