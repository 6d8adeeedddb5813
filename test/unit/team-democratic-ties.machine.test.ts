import { describe, expect, it } from "vitest";
import { createActor, SimulatedClock, toPromise } from "xstate";
import { democraticTeamMachine } from "../../runtime/machines/team-democratic.machine.js";
import { askMemberActor, type AskMemberInput, type MemberAnswer } from "../../runtime/machines/team.js";
import { ANSWER_INSTRUCTION } from "../../runtime/teams/answer-format.js";
import { createPrng, recount, tallyResultSchema } from "../../runtime/teams/voting/index.js";
import { eventsOf, expectConsistent, fail, member, memberNumber, runInput, runTeam, says, scriptedAsk, type Reply } from "../support/team-fakes.js";

const key = { options: ["Paris", "London", "Berlin"], correct: "Paris" };
const task = { prompt: "What is the capital of France?", answerKey: key };
const democratic = (rule: Record<string, unknown>) => ({ structure: "DEMOCRATIC", coordination: { rule } });
/** Members 1 and 2 say London, 3 and 4 Paris: a 2–2 tie. */
const split = (input: AskMemberInput): Reply => says(memberNumber(input) <= 2 ? "London" : "Paris");

function tallies(output: { log: Parameters<typeof eventsOf>[0] }) {
  return eventsOf(output.log, "team.tally").map((event) => tallyResultSchema.parse(event.result));
}

