import { describe, expect, it } from "vitest";
import { systemPrompt } from "../../runtime/actors/call-model.actor.js";
import {
  createLocalExecutor,
  expandGrid,
  memberProfile,
  memberSeed,
  resolveTasks,
  runExperiment,
  seededUuid,
  trialSeed,
} from "../../runtime/experiments/index.js";
import { experimentResultSchema, experimentSpecSchema, type ExperimentResult, type ExperimentSpec, type ExperimentSpecInput } from "../../runtime/protocol/index.js";
import { drawKeyedAnswer, questionKey } from "../../runtime/providers/simulated.provider.js";

function specOf(overrides: Partial<ExperimentSpecInput> = {}): ExperimentSpec {
  return experimentSpecSchema.parse({
    name: "local",
    seed: 2024,
    trials: 12,
    tasks: { kind: "binary-questions", count: 12 },
    grid: { structures: ["DEMOCRATIC"], rules: [{ kind: "majority", tieBreak: "random" }], teamSizes: [3] },
    members: { accuracy: 0.6 },
    ...overrides,
  });
}

/** Everything but the measured latency, which is wall-clock time. */
const withoutLatency = (result: ExperimentResult) => ({
  ...result,
  cells: result.cells.map(({ latencyMs: _latency, ...cell }) => cell),
});

describe("the in-process executor", () => {
  it("runs a DEMOCRATIC majority of three with the members' own draws, and the vote decides", async () => {
    const spec = specOf();
    const result = await runExperiment(spec, createLocalExecutor());
    expect(experimentResultSchema.parse(result)).toEqual(result);
    const [cell] = result.cells;
    if (!cell) throw new Error("no cell");
    expect(cell).toMatchObject({ trials: 12, failures: 0 });
    expect(cell.tokens.prompt).toBeGreaterThan(0);
    expect(cell.tokens.completion).toBeGreaterThan(0);

    // Recompute every trial outside the machines: each member's keyed draw from its profile and
    // seed, then a majority of three over two options (always decided).
    const tasks = resolveTasks(spec);
    let correct = 0;
    for (let trial = 0; trial < spec.trials; trial++) {
      const task = tasks[trial % tasks.length]!;
      const seed = trialSeed(spec.seed, cell.cell.id, trial);
      const answers = cell.cell.members.map((member, index) => {
        const profile = memberProfile(cell.cell, index, seed);
        expect(profile.modelConfig.simulated).toEqual({ accuracy: member.accuracy, seed: memberSeed(seed, index), latencyMs: 0 });
        const draw = drawKeyedAnswer(task.answerKey, { seed: memberSeed(seed, index), system: systemPrompt(profile), question: questionKey(task.prompt), accuracy: member.accuracy });
        return draw.ranking[0];
      });
      const right = answers.filter((answer) => answer === task.answerKey.correct).length;
      if (right >= 2) correct += 1;
    }
    expect(cell.correct).toBe(correct);
    expect(cell.accuracy).toBe(correct / spec.trials);
  });

  it("gives the same result on every run and at any concurrency", async () => {
    const spec = specOf({ trials: 10, grid: { structures: ["DEMOCRATIC"], rules: [{ kind: "majority" }, { kind: "ranked-choice" }], teamSizes: [3, 5] } });
    const first = withoutLatency(await runExperiment(spec, createLocalExecutor(), { concurrency: 1 }));
    expect(withoutLatency(await runExperiment(spec, createLocalExecutor(), { concurrency: 6 }))).toEqual(first);
    expect(first.cells.map((cell) => cell.cell.id)).toEqual(expandGrid(spec).cells.map((cell) => cell.id));
    // Another seed draws other answers.
    expect(withoutLatency(await runExperiment({ ...spec, seed: spec.seed + 1 }, createLocalExecutor()))).not.toEqual(first);
  });

  it("runs every team structure to an answer", async () => {
    const spec = specOf({ trials: 3, grid: { structures: ["HIERARCHICAL", "COLLABORATIVE", "PIPELINE", "DEMOCRATIC"], rules: [{ kind: "plurality" }], teamSizes: [3] } });
    const result = await runExperiment(spec, createLocalExecutor());
    expect(result.cells.map((cell) => cell.cell.structure)).toEqual(["HIERARCHICAL", "COLLABORATIVE", "PIPELINE", "DEMOCRATIC"]);
    for (const cell of result.cells) {
      expect(cell, cell.cell.id).toMatchObject({ trials: 3, failures: 0 });
      expect(cell.tokens.total, cell.cell.id).toBeGreaterThan(0);
    }
  });

  it("ends a trial CANCELLED when its signal aborts, and the run CANCELLED when the run's does", async () => {
    const spec = specOf({ members: { accuracy: 0.6, latencyMs: 60_000 } });
    const [cell] = expandGrid(spec).cells;
    const [task] = resolveTasks(spec);
    const controller = new AbortController();
    const trial = createLocalExecutor()(cell!, task!, 7, { trial: 0, signal: controller.signal });
    controller.abort();
    await expect(trial).resolves.toMatchObject({ status: "CANCELLED" });

    const run = new AbortController();
    const cancelled = runExperiment(specOf(), createLocalExecutor(), {
      concurrency: 2,
      signal: run.signal,
      onProgress: ({ done }) => {
        if (done === 3) run.abort();
      },
    });
    await expect(cancelled).rejects.toMatchObject({ code: "CANCELLED" });
  });

  it("derives UUID-shaped ids from seeds, the same every time", () => {
    const id = seededUuid(42, "agent", 0);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(seededUuid(42, "agent", 0)).toBe(id);
    expect(new Set([seededUuid(42, "agent", 1), seededUuid(43, "agent", 0), seededUuid(42, "team", 0), id]).size).toBe(4);
  });
});
