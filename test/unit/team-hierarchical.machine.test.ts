import { describe, expect, it } from "vitest";
import { hierarchicalTeamMachine } from "../../runtime/machines/team-hierarchical.machine.js";
import type { AskMemberInput } from "../../runtime/machines/team.js";
import { eventsOf, fail, member, memberNumber, runInput, runTeam, says, scriptedAsk, type Reply } from "../support/team-fakes.js";

const key = { options: ["Paris", "London", "Berlin"], correct: "Paris" };
const task = { prompt: "What is the capital of France?", answerKey: key };
const hierarchical = (coordination: Record<string, unknown> = {}) => ({ structure: "HIERARCHICAL", coordination });
const leader = member(1, { role: "LEADER", capabilities: ["research", "summary"] });
const researcher = member(2, { capabilities: ["research"] });
const writer = member(3, { capabilities: ["summary"] });
const team = [leader, researcher, writer];

/** A leader that lists two subtasks, approves everything and answers Paris; workers report. */
function script(overrides: Partial<Record<AskMemberInput["purpose"], (input: AskMemberInput, n: number) => Reply>> = {}) {
  return scriptedAsk((input, n) => {
    const override = overrides[input.purpose];
    if (override) return override(input, n);
    switch (input.purpose) {
      case "decompose":
        return "Plan:\n1. Research the history of French government seats\n2. Write a summary of the findings";
      case "review":
        return "APPROVE";
      case "synthesise":
        return says("Paris");
      default:
        return `result from member-${memberNumber(input)}`;
    }
  });
}

