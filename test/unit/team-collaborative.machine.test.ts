import { describe, expect, it } from "vitest";
import { collaborativeTeamMachine } from "../../runtime/machines/team-collaborative.machine.js";
import type { AskMemberInput } from "../../runtime/machines/team.js";
import { eventsOf, fail, member, memberNumber, runInput, runTeam, says, scriptedAsk, type Reply } from "../support/team-fakes.js";

const collaborative = (coordination: Record<string, unknown>) => ({ structure: "COLLABORATIVE", coordination });
const team = [member(1, { priority: 1 }), member(2, { priority: 5 }), member(3, { role: "COORDINATOR" })];
const task = { prompt: "Plan a city break in France." };

/** Member n contributes `texts(n, round)`; the synthesiser answers "final plan". */
function script(texts: (n: number, round: number) => Reply, synthesis: Reply = "final plan") {
  return scriptedAsk((input: AskMemberInput, n: number) => (input.purpose === "synthesise" ? synthesis : texts(memberNumber(input), n)));
}

describe("collaborative team machine", () => {
  it("similarity: stops once consecutive rounds are similar enough, then the highest priority synthesises", async () => {
    const ask = script((n, round) => (round === 1 ? `member ${n} suggests paris museums` : `member ${n} suggests paris museums and food`));
    const output = await runTeam(collaborativeTeamMachine, runInput(collaborative({ maxRounds: 5, convergence: { method: "similarity", threshold: 0.6 } }), team, task), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "final plan" });
    expect(ask.calls.map((call) => call.purpose)).toEqual(["contribute", "contribute", "contribute", "contribute", "contribute", "contribute", "synthesise"]);
    expect(ask.calls.at(-1)?.agentId).toBe(member(2).agentId);
    const [convergence] = eventsOf(output.log, "team.convergence");
    expect(convergence).toMatchObject({ round: 2, method: "similarity", converged: true });
    expect(convergence?.score).toBeCloseTo(5 / 7);
    const roundTwo = ask.calls.find((call) => call.purpose === "contribute" && memberNumber(call) === 1 && call.prompt.includes("Round 2"));
    expect(roundTwo?.prompt).toContain("member 2 suggests paris museums");
    expect(roundTwo?.prompt).toContain("member 3 suggests paris museums");
    expect(output.results).toEqual([1, 2, 3].map((n) => ({ agentId: member(n).agentId, round: 2, text: `member ${n} suggests paris museums and food` })));
  });

  it("unchanged: stops when enough members repeat themselves", async () => {
    const ask = script((n, round) => (n === 3 && round > 1 ? `new idea ${round}` : `idea of ${n}`));
    const output = await runTeam(collaborativeTeamMachine, runInput(collaborative({ maxRounds: 5, convergence: { method: "unchanged", threshold: 0.6 } }), team, task), ask);
    expect(output.status).toBe("COMPLETED");
    expect(eventsOf(output.log, "team.convergence")).toEqual([
      { type: "team.convergence", round: 2, method: "unchanged", score: 2 / 3, threshold: 0.6, converged: true },
    ]);
  });

  it("stops at maxRounds when the members keep changing", async () => {
    const ask = script((n, round) => `round ${round} thought ${n * 7 + round}`);
    const output = await runTeam(collaborativeTeamMachine, runInput(collaborative({ maxRounds: 3, convergence: { method: "unchanged", threshold: 0.5 } }), team, task), ask);
    expect(output.status).toBe("COMPLETED");
    expect(eventsOf(output.log, "team.contribution").map((event) => event.round)).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3]);
    expect(eventsOf(output.log, "team.convergence").map((event) => event.converged)).toEqual([false, false]);
    expect(output.participation.map((entry) => entry.calls)).toEqual([3, 4, 3]);
  });

  it('synthesiser "coordinator" picks the COORDINATOR even at the lowest priority', async () => {
    const ask = script((n) => `idea ${n}`);
    await runTeam(collaborativeTeamMachine, runInput(collaborative({ maxRounds: 1, synthesiser: "coordinator" }), team, task), ask);
    expect(ask.calls.at(-1)).toMatchObject({ purpose: "synthesise", agentId: member(3).agentId });
  });

  it("a member failing a round keeps its earlier contribution on the board", async () => {
    const ask = script((n, round) => (n === 1 && round === 2 ? fail() : `steady ${n}`));
    const output = await runTeam(collaborativeTeamMachine, runInput(collaborative({ maxRounds: 2 }), team, task), ask);
    expect(output.status).toBe("COMPLETED");
    expect(eventsOf(output.log, "team.member.failed")).toEqual([expect.objectContaining({ agentId: member(1).agentId, purpose: "contribute" })]);
    expect(output.results[0]).toEqual({ agentId: member(1).agentId, round: 1, text: "steady 1" });
    expect(ask.calls.at(-1)?.prompt).toContain("steady 1");
  });

  it("nobody contributing fails UNAVAILABLE; a failed synthesiser fails the run", async () => {
    const silent = await runTeam(collaborativeTeamMachine, runInput(collaborative({}), team, task), script(() => fail()));
    expect(silent.status).toBe("FAILED");
    expect(silent.error?.code).toBe("UNAVAILABLE");
    const broken = await runTeam(collaborativeTeamMachine, runInput(collaborative({ maxRounds: 1 }), team, task), script((n) => `x${n}`, fail("TIMEOUT", "too slow")));
    expect(broken.status).toBe("FAILED");
    expect(broken.error).toMatchObject({ code: "TIMEOUT", message: "synthesiser member-2 failed: too slow" });
  });

  it("with an answer key, contributions and synthesis carry it and the answer is the option named", async () => {
    const answerKey = { options: ["Lyon", "Nice"], correct: "Nice" };
    const ask = script((n) => says(n === 1 ? "Lyon" : "Nice"), "We agree.\nAnswer: nice");
    const output = await runTeam(collaborativeTeamMachine, runInput(collaborative({ maxRounds: 1 }), team, { prompt: "Where to?", answerKey }), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "Nice" });
    expect(ask.calls.every((call) => call.answerKey === answerKey)).toBe(true);
  });
});
