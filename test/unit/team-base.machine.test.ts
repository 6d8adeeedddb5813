import { describe, expect, it } from "vitest";
import { createActor, toPromise, type InspectionEvent } from "xstate";
import { democraticTeamMachine } from "../../runtime/machines/team-democratic.machine.js";
import { askMemberActor, type MemberAnswer } from "../../runtime/machines/team.js";
import { expectConsistent, member, runInput, says } from "../support/team-fakes.js";

const answer = (text: string): MemberAnswer => ({ text, usage: { promptTokens: 10, completionTokens: 4 }, costMicroUsd: 3, durationMs: 1 });
const task = { prompt: "What is the capital of France?", answerKey: { options: ["Paris", "London"], correct: "Paris" } };
const majority = { structure: "DEMOCRATIC", coordination: { rule: { kind: "majority" } } };

/** Runs a 5-member majority vote with `ask` and records what the team actor went through. */
async function observedRun(ask: Parameters<typeof askMemberActor>[0]) {
  const seen: InspectionEvent[] = [];
  const members = [1, 2, 3, 4, 5].map((n) => member(n));
  const calls: Parameters<typeof ask>[0][] = [];
  const recorded: typeof ask = (input, signal) => {
    calls.push(input);
    return ask(input, signal);
  };
  const actor = createActor(democraticTeamMachine.provide({ actors: { askMember: askMemberActor(recorded) } }), {
    input: runInput(majority, members, task),
    inspect: (event) => seen.push(event),
  });
  actor.start();
  const output = await toPromise(actor);
  expectConsistent(output, calls);
  const settledEvents = seen.filter((event) => event.type === "@xstate.event" && event.event.type === "team.asks.settled" && event.actorRef === actor);
  const children = seen.filter((event) => event.type === "@xstate.actor" && event.actorRef !== actor);
  return { output, settledEvents, children };
}

describe("team machines: asking a batch", () => {
  it("runs a batch as one child, and answers that arrive together settle in one event", async () => {
    const { output, settledEvents, children } = await observedRun(async () => answer(says("Paris")));
    expect(output).toMatchObject({ status: "COMPLETED", answer: "Paris" });
    expect(children).toHaveLength(1);
    expect(settledEvents).toHaveLength(1);
  });

  it("answers that arrive apart settle one by one, and the results are read in ask order", async () => {
    let delay = 0;
    // Member 1 answers last, member 5 first: each a timer turn after the one before.
    const { output, settledEvents } = await observedRun(
      (input) => new Promise((resolve) => setTimeout(() => resolve(answer(says(input.agentId.endsWith("1") ? "London" : "Paris"))), 25 - 5 * ++delay)),
    );
    expect(settledEvents).toHaveLength(5);
    expect(output.status).toBe("COMPLETED");
    // The log lists the answers in member order, not in the order they arrived.
    const answered = output.log.flatMap((entry) => (entry.event.type === "team.answer" ? [entry.event.agentId] : []));
    expect(answered).toEqual([1, 2, 3, 4, 5].map((n) => member(n).agentId));
  });

  it("an ask that throws instead of rejecting fails that member, not the run", async () => {
    const { output } = await observedRun((input) => {
      if (input.agentId.endsWith("2")) throw new Error("broke before asking");
      return Promise.resolve(answer(says("Paris")));
    });
    expect(output).toMatchObject({ status: "COMPLETED", answer: "Paris" });
    expect(output.log.filter((entry) => entry.event.type === "team.member.failed")).toEqual([
      expect.objectContaining({ event: expect.objectContaining({ agentId: member(2).agentId, error: expect.objectContaining({ code: "INTERNAL" }) }) }),
    ]);
  });
});