describe("hierarchical team machine", () => {
  it("decomposes, delegates by capability, reviews, synthesises — and the leader never works a subtask", async () => {
    const ask = script();
    const output = await runTeam(hierarchicalTeamMachine, runInput(hierarchical(), team, task), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "Paris" });
    expect(ask.calls.map((call) => [memberNumber(call), call.purpose])).toEqual([
      [1, "decompose"],
      [2, "work"],
      [3, "work"],
      [1, "review"],
      [1, "review"],
      [1, "synthesise"],
    ]);
    expect(ask.calls.filter((call) => call.purpose === "work" || call.purpose === "synthesise").every((call) => call.answerKey === key)).toBe(true);
    expect(ask.calls.filter((call) => call.purpose === "decompose" || call.purpose === "review").every((call) => call.answerKey === undefined)).toBe(true);
    expect(eventsOf(output.log, "team.delegation").map((event) => [event.subtask, event.agentId, event.reason])).toEqual([
      [0, researcher.agentId, "initial"],
      [1, writer.agentId, "initial"],
    ]);
    expect(output.participation.map((entry) => entry.calls)).toEqual([4, 1, 1]);
    expect(output.results).toMatchObject([{ result: "result from member-2" }, { result: "result from member-3" }]);
    expect(ask.calls.find((call) => call.purpose === "synthesise")?.prompt).toContain("result from member-3");
  });

  it("a reply without a list, or one that restates the task, becomes one subtask for a worker", async () => {
    for (const reply of ["The answer is Paris.", "1. What is the capital of France?"]) {
      const ask = script({ decompose: () => reply });
      const output = await runTeam(hierarchicalTeamMachine, runInput(hierarchical(), team, task), ask);
      expect(output.status).toBe("COMPLETED");
      expect(eventsOf(output.log, "team.decomposition")).toEqual([expect.objectContaining({ subtasks: [task.prompt], fallback: true })]);
      const work = ask.calls.filter((call) => call.purpose === "work");
      expect(work).toHaveLength(1);
      expect(work[0]?.agentId).not.toBe(leader.agentId);
    }
  });

  it("without a LEADER role the highest priority leads, and gets no subtask even when it matches best", async () => {
    const members = [member(1, { priority: 9, capabilities: ["research"] }), member(2), member(3)];
    const ask = script({ decompose: () => "1. research a\n2. research b\n3. research c" });
    const output = await runTeam(hierarchicalTeamMachine, runInput(hierarchical(), members, task), ask);
    expect(output.status).toBe("COMPLETED");
    const workers = ask.calls.filter((call) => call.purpose === "work").map(memberNumber);
    expect(workers).toEqual([2, 3, 2]);
    expect(ask.calls.filter((call) => memberNumber(call) === 1).map((call) => call.purpose)).toEqual(["decompose", "review", "review", "review", "synthesise"]);
  });

  it("caps the subtasks at maxSubtasks and skips reviews when reviewResults is off", async () => {
    const ask = script({ decompose: () => "- a\n- b\n- c\n- d" });
    const output = await runTeam(hierarchicalTeamMachine, runInput(hierarchical({ maxSubtasks: 2, reviewResults: false }), team, task), ask);
    expect(output.status).toBe("COMPLETED");
    expect(ask.calls.map((call) => call.purpose)).toEqual(["decompose", "work", "work", "synthesise"]);
  });

  it("REDO re-delegates once to a different worker; the redone result is not reviewed again", async () => {
    const ask = script({ review: (input) => (input.prompt.includes("member-2") ? "REDO: this misses the sources" : "APPROVE") });
    const output = await runTeam(hierarchicalTeamMachine, runInput(hierarchical(), team, task), ask);
    expect(output.status).toBe("COMPLETED");
    expect(ask.calls.map((call) => [memberNumber(call), call.purpose])).toEqual([
      [1, "decompose"],
      [2, "work"],
      [3, "work"],
      [1, "review"],
      [1, "review"],
      [3, "work"],
      [1, "synthesise"],
    ]);
    expect(eventsOf(output.log, "team.review").map((event) => event.verdict)).toEqual(["redo", "approve"]);
    expect(eventsOf(output.log, "team.delegation")[2]).toMatchObject({ subtask: 0, agentId: writer.agentId, attempt: 2, reason: "redo" });
    expect(output.results[0]).toMatchObject({ delegatedTo: [researcher.agentId, writer.agentId], result: "result from member-3", review: "redo" });
  });

  it("REDO without allowRedelegation keeps the result", async () => {
    const ask = script({ review: () => "REDO" });
    const output = await runTeam(hierarchicalTeamMachine, runInput(hierarchical({ allowRedelegation: false }), team, task), ask);
    expect(output.status).toBe("COMPLETED");
    expect(ask.calls.filter((call) => call.purpose === "work")).toHaveLength(2);
    expect(eventsOf(output.log, "team.delegation")).toHaveLength(2);
  });

  it("a failed worker's subtask goes once to another worker", async () => {
    const ask = script({ work: (input) => (memberNumber(input) === 2 ? fail("TIMEOUT", "worker timed out") : "done by member-3") });
    const output = await runTeam(hierarchicalTeamMachine, runInput(hierarchical({ reviewResults: false }), team, task), ask);
    expect(output.status).toBe("COMPLETED");
    expect(eventsOf(output.log, "team.delegation").map((event) => [event.subtask, memberNumber(event), event.reason])).toEqual([
      [0, 2, "initial"],
      [1, 3, "initial"],
      [0, 3, "failed"],
    ]);
    expect(output.participation[1]).toMatchObject({ calls: 1, failures: 1 });
  });

  it("a subtask that fails again ends the run FAILED with the worker's code", async () => {
    const ask = script({ work: (input) => (input.prompt.includes("Research") ? fail("PROVIDER_ERROR", "model down") : "ok") });
    const output = await runTeam(hierarchicalTeamMachine, runInput(hierarchical(), team, task), ask);
    expect(output.status).toBe("FAILED");
    expect(output.error).toEqual({ code: "PROVIDER_ERROR", message: "subtask 1 failed (member-2, then member-3): model down", retryable: false });
    expect(ask.calls.some((call) => call.purpose === "synthesise")).toBe(false);
  });

  it("a team with nobody but the leader fails clearly without asking anyone", async () => {
    const ask = script();
    const output = await runTeam(hierarchicalTeamMachine, runInput(hierarchical(), [leader], task), ask);
    expect(output.status).toBe("FAILED");
    expect(output.error?.code).toBe("VALIDATION_FAILED");
    expect(output.error?.message).toMatch(/besides the leader/);
    expect(ask.calls).toHaveLength(0);
  });

  it("a leader that fails to decompose fails the run", async () => {
    const output = await runTeam(hierarchicalTeamMachine, runInput(hierarchical(), team, task), script({ decompose: () => fail("UNAVAILABLE", "no worker") }));
    expect(output.status).toBe("FAILED");
    expect(output.error?.code).toBe("UNAVAILABLE");
    expect(output.error?.message).toMatch(/failed to decompose/);
  });
});
