import { describe, expect, it } from "vitest";
import { deriveSeed, readExperimentSpec, runExperiment, type ExperimentProgress, type TrialExecutor } from "../../runtime/experiments/index.js";
import {
  experimentResultSchema,
  experimentSpecSchema,
  type ExperimentSpec,
  type ExperimentSpecInput,
  type TrialOutcome,
} from "../../runtime/protocol/index.js";
import { RANKING_INSTRUCTION, createSimulatedProvider } from "../../runtime/providers/simulated.provider.js";
import { createPrng, tally } from "../../runtime/teams/voting/index.js";

function specOf(overrides: Partial<ExperimentSpecInput> = {}): ExperimentSpec {
  return experimentSpecSchema.parse({
    name: "runner",
    seed: 11,
    trials: 6,
    tasks: { kind: "binary-questions", count: 4 },
    grid: { structures: ["DEMOCRATIC", "PIPELINE"], rules: [{ kind: "majority" }, { kind: "plurality" }], teamSizes: [3, 5] },
    ...overrides,
  });
}

/** A fake team: right with its members' mean accuracy, usage and latency drawn from the trial seed. */
const fakeTeam: TrialExecutor = async (cell, task, trialSeed) => {
  const prng = createPrng(trialSeed);
  const accuracy = cell.members.reduce((sum, member) => sum + member.accuracy, 0) / cell.members.length;
  const wrong = task.answerKey.options.filter((option) => option !== task.answerKey.correct);
  const answer = prng.next() < accuracy ? task.answerKey.correct : wrong[0];
  return {
    answer,
    status: "COMPLETED",
    usage: { promptTokens: 10 + prng.int(90), completionTokens: 5 + prng.int(20) },
    costMicroUsd: prng.int(1_000),
    latencyMs: prng.int(500),
  };
};

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("experiment runner", () => {
  it("gives the same result for the same seed, and another for another seed", async () => {
    const spec = specOf();
    const first = await runExperiment(spec, fakeTeam);
    expect(await runExperiment(spec, fakeTeam, { concurrency: 1 })).toEqual(first);
    expect(experimentResultSchema.parse(first)).toEqual(first);
    expect(await runExperiment({ ...spec, seed: 12 }, fakeTeam)).not.toEqual(first);
    // 2 rules × 2 sizes DEMOCRATIC + 2 PIPELINE cells, each with every trial.
    expect(first.cells).toHaveLength(6);
    expect(first.cells.every((cell) => cell.trials === 6 && cell.tokens.total === cell.tokens.prompt + cell.tokens.completion)).toBe(true);
    expect(first.skipped).toHaveLength(4);
  });

  it("hands every trial its own seed and task i mod the task count", async () => {
    const seen: string[] = [];
    const seeds = new Set<number>();
    await runExperiment(specOf(), async (cell, task, trialSeed, { trial }) => {
      seen.push(`${cell.id}#${trial}:${task.prompt.split(":")[0]}`);
      seeds.add(trialSeed);
      return fakeTeam(cell, task, trialSeed, { trial, signal: new AbortController().signal });
    });
    expect(seen).toHaveLength(36);
    expect(seeds.size).toBe(36);
    expect(seen[0]).toMatch(/^DEMOCRATIC\/majority\/n3\/d0#0:Question 1-/);
    expect(seen[4]).toMatch(/#4:Question 1-/);
  });

  it("scores case-insensitively after trimming and counts failures as wrong", async () => {
    const spec = specOf({ trials: 4, grid: { structures: ["PIPELINE"], teamSizes: [2] } });
    const outcomes: TrialOutcome[] = [];
    const result = await runExperiment(spec, async (_cell, task, _seed, { trial }) => {
      const usage = { promptTokens: 1, completionTokens: 1 };
      if (trial === 3) throw new Error("team crashed");
      const outcome: TrialOutcome =
        trial === 2
          ? { status: "FAILED", answer: task.answerKey.correct, usage, costMicroUsd: 1, latencyMs: 30 }
          : { status: "COMPLETED", answer: `  ${task.answerKey.correct.toUpperCase()} `, usage, costMicroUsd: 1, latencyMs: 10 * (trial + 1) };
      outcomes.push(outcome);
      return outcome;
    });
    const [cell] = result.cells;
    expect(cell).toMatchObject({ trials: 4, correct: 2, accuracy: 0.5, failures: 2, costMicroUsd: 3 });
    expect(cell!.tokens).toEqual({ prompt: 3, completion: 3, total: 6 });
    // Latencies 10, 20, 30 and 0 (the crash): nearest-rank p50 = 10, p95 = 30.
    expect(cell!.latencyMs).toEqual({ p50: 10, p95: 30 });
    expect(cell!.ci95.low).toBeLessThan(0.5);
    expect(cell!.ci95.high).toBeGreaterThan(0.5);
  });

  it("reports progress after every trial", async () => {
    const progress: ExperimentProgress[] = [];
    const spec = specOf();
    await runExperiment(spec, fakeTeam, { concurrency: 3, onProgress: (p) => progress.push(p) });
    expect(progress.map((p) => p.done)).toEqual(Array.from({ length: 36 }, (_, i) => i + 1));
    expect(progress.every((p) => p.total === 36)).toBe(true);
    const perCell = new Map<string, number>();
    for (const p of progress) perCell.set(p.cell.id, (perCell.get(p.cell.id) ?? 0) + 1);
    expect([...perCell.values()]).toEqual([6, 6, 6, 6, 6, 6]);
  });

  it("keeps at most `concurrency` trials in flight, keeps the pool full, and does not depend on finishing order", async () => {
    const spec = specOf();
    const pending: (() => void)[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const held: TrialExecutor = (cell, task, seed, context) =>
      new Promise<TrialOutcome>((resolve) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        pending.push(() => {
          inFlight -= 1;
          resolve(fakeTeam(cell, task, seed, context));
        });
      });
    let settled = false;
    const run = runExperiment(spec, held, { concurrency: 5 }).finally(() => {
      settled = true;
    });
    let remaining = 36;
    while (!settled) {
      await flush();
      expect(inFlight).toBe(Math.min(5, remaining));
      // Finish the newest first, so trials complete out of order.
      const batch = pending.splice(0).reverse();
      remaining -= batch.length;
      for (const finish of batch) finish();
    }
    expect(maxInFlight).toBe(5);
    expect(await run).toEqual(await runExperiment(spec, fakeTeam, { concurrency: 1 }));
  });

  it("stops on cancel with CANCELLED, and on a throwing progress callback with its error", async () => {
    const controller = new AbortController();
    let calls = 0;
    const counting: TrialExecutor = (...args) => {
      calls += 1;
      return fakeTeam(...args);
    };
    const cancelled = runExperiment(specOf(), counting, {
      concurrency: 2,
      signal: controller.signal,
      onProgress: ({ done }) => {
        if (done === 5) controller.abort();
      },
    });
    await expect(cancelled).rejects.toMatchObject({ code: "CANCELLED" });
    expect(calls).toBeLessThan(36);
    const broken = runExperiment(specOf(), fakeTeam, {
      onProgress: () => {
        throw new Error("display gone");
      },
    });
    await expect(broken).rejects.toThrow("display gone");
    await expect(runExperiment(specOf(), fakeTeam, { concurrency: 0 })).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
  });

  it("runs the shipped voting-rules experiment end to end with simulated members and the voting library", async () => {
    const spec = await readExperimentSpec(new URL("../../experiments/voting-rules.yaml", import.meta.url).pathname);
    const provider = createSimulatedProvider();
    // A minimal DEMOCRATIC team: every member answers (or ranks), the cell's rule counts the ballots.
    const vote: TrialExecutor = async (cell, task, trialSeed) => {
      const rule = cell.rule ?? { kind: "majority" };
      const ranked = rule.kind === "ranked-choice";
      const prompt = ranked ? `${task.prompt}\n${RANKING_INSTRUCTION}` : task.prompt;
      const usage = { promptTokens: 0, completionTokens: 0 };
      const ballots = [];
      for (const [i, member] of cell.members.entries()) {
        const reply = await provider.complete({
          model: "sim-1",
          system: "You are a member of a voting team.",
          messages: [{ role: "user", content: prompt }],
          answerKey: task.answerKey,
          simulated: { seed: deriveSeed(trialSeed, "member", i), accuracy: member.accuracy },
        });
        usage.promptTokens += reply.usage.promptTokens;
        usage.completionTokens += reply.usage.completionTokens;
        const text = reply.text.split("\n").at(-1) ?? "";
        ballots.push(ranked ? { voterId: `m${i}`, ranking: text.replace(/^Ranking: /, "").split(" > ") } : { voterId: `m${i}`, choice: text.replace(/^Answer: /, "") });
      }
      const weightOf = (i: number) => {
        const member = cell.members[i]!;
        return rule.kind === "weighted" && rule.weightSource === "priority" ? member.priority : member.weight;
      };
      const eligibleVoters = cell.members.map((_, i) => `m${i}`);
      const weights = Object.fromEntries(eligibleVoters.map((id, i) => [id, weightOf(i)]));
      const result = tally(rule, ballots, { eligibleVoters, weights, seed: trialSeed, options: task.answerKey.options });
      const decided = result.outcome === "decided";
      return { ...(decided ? { answer: result.winner } : {}), status: decided ? "COMPLETED" : "FAILED", usage, costMicroUsd: 0, latencyMs: cell.latencyMs };
    };
    const result = await runExperiment(spec, vote, { concurrency: 8 });
    expect(result.cells).toHaveLength(12);
    for (const cell of result.cells) {
      expect(cell.trials).toBe(150);
      // Chance is 1/3; teams of members right 65% of the time do far better.
      expect(cell.accuracy).toBeGreaterThan(0.5);
      expect(cell.tokens.total).toBeGreaterThan(0);
      // Ranked-choice with a seeded tie-break always decides; coarse priority weights can leave a tie the
      // highest-weight tie-break cannot split; a strict majority of three options is often missing.
      if (cell.cell.rule?.kind === "ranked-choice") expect(cell.failures).toBe(0);
      if (cell.cell.rule?.kind === "weighted") expect(cell.failures).toBeLessThan(15);
    }
    expect(await runExperiment(spec, vote, { concurrency: 3 })).toEqual(result);
  });
});
