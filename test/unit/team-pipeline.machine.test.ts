import { describe, expect, it } from "vitest";
import { pipelineTeamMachine } from "../../runtime/machines/team-pipeline.machine.js";
import { eventsOf, fail, member, memberNumber, runInput, runTeam, says, scriptedAsk, type Reply } from "../support/team-fakes.js";

const pipeline = (coordination: Record<string, unknown> = {}) => ({ structure: "PIPELINE", coordination });
/** Stages in priority order: member 2 (priority 1), member 3 (2), member 1 (3). */
const team = [member(1, { priority: 3 }), member(2, { priority: 1 }), member(3, { priority: 2 })];
const task = { prompt: "Translate and polish: bonjour" };

/** Stage of member n replies `reply(n, attempt)`. */
const stages = (reply: (n: number, attempt: number) => Reply) => scriptedAsk((input, n) => reply(memberNumber(input), n));

describe("pipeline team machine", () => {
  it("runs stages in ascending priority, each on the previous output; the last output is the answer", async () => {
    const ask = stages((n) => `output of ${n}`);
    const output = await runTeam(pipelineTeamMachine, runInput(pipeline(), team, task), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "output of 1" });
    expect(ask.calls.map((call) => [memberNumber(call), call.purpose])).toEqual([
      [2, "stage"],
      [3, "stage"],
      [1, "stage"],
    ]);
    expect(ask.calls[0]?.prompt).not.toContain("Output of the previous stage");
    expect(ask.calls[1]?.prompt).toContain("output of 2");
    expect(ask.calls[2]?.prompt).toContain("output of 3");
    expect(eventsOf(output.log, "team.stage").map((event) => [event.stage, event.status, event.text])).toEqual([
      [0, "completed", "output of 2"],
      [1, "completed", "output of 3"],
      [2, "completed", "output of 1"],
    ]);
    expect(output.usage).toEqual({ promptTokens: 30, completionTokens: 12 });
  });

  it("orders equal priorities by agent id and parses the answer with an answer key", async () => {
    const members = [member(3), member(1), member(2)];
    const answerKey = { options: ["hello", "goodbye"], correct: "hello" };
    const ask = stages((n) => says(n === 3 ? "Hello" : "goodbye"));
    const output = await runTeam(pipelineTeamMachine, runInput(pipeline(), members, { prompt: "Translate bonjour", answerKey }), ask);
    expect(ask.calls.map(memberNumber)).toEqual([1, 2, 3]);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "hello" });
    expect(ask.calls.every((call) => call.answerKey === answerKey)).toBe(true);
  });

  it("stop: a failed stage fails the run with the member's code, and later stages never run", async () => {
    const ask = stages((n) => (n === 3 ? fail("TIMEOUT", "too slow") : `output of ${n}`));
    const output = await runTeam(pipelineTeamMachine, runInput(pipeline({ onStageFailure: "stop" }), team, task), ask);
    expect(output.status).toBe("FAILED");
    expect(output.error).toEqual({ code: "TIMEOUT", message: "stage 2 (member-3) failed: too slow", retryable: false });
    expect(ask.calls).toHaveLength(2);
  });

  it("skip: the previous output goes on past a failed stage", async () => {
    const ask = stages((n) => (n === 3 ? fail() : `output of ${n}`));
    const output = await runTeam(pipelineTeamMachine, runInput(pipeline({ onStageFailure: "skip" }), team, task), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "output of 1" });
    expect(ask.calls[2]?.prompt).toContain("output of 2");
    expect(eventsOf(output.log, "team.stage").map((event) => event.status)).toEqual(["completed", "failed", "skipped", "completed"]);
    expect(output.results).toMatchObject([{ status: "completed" }, { status: "skipped", agentId: member(3).agentId }, { status: "completed" }]);
  });

  it("skip: a run whose every stage failed has no output and fails", async () => {
    const output = await runTeam(pipelineTeamMachine, runInput(pipeline({ onStageFailure: "skip" }), team, task), stages(() => fail()));
    expect(output.status).toBe("FAILED");
    expect(output.error?.message).toMatch(/every pipeline stage failed/);
  });

  it("retry: a stage that fails once is asked again and the run completes", async () => {
    const ask = stages((n, attempt) => (n === 3 && attempt === 1 ? fail() : `output of ${n}`));
    const output = await runTeam(pipelineTeamMachine, runInput(pipeline({ onStageFailure: "retry", maxRetries: 1 }), team, task), ask);
    expect(output).toMatchObject({ status: "COMPLETED", answer: "output of 1" });
    expect(ask.calls.map(memberNumber)).toEqual([2, 3, 3, 1]);
    expect(output.participation[2]).toMatchObject({ calls: 2, failures: 1 });
    expect(eventsOf(output.log, "team.stage").filter((event) => event.stage === 1).map((event) => [event.attempt, event.status])).toEqual([
      [1, "failed"],
      [2, "completed"],
    ]);
  });

  it("retry: up to maxRetries more attempts, then FAILED", async () => {
    const ask = stages((n) => (n === 3 ? fail("PROVIDER_ERROR", "broken") : `output of ${n}`));
    const output = await runTeam(pipelineTeamMachine, runInput(pipeline({ onStageFailure: "retry", maxRetries: 2 }), team, task), ask);
    expect(output.status).toBe("FAILED");
    expect(output.error?.message).toBe("stage 2 (member-3) failed after 3 attempts: broken");
    expect(ask.calls.map(memberNumber)).toEqual([2, 3, 3, 3]);
  });

  it("no members: FAILED clearly, nobody asked", async () => {
    const ask = stages(() => "x");
    const output = await runTeam(pipelineTeamMachine, runInput(pipeline(), [], task), ask);
    expect(output).toMatchObject({ status: "FAILED", error: { code: "VALIDATION_FAILED", message: "PIPELINE needs at least one member (a stage)" } });
    expect(ask.calls).toHaveLength(0);
  });

  it("a coordination for another structure fails VALIDATION_FAILED instead of running", async () => {
    const output = await runTeam(pipelineTeamMachine, runInput({ structure: "COLLABORATIVE", coordination: {} }, team, task), stages(() => "x"));
    expect(output.error).toMatchObject({ code: "VALIDATION_FAILED", message: "the pipeline machine cannot run a COLLABORATIVE team" });
  });
});
