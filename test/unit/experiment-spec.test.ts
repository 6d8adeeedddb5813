import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { expandGrid, parseExperimentSpec, readExperimentSpec } from "../../runtime/experiments/index.js";
import { NeuroflowError } from "../../runtime/protocol/index.js";

const experimentsDir = fileURLToPath(new URL("../../experiments/", import.meta.url));

const minimal = {
  name: "tiny",
  seed: 1,
  trials: 10,
  tasks: { kind: "binary-questions", count: 10 },
  grid: { structures: ["DEMOCRATIC"], rules: [{ kind: "majority" }], teamSizes: [3] },
};

/** The VALIDATION_FAILED error parsing `value` (as YAML) throws. */
function rejection(value: unknown): NeuroflowError {
  const text = typeof value === "string" ? value : stringify(value);
  try {
    parseExperimentSpec(text, "bad.yaml");
  } catch (error) {
    if (error instanceof NeuroflowError && error.code === "VALIDATION_FAILED") return error;
    throw error;
  }
  throw new Error("the spec was accepted");
}

describe("experiment spec", () => {
  it("accepts the shipped voting-rules experiment", async () => {
    const spec = await readExperimentSpec(`${experimentsDir}voting-rules.yaml`);
    expect(spec.name).toBe("voting-rules");
    expect(spec.grid.rules.map((rule) => rule.kind)).toEqual(["majority", "weighted", "weighted", "ranked-choice"]);
    expect(spec.members.profiles).toHaveLength(9);
    const { cells, skipped } = expandGrid(spec);
    expect(cells).toHaveLength(12);
    expect(skipped).toEqual([]);
    // Heterogeneous members whose average stays within 0.6–0.7 at every team size.
    for (const cell of cells) {
      const mean = cell.members.reduce((sum, member) => sum + member.accuracy, 0) / cell.teamSize;
      expect(mean).toBeGreaterThanOrEqual(0.6);
      expect(mean).toBeLessThanOrEqual(0.7);
      expect(new Set(cell.members.map((member) => member.weight)).size).toBeGreaterThan(1);
    }
  });

  it("accepts the shipped structures experiment", async () => {
    const spec = await readExperimentSpec(`${experimentsDir}structures.yaml`);
    expect(Array.isArray(spec.tasks) && spec.tasks.length).toBe(12);
    const { cells, skipped } = expandGrid(spec);
    expect(cells.map((cell) => cell.id)).toEqual([
      "HIERARCHICAL/n3",
      "HIERARCHICAL/n5",
      "DEMOCRATIC/majority/n3/d0",
      "DEMOCRATIC/majority/n3/d1",
      "DEMOCRATIC/majority/n5/d0",
      "DEMOCRATIC/majority/n5/d1",
      "PIPELINE/n3",
      "PIPELINE/n5",
    ]);
    expect(skipped).toHaveLength(12);
  });

  it("fills in the defaults", () => {
    const spec = parseExperimentSpec(stringify(minimal));
    expect(spec.members).toEqual({ accuracy: 0.7, latencyMs: 0, profiles: [] });
    expect(spec.grid.debateRounds).toEqual([0]);
    expect(spec.grid.rules[0]).toEqual({ kind: "majority", quorum: 0, tieBreak: "revote", abstentionsCount: false });
  });

  it("rejects unknown keys, naming them", () => {
    const error = rejection({ ...minimal, trails: 5 });
    expect(error.message).toContain("bad.yaml: invalid experiment spec");
    expect(error.message).toMatch(/trails/);
    expect(rejection({ ...minimal, grid: { ...minimal.grid, size: [3] } }).message).toMatch(/grid.*size/);
  });

  it("rejects a DEMOCRATIC grid without a rule and a rule it does not know", () => {
    expect(rejection({ ...minimal, grid: { ...minimal.grid, rules: [] } }).message).toContain(
      "grid.rules: DEMOCRATIC teams need at least one voting rule",
    );
    expect(rejection({ ...minimal, grid: { ...minimal.grid, rules: [{ kind: "dictator" }] } }).message).toContain("grid.rules[0]");
  });

  it("rejects duplicates on an axis, out-of-range accuracies and bad answer keys", () => {
    expect(rejection({ ...minimal, grid: { ...minimal.grid, teamSizes: [3, 5, 3] } }).message).toContain(
      "grid.teamSizes[2]: team size 3 is listed twice",
    );
    expect(rejection({ ...minimal, members: { profiles: [{ accuracy: 1.2 }] } }).message).toContain("members.profiles[0].accuracy");
    const badKey = rejection({ ...minimal, tasks: [{ prompt: "Q?", answerKey: { options: ["yes", "no"], correct: "maybe" } }] });
    expect(badKey.message).toContain("tasks");
    expect(badKey.details).toBeInstanceOf(Array);
  });

  it("rejects missing fields and text that is not YAML", () => {
    const { trials: _trials, ...noTrials } = minimal;
    expect(rejection(noTrials).message).toContain("trials:");
    expect(rejection("name: [unclosed").message).toContain("bad.yaml: not valid YAML");
    expect(rejection("just a string").message).toContain("invalid experiment spec");
    expect(rejection({ ...minimal, tasks: { kind: "trivia", count: 3 } }).message).toContain("tasks: expected a list of { prompt, answerKey } or a generator");
  });

  it("reports a missing file as NOT_FOUND", async () => {
    await expect(readExperimentSpec(`${experimentsDir}no-such-experiment.yaml`)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
