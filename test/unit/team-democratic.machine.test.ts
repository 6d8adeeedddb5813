import { describe, expect, it } from "vitest";
import { democraticTeamMachine } from "../../runtime/machines/team-democratic.machine.js";
import type { AskMemberInput } from "../../runtime/machines/team.js";
import { ANSWER_INSTRUCTION, RANKING_INSTRUCTION } from "../../runtime/teams/answer-format.js";
import { tallyResultSchema, verifyRecount } from "../../runtime/teams/voting/index.js";
import { eventsOf, fail, member, memberNumber, runInput, runTeam, says, scriptedAsk, type Reply } from "../support/team-fakes.js";

const key = { options: ["Paris", "London", "Berlin"], correct: "Paris" };
const task = { prompt: "What is the capital of France?", answerKey: key };
const team = (n: number) => Array.from({ length: n }, (_, i) => member(i + 1));
const democratic = (rule: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ structure: "DEMOCRATIC", coordination: { rule, ...extra } });

/** Member n answers `answers[n - 1]` to every answer/debate ask (an Error: it fails). */
const answering = (answers: Reply[]) => scriptedAsk((input) => answers[memberNumber(input) - 1] ?? fail());

function tallyOf(output: { log: Parameters<typeof eventsOf>[0] }, voteRound = 1) {
  const event = eventsOf(output.log, "team.tally").find((entry) => entry.voteRound === voteRound);
  return tallyResultSchema.parse(event?.result);
}

