import { describe, expect, it } from "vitest";
import { coordinationOf, expandGrid, resolveTasks } from "../../runtime/experiments/index.js";
import { experimentSpecSchema, type ExperimentSpec, type ExperimentSpecInput } from "../../runtime/protocol/index.js";

function specOf(overrides: Partial<ExperimentSpecInput> = {}): ExperimentSpec {
  return experimentSpecSchema.parse({
    name: "grid",
    seed: 3,
    trials: 4,
    tasks: { kind: "binary-questions", count: 4 },
    grid: { structures: ["DEMOCRATIC"], rules: [{ kind: "majority" }], teamSizes: [3] },
    ...overrides,
  });
}

describe("grid expansion", () => {
  it("crosses rules, team sizes and debate rounds for DEMOCRATIC teams, in order", () => {
    const spec = specOf({
      grid: {
        structures: ["DEMOCRATIC"],
        rules: [{ kind: "majority" }, { kind: "weighted", weightSource: "explicit" }, { kind: "ranked-choice" }],
        teamSizes: [5, 7],
        debateRounds: [0, 2],
      },
    });
    const { cells, skipped } = expandGrid(spec);
    expect(skipped).toEqual([]);
    expect(cells).toHaveLength(12);
    expect(cells.slice(0, 5).map((cell) => cell.id)).toEqual([
      "DEMOCRATIC/majority/n5/d0",
      "DEMOCRATIC/majority/n5/d2",
      "DEMOCRATIC/majority/n7/d0",
      "DEMOCRATIC/majority/n7/d2",
      "DEMOCRATIC/weighted-explicit/n5/d0",
    ]);
    expect(new Set(cells.map((cell) => cell.id)).size).toBe(12);
    expect(coordinationOf(cells[1]!)).toMatchObject({ structure: "DEMOCRATIC", coordination: { debateRounds: 2, rule: { kind: "majority" } } });
  });

  it("gives other structures one rule-less, debate-less cell and skips their other combinations with a reason", () => {
    const spec = specOf({
      grid: { structures: ["PIPELINE", "DEMOCRATIC"], rules: [{ kind: "plurality" }], teamSizes: [2], debateRounds: [1] },
    });
    const { cells, skipped } = expandGrid(spec);
    expect(cells.map((cell) => cell.id)).toEqual(["PIPELINE/n2", "DEMOCRATIC/plurality/n2/d1"]);
    expect(cells[0]).not.toHaveProperty("rule");
    expect(cells[0]!.debateRounds).toBe(0);
    expect(coordinationOf(cells[0]!)).toEqual({ structure: "PIPELINE", coordination: { onStageFailure: "stop", maxRetries: 1 } });
    expect(skipped.map((entry) => [entry.combination.rule?.kind, entry.combination.debateRounds, entry.reason])).toEqual([
      [undefined, 1, "debate rounds apply only to DEMOCRATIC teams"],
      ["plurality", 0, "voting rules apply only to DEMOCRATIC teams (the PIPELINE cell runs without one)"],
      ["plurality", 1, "voting rules apply only to DEMOCRATIC teams (the PIPELINE cell runs without one)"],
    ]);
  });

  it("skips teams the team rules refuse, with their message", () => {
    const spec = specOf({
      grid: {
        structures: ["HIERARCHICAL", "DEMOCRATIC"],
        rules: [{ kind: "majority" }, { kind: "weighted", weightSource: "successRate" }, { kind: "plurality", tieBreak: "leader" }],
        teamSizes: [1, 3],
      },
    });
    const { cells, skipped } = expandGrid(spec);
    expect(cells.map((cell) => cell.id)).toEqual(["HIERARCHICAL/n3", "DEMOCRATIC/majority/n3/d0"]);
    const reasons = skipped.map((entry) => `${entry.combination.structure}/${entry.combination.rule?.kind ?? "-"}/n${entry.combination.teamSize}: ${entry.reason}`);
    expect(reasons).toContain("HIERARCHICAL/-/n1: HIERARCHICAL needs at least one WORKER or SPECIALIST besides the LEADER to delegate to");
    expect(reasons).toContain("DEMOCRATIC/majority/n1: DEMOCRATIC needs at least 2 members to vote (found 1)");
    expect(reasons.find((reason) => reason.startsWith("DEMOCRATIC/weighted/n3"))).toMatch(/successRate/);
    expect(reasons.find((reason) => reason.startsWith("DEMOCRATIC/plurality/n3"))).toMatch(/needs exactly one LEADER/);
  });

  it("resolves members from profiles and defaults, per structure", () => {
    const members = { accuracy: 0.6, latencyMs: 25, profiles: [{ accuracy: 0.9, weight: 3, priority: 7 }, { role: "LEADER" as const }] };
    const spec = specOf({ members, grid: { structures: ["HIERARCHICAL", "PIPELINE", "DEMOCRATIC"], rules: [{ kind: "majority" }], teamSizes: [3] } });
    const [hierarchical, pipeline, democratic] = expandGrid(spec).cells;
    // The profile names member 1 the leader, so member 0 stays a worker.
    expect(hierarchical!.members).toEqual([
      { accuracy: 0.9, weight: 3, priority: 7, role: "WORKER" },
      { accuracy: 0.6, weight: 1, priority: 0, role: "LEADER" },
      { accuracy: 0.6, weight: 1, priority: 0, role: "WORKER" },
    ]);
    expect(pipeline!.members.map((member) => member.priority)).toEqual([7, 1, 2]);
    expect(democratic!.members.map((member) => member.accuracy)).toEqual([0.9, 0.6, 0.6]);
    expect(democratic!.latencyMs).toBe(25);
  });

  it("tells two rules of one kind apart by their place in the list", () => {
    const spec = specOf({ grid: { structures: ["DEMOCRATIC"], rules: [{ kind: "majority" }, { kind: "majority", tieBreak: "random" }], teamSizes: [3] } });
    expect(expandGrid(spec).cells.map((cell) => cell.id)).toEqual(["DEMOCRATIC/majority-1/n3/d0", "DEMOCRATIC/majority-2/n3/d0"]);
  });
});