describe("democratic ties", () => {
  it("revote: one more ballot on the tied options, and it decides", async () => {
    const ask = scriptedAsk((input, n) => (n === 1 ? split(input) : says(memberNumber(input) === 1 ? "London" : "Paris")));
    const members = [1, 2, 3, 4].map((n) => member(n));
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "plurality", tieBreak: "revote" }), members, task), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "Paris" });
    const revotes = ask.calls.slice(4);
    expect(revotes).toHaveLength(4);
    for (const call of revotes) {
      expect(call).toMatchObject({ purpose: "answer", answerKey: { options: ["London", "Paris"], correct: "Paris" } });
      expect(call.prompt).toContain("tied");
      expect(call.prompt.split("\n").at(-1)).toBe(ANSWER_INSTRUCTION);
    }
    const [first, second] = tallies(output);
    expect(first).toMatchObject({ outcome: "tie", tied: ["London", "Paris"] });
    expect(second).toMatchObject({ outcome: "decided", winner: "Paris" });
    expect(second?.input.context.options).toEqual(["London", "Paris"]);
    expect(eventsOf(output.log, "team.decision").map((event) => event.next)).toEqual(["revote", "complete"]);
    expect(eventsOf(output.log, "team.ballot").map((event) => event.voteRound)).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    for (const result of tallies(output)) expect(recount(result)).toEqual(result);
  });

  it("revote that ties again: FAILED with CONFLICT", async () => {
    const members = [1, 2, 3, 4].map((n) => member(n));
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "plurality" }), members, task), scriptedAsk(split));
    expect(output.status).toBe("FAILED");
    expect(output.error).toEqual({ code: "CONFLICT", message: 'tie between "London", "Paris" (after a re-vote)', retryable: false });
    expect(tallies(output)).toHaveLength(2);
  });

  it("leader: the leader's choice among the tied options wins", async () => {
    const members = [member(1, { role: "LEADER" }), member(2), member(3), member(4)];
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "plurality", tieBreak: "leader" }), members, task), scriptedAsk(split));
    expect(output).toMatchObject({ status: "COMPLETED", answer: "London" });
    expect(tallies(output)[0]).toMatchObject({ decidedBy: "tie-break", audit: { tieBreak: { policy: "leader", leaderId: member(1).agentId } } });
  });

  it("highest-weight: the tied option with the heavier supporter wins", async () => {
    const members = [member(1), member(2), member(3, { priority: 4 }), member(4)];
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "plurality", tieBreak: "highest-weight" }), members, task), scriptedAsk(split));
    expect(output).toMatchObject({ status: "COMPLETED", answer: "Paris" });
    expect(tallies(output)[0]?.audit.tieBreak).toMatchObject({ policy: "highest-weight", chosen: "Paris" });
  });

  it("random: the run's seed draws the winner, the same every time and on recount", async () => {
    const members = [1, 2, 3, 4].map((n) => member(n));
    const input = (seed: number) => runInput(democratic({ kind: "plurality", tieBreak: "random" }), members, task, seed);
    const first = await runTeam(democraticTeamMachine, input(11), scriptedAsk(split));
    const again = await runTeam(democraticTeamMachine, input(11), scriptedAsk(split));
    const expected = ["London", "Paris"][createPrng(11).int(2)];
    expect(first).toMatchObject({ status: "COMPLETED", answer: expected });
    expect(again.answer).toBe(first.answer);
    const [result] = tallies(first);
    expect(result?.audit.tieBreak).toMatchObject({ policy: "random", seed: 11 });
    expect(recount(result)).toEqual(result);
  });

  it("a member silent past memberTimeoutMs is timed out by the machine and does not vote", async () => {
    const clock = new SimulatedClock();
    const calls: AskMemberInput[] = [];
    const aborted: string[] = [];
    const askMember = askMemberActor((input, signal) => {
      calls.push(input);
      signal.addEventListener("abort", () => aborted.push(input.agentId));
      if (memberNumber(input) === 3) return new Promise<MemberAnswer>(() => undefined);
      return Promise.resolve({ text: says("Paris"), usage: { promptTokens: 10, completionTokens: 4 }, costMicroUsd: 3, durationMs: 1 });
    });
    const members = [1, 2, 3].map((n) => member(n));
    const coordination = { structure: "DEMOCRATIC", coordination: { rule: { kind: "majority" }, memberTimeoutMs: 5_000 } };
    const actor = createActor(democraticTeamMachine.provide({ actors: { askMember } }), { input: runInput(coordination, members, task), clock });
    actor.start();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(actor.getSnapshot().value).toBe("answering");
    clock.increment(5_000);
    const output = await toPromise(actor);
    expectConsistent(output, calls);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "Paris" });
    expect(aborted).toEqual([members[2]?.agentId]);
    expect(eventsOf(output.log, "team.member.failed")).toEqual([expect.objectContaining({ agentId: members[2]?.agentId, error: expect.objectContaining({ code: "TIMEOUT" }) })]);
  });

  it("ranked re-vote: a tie under borda asks for a ranking of the tied options only", async () => {
    const ask = scriptedAsk((input, n) => {
      if (input.purpose !== "rank") return says("Paris");
      if (n === 2) return memberNumber(input) <= 2 ? "Ranking: London > Paris > Berlin" : "Ranking: Paris > London > Berlin";
      return "Ranking: Paris > London";
    });
    const members = [1, 2, 3, 4].map((n) => member(n));
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "borda" }), members, task), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "Paris" });
    const reranks = ask.calls.filter((call) => call.purpose === "rank").slice(4);
    expect(reranks).toHaveLength(4);
    expect(reranks[0]?.prompt).not.toContain("- Berlin");
    expect(tallies(output)[1]?.input.context.options).toEqual(["London", "Paris"]);
  });

  it("a member that fails its ranking call does not vote", async () => {
    const ask = scriptedAsk((input) => (input.purpose === "rank" ? (memberNumber(input) === 2 ? fail() : "Ranking: Paris > London > Berlin") : says("Paris")));
    const members = [1, 2, 3].map((n) => member(n));
    const output = await runTeam(democraticTeamMachine, runInput(democratic({ kind: "ranked-choice" }), members, task), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "Paris" });
    expect(eventsOf(output.log, "team.member.failed")).toEqual([expect.objectContaining({ agentId: members[1]?.agentId, purpose: "rank" })]);
    expect(eventsOf(output.log, "team.ballot")).toHaveLength(2);
  });
});