describe("democratic team machine", () => {
  it("majority: everyone answers in parallel, the answers are the ballots, and the tally recounts", async () => {
    const ask = answering([says("Paris"), says("paris."), says("London")]);
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "majority" }), team(3), task), ask);
    expect(output.status).toBe("COMPLETED");
    expect(output.answer).toBe("Paris");
    expect(ask.calls).toHaveLength(3);
    for (const call of ask.calls) {
      expect(call).toMatchObject({ purpose: "answer", timeoutMs: 60_000, answerKey: key });
      expect(call.prompt.split("\n").at(-1)).toBe(ANSWER_INSTRUCTION);
    }
    const ballots = eventsOf(output.log, "team.ballot");
    expect(ballots.map((event) => event.ballot)).toEqual([
      { voterId: member(1).agentId, choice: "Paris" },
      { voterId: member(2).agentId, choice: "Paris" },
      { voterId: member(3).agentId, choice: "London" },
    ]);
    const result = tallyOf(output);
    expect(result.outcome).toBe("decided");
    expect(verifyRecount(JSON.parse(JSON.stringify(result))).matches).toBe(true);
    expect(result.input.ballots).toHaveLength(3);
    expect(eventsOf(output.log, "team.decision")).toEqual([expect.objectContaining({ outcome: "decided", winner: "Paris", next: "complete" })]);
    expect(output.participation.map((entry) => entry.calls)).toEqual([1, 1, 1]);
    expect(output.usage).toEqual({ promptTokens: 30, completionTokens: 12 });
    expect(output.costMicroUsd).toBe(9);
  });

  it("majority without one: FAILED with CONFLICT and the count in words", async () => {
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "majority" }), team(3), task), answering([says("Paris"), says("London"), says("Berlin")]));
    expect(output.status).toBe("FAILED");
    expect(output.error).toMatchObject({ code: "CONFLICT" });
    expect(output.error?.message).toMatch(/no majority/);
  });

  it("plurality: the most votes win without a majority", async () => {
    const ask = answering([says("Paris"), says("London"), says("Paris"), says("Berlin")]);
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "plurality" }), team(4), task), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "Paris" });
  });

  it.each([
    ["priority", { priority: 5 }],
    ["explicit", { weight: 3 }],
    ["successRate", { successRate: 0.9 }],
  ])("weighted by %s: the heavier member outvotes two light ones", async (weightSource, heavy) => {
    const members = [member(1, heavy), member(2, { successRate: 0.2 }), member(3, { successRate: 0.2 })];
    const ask = answering([says("London"), says("Paris"), says("Paris")]);
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "weighted", weightSource }), members, task), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "London" });
    expect(Object.keys(tallyOf(output).input.context.weights ?? {})).toHaveLength(3);
  });

  it("unanimity: one dissent fails the vote, full agreement decides", async () => {
    const dissent = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "unanimity" }), team(3), task), answering([says("Paris"), says("Paris"), says("London")]));
    expect(dissent.status).toBe("FAILED");
    expect(dissent.error?.code).toBe("CONFLICT");
    const agreed = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "unanimity" }), team(3), task), answering([says("Paris"), says("Paris"), says("Paris")]));
    expect(agreed).toMatchObject({ status: "COMPLETED", answer: "Paris" });
  });

  it("ranked-choice: a ranking call per member, and the runoff transfers the eliminated option's votes", async () => {
    const rankings: Record<number, string> = {
      1: "Ranking: Paris > Berlin > London",
      2: "Ranking: Paris > London > Berlin",
      3: "Ranking: London > Paris > Berlin",
      4: "Ranking: London > Berlin > Paris",
      5: "Ranking: Berlin > Paris > London",
    };
    const ask = scriptedAsk((input) => (input.purpose === "rank" ? (rankings[memberNumber(input)] ?? "") : says("Paris")));
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "ranked-choice" }), team(5), task), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "Paris" });
    const rankCalls = ask.calls.filter((call) => call.purpose === "rank");
    expect(rankCalls).toHaveLength(5);
    expect(rankCalls[0]?.prompt.split("\n").at(-1)).toBe(RANKING_INSTRUCTION);
    const result = tallyOf(output);
    expect(result.audit.rounds).toHaveLength(2);
    expect(verifyRecount(result).matches).toBe(true);
  });

  it("borda: points over whole rankings; an unreadable ranking abstains and is logged", async () => {
    const rankings: Record<number, string> = {
      1: "Ranking: London > Paris > Berlin",
      2: "Ranking: Paris > London > Berlin",
      3: "Ranking: Paris > Berlin > London",
      4: "I would rather not rank these.",
    };
    const ask = scriptedAsk((input) => (input.purpose === "rank" ? (rankings[memberNumber(input)] ?? "") : says("Paris")));
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "borda" }), team(4), task), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "Paris" });
    const abstained = eventsOf(output.log, "team.ballot").filter((event) => event.abstained);
    expect(abstained).toEqual([expect.objectContaining({ ballot: { voterId: member(4).agentId, ranking: [] }, reason: expect.stringMatching(/ranking/) })]);
    expect(tallyOf(output).audit.bordaPoints).toEqual(expect.arrayContaining([{ option: "Paris", points: 5 }]));
  });

  it("a failed member does not vote; the rest still meet the quorum", async () => {
    const ask = answering([says("Paris"), fail("TIMEOUT", "silent"), says("Paris")]);
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "majority", quorum: 0.6 }), team(3), task), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "Paris" });
    expect(eventsOf(output.log, "team.member.failed")).toEqual([
      { type: "team.member.failed", agentId: member(2).agentId, purpose: "answer", error: { code: "TIMEOUT", message: "silent", retryable: false } },
    ]);
    expect(tallyOf(output).audit.nonVoters).toEqual([member(2).agentId]);
    expect(output.participation[1]).toMatchObject({ calls: 1, failures: 1, costMicroUsd: 0 });
  });

  it("too few voters for the quorum: FAILED with UNAVAILABLE, saying how many voted", async () => {
    const ask = answering([says("Paris"), fail(), fail(), says("Paris")]);
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "majority", quorum: 0.75 }), team(4), task), ask);
    expect(output.status).toBe("FAILED");
    expect(output.error).toEqual({ code: "UNAVAILABLE", message: "no quorum: 2 of 4 members voted, 3 needed", retryable: true });
    expect(tallyOf(output).outcome).toBe("no-quorum");
  });

  it("nobody answers: FAILED, not stuck", async () => {
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "plurality" }), team(3), task), answering([fail(), fail(), fail()]));
    expect(output.status).toBe("FAILED");
    expect(output.error?.code).toBe("UNAVAILABLE");
  });

  it("minVoters is an absolute floor on top of the rule's quorum", async () => {
    const ask = answering([says("Paris"), says("Paris"), fail(), says("London")]);
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "plurality" }, { minVoters: 4 }), team(4), task), ask);
    expect(output.status).toBe("FAILED");
    expect(output.error).toMatchObject({ code: "UNAVAILABLE", message: expect.stringMatching(/3 of 4 members voted, minVoters is 4/) });
    expect(eventsOf(output.log, "team.decision")[0]).toMatchObject({ outcome: "below-min-voters", next: "fail" });
    const enough = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "plurality" }, { minVoters: 3 }), team(4), task), answering([says("Paris"), says("Paris"), fail(), says("London")]));
    expect(enough).toMatchObject({ status: "COMPLETED", answer: "Paris" });
  });

  it("debate rounds: members see each other's answers and may revise before the vote", async () => {
    const script = (input: AskMemberInput): Reply => {
      const n = memberNumber(input);
      if (input.purpose === "debate") return says(input.prompt.includes("Paris") ? "Paris" : "Berlin");
      return says(n === 3 ? "London" : "Paris");
    };
    const ask = scriptedAsk(script);
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "unanimity" }, { debateRounds: 2 }), team(3), task), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "Paris" });
    const debates = ask.calls.filter((call) => call.purpose === "debate");
    expect(debates).toHaveLength(6);
    const firstForThree = debates.find((call) => memberNumber(call) === 3);
    expect(firstForThree?.prompt).toContain("member-1");
    expect(firstForThree?.prompt).toContain("Answer: Paris");
    const revisions = eventsOf(output.log, "team.revision");
    expect(revisions.filter((event) => event.changed)).toEqual([expect.objectContaining({ round: 1, agentId: member(3).agentId, answer: "Paris" })]);
    expect(revisions.map((event) => event.round)).toEqual([1, 1, 1, 2, 2, 2]);
  });

  it("without an answer key the options are the distinct normalized answers", async () => {
    const ask = answering(["Answer: Paris", "answer:   PARIS  ", "Answer: Lyon"]);
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "majority" }), team(3)), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "paris" });
    expect(tallyOf(output).input.context.options).toEqual(["lyon", "paris"]);
    expect(ask.calls[0]?.answerKey).toBeUndefined();
  });

  it("a configuration the tally refuses ends FAILED as state, not a throw", async () => {
    const input = { ...runInput(democratic({ kind: "plurality", tieBreak: "random" }), team(2), task), seed: 0.5 };
    const output = await runTeam(democraticTeamMachine, input, answering([says("Paris"), says("London")]));
    expect(output.status).toBe("FAILED");
    expect(output.error?.code).toBe("VALIDATION_FAILED");
    expect(eventsOf(output.log, "team.decision")[0]).toMatchObject({ outcome: "invalid" });
  });
});