describe("task generators", () => {
  it("make the same one-line yes/no questions from the same seed, with both answers", () => {
    const spec = specOf({ tasks: { kind: "binary-questions", count: 200 } });
    const tasks = resolveTasks(spec);
    expect(tasks).toEqual(resolveTasks(spec));
    expect(tasks).toHaveLength(200);
    expect(new Set(tasks.map((task) => task.prompt)).size).toBe(200);
    expect(tasks.every((task) => !task.prompt.includes("\n") && task.answerKey.options.join() === "yes,no")).toBe(true);
    const yes = tasks.filter((task) => task.answerKey.correct === "yes").length;
    expect(yes).toBeGreaterThan(60);
    expect(yes).toBeLessThan(140);
    expect(resolveTasks({ ...spec, seed: 4 })[0]!.prompt).not.toBe(tasks[0]!.prompt);
  });

  it("make lettered choice questions whose right letter varies", () => {
    const tasks = resolveTasks(specOf({ tasks: { kind: "choice-questions", count: 90, options: 3 } }));
    expect(tasks[0]!.answerKey.options).toEqual(["A", "B", "C"]);
    expect(tasks[0]!.prompt).toMatch(/^Question 1-\w{4}: which option is right, A, B or C\? Answer with one letter\.$/);
    expect(new Set(tasks.map((task) => task.answerKey.correct))).toEqual(new Set(["A", "B", "C"]));
  });

  it("pass a written list through unchanged", () => {
    const list = [{ prompt: "Is 2 even?", answerKey: { options: ["yes", "no"], correct: "yes" } }];
    expect(resolveTasks(specOf({ tasks: list }))).toEqual(list);
  });
});
