import { describe, expect, it } from "vitest";
import type { AnswerKey } from "../../runtime/protocol/index.js";
import type { ModelRequest } from "../../runtime/providers/provider.js";
import {
  RANKING_INSTRUCTION,
  createSimulatedProvider,
  estimateTokens,
  questionKey,
} from "../../runtime/providers/simulated.provider.js";
import { createPrng } from "../../runtime/teams/voting/prng.js";

const request = { model: "sim-1", system: "You are a tester.", messages: [{ role: "user" as const, content: "What is 2+2?" }] };

describe("simulated provider", () => {
  it("answers the same request the same way for the same seed", async () => {
    const a = await createSimulatedProvider({ seed: 7 }).complete(request);
    const b = await createSimulatedProvider({ seed: 7 }).complete(request);
    expect(a).toEqual(b);
    expect(a.text).toContain("What is 2+2?");
  });

  it("varies with the seed and the prompt", async () => {
    const answers = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) answers.add((await createSimulatedProvider({ seed }).complete(request)).text);
    expect(answers.size).toBeGreaterThan(1);
  });

  it("counts prompt and completion tokens from the text it saw and wrote", async () => {
    const response = await createSimulatedProvider().complete(request);
    expect(response.usage.promptTokens).toBe(estimateTokens(`${request.system}\n${request.messages[0]!.content}`));
    expect(response.usage.completionTokens).toBe(estimateTokens(response.text));
  });

  it("counts the prompt tokens of the whole conversation: system prompt and every message, joined by newlines", async () => {
    const messages = [
      { role: "user" as const, content: "What is 2+2?" },
      { role: "assistant" as const, content: "4, give or take a rounding error." },
      { role: "user" as const, content: "And times 3?" },
    ];
    for (const system of ["", "You are a tester."]) {
      for (let n = 1; n <= messages.length; n++) {
        const conversation = messages.slice(0, n);
        const response = await createSimulatedProvider().complete({ ...request, system, messages: conversation });
        expect(response.usage.promptTokens).toBe(estimateTokens([system, ...conversation.map((m) => m.content)].join("\n")));
      }
    }
    expect((await createSimulatedProvider().complete({ ...request, system: "", messages: [] })).usage.promptTokens).toBe(0);
  });

  it("does not read the signal when it has no latency to wait (reading it may make it)", async () => {
    let reads = 0;
    const watched = {
      ...request,
      get signal() {
        reads++;
        return new AbortController().signal;
      },
    };
    await createSimulatedProvider().complete(watched);
    expect(reads).toBe(0);
    await createSimulatedProvider({ latencyMs: 1 }).complete(watched);
    expect(reads).toBe(1);
  });

  it("waits its latency through the injected sleep and stops when aborted", async () => {
    const waits: number[] = [];
    const provider = createSimulatedProvider({
      latencyMs: 250,
      sleep: async (ms, signal) => {
        waits.push(ms);
        if (signal?.aborted) throw new Error("aborted");
      },
    });
    await provider.complete(request);
    expect(waits).toEqual([250]);
    const controller = new AbortController();
    controller.abort();
    await expect(provider.complete({ ...request, signal: controller.signal })).rejects.toThrow("aborted");
  });

  it("takes latency and seed per request (per agent) over its defaults", async () => {
    const waits: number[] = [];
    const provider = createSimulatedProvider({ latencyMs: 250, seed: 1, sleep: async (ms) => void waits.push(ms) });
    const own = await provider.complete({ ...request, simulated: { latencyMs: 5, seed: 99 } });
    expect(waits).toEqual([5]);
    expect(own).toEqual(await createSimulatedProvider({ seed: 99 }).complete(request));
  });

  it("respects maxTokens", async () => {
    const response = await createSimulatedProvider().complete({ ...request, maxTokens: 5 });
    expect(response.usage.completionTokens).toBeLessThanOrEqual(5);
  });
});

const Z_99 = 2.576;
const binary: AnswerKey = { options: ["yes", "no"], correct: "yes" };
const threeWay: AnswerKey = { options: ["A", "B", "C"], correct: "B" };

function keyed(prompt: string, answerKey: AnswerKey, simulated: ModelRequest["simulated"] = {}): ModelRequest {
  return { model: "sim-1", system: "You are a juror.", messages: [{ role: "user", content: prompt }], answerKey, simulated };
}

/** The option on the reply's `Answer:` line (the contract the team machines parse). */
function answerOf(text: string): string {
  const lines = text.split("\n");
  expect(lines).toHaveLength(2);
  const match = /^Answer: (.+)$/.exec(lines[1] ?? "");
  if (!match?.[1]) throw new Error(`no Answer line in ${JSON.stringify(text)}`);
  return match[1];
}

function rankingOf(text: string): string[] {
  const match = /^Ranking: (.+)$/.exec(text);
  if (!match?.[1] || text.includes("\n")) throw new Error(`not a ranking line: ${JSON.stringify(text)}`);
  return match[1].split(" > ");
}

/** n binary questions whose right answer is "yes" or "no" at random (seeded). */
function binaryQuestions(n: number, seed: number): { prompt: string; answerKey: AnswerKey }[] {
  const prng = createPrng(seed);
  return Array.from({ length: n }, (_, i) => ({
    prompt: `Question ${i + 1}: is claim ${i + 1} true? Answer yes or no.`,
    answerKey: { options: ["yes", "no"], correct: prng.next() < 0.5 ? "yes" : "no" },
  }));
}

function binomial(n: number, k: number): number {
  let result = 1;
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i;
  return result;
}

function expectInInterval(measured: number, p: number, trials: number): void {
  const halfWidth = Z_99 * Math.sqrt((p * (1 - p)) / trials);
  expect(measured).toBeGreaterThanOrEqual(p - halfWidth);
  expect(measured).toBeLessThanOrEqual(p + halfWidth);
}

describe("simulated provider with an answer key", () => {
  const provider = createSimulatedProvider();

  it("is always right by default and never right with accuracy 0", async () => {
    for (let i = 0; i < 50; i++) {
      expect(answerOf((await provider.complete(keyed(`Q${i}`, threeWay, { seed: i }))).text)).toBe("B");
      const wrong = answerOf((await provider.complete(keyed(`Q${i}`, threeWay, { seed: i, accuracy: 0 }))).text);
      expect(["A", "C"]).toContain(wrong);
    }
  });

  it("answers the same question the same way for the same seed, on any provider instance", async () => {
    const request = keyed("Is the sky green?", binary, { seed: 3, accuracy: 0.5 });
    const a = await createSimulatedProvider({ seed: 1 }).complete(request);
    const b = await createSimulatedProvider({ seed: 2 }).complete(request);
    expect(a).toEqual(b);
    expect(a.usage.completionTokens).toBe(estimateTokens(a.text));
  });

  it("keys the draw on the question line, so a debate prompt keeps the agent's first answer", async () => {
    expect(questionKey("\n  Is 7 prime?  \nOthers said: no\n")).toBe("Is 7 prime?");
    expect(questionKey(`${RANKING_INSTRUCTION}\nIs 7 prime?`)).toBe("Is 7 prime?");
    // Header lines ending in a colon (as the team prompts put before the task) are skipped.
    expect(questionKey("You are stage 2 of 3 in a pipeline. Task:\nIs 7 prime?\n\nOutput of the previous stage:\n    no")).toBe("Is 7 prime?");
    expect(questionKey("Task:\nOptions:")).toBe("Task:");
    const options = "Options:\n- A\n- B\n- C";
    for (let seed = 0; seed < 40; seed++) {
      const simulated = { seed, accuracy: 0.5 };
      const first = answerOf((await provider.complete(keyed(`Which option?\n\n${options}`, threeWay, simulated))).text);
      const debate = `Task:\nWhich option?\n\nThe other members answered:\n- m2:\n    Answer: A\n\nDebate round 2: answer again.`;
      expect(answerOf((await provider.complete(keyed(debate, threeWay, simulated))).text)).toBe(first);
      const ballot = await provider.complete(keyed(`Task:\nWhich option?\n\n${options}\n${RANKING_INSTRUCTION}`, threeWay, simulated));
      const ranking = rankingOf(ballot.text);
      expect(ranking[0]).toBe(first);
      expect([...ranking].sort()).toEqual(["A", "B", "C"]);
    }
  });

  it("draws wrong answers uniformly among the wrong options", async () => {
    const counts = new Map<string, number>();
    const trials = 2_000;
    for (let i = 0; i < trials; i++) {
      const answer = answerOf((await provider.complete(keyed(`Q${i}`, threeWay, { seed: 5, accuracy: 0 }))).text);
      counts.set(answer, (counts.get(answer) ?? 0) + 1);
    }
    expect(counts.get("B")).toBeUndefined();
    expectInInterval((counts.get("A") ?? 0) / trials, 0.5, trials);
  });

  it("rejects an accuracy outside [0, 1] and a key whose answer is not an option", async () => {
    await expect(provider.complete(keyed("Q", binary, { accuracy: 1.5 }))).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
    await expect(provider.complete(keyed("Q", { options: ["yes", "no"], correct: "maybe" }))).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
    });
  });

  it("is right with probability p per agent: 2,000 questions inside the 99% interval", async () => {
    const p = 0.7;
    const questions = binaryQuestions(2_000, 11);
    for (const seed of [101, 102, 103, 104, 105]) {
      let right = 0;
      for (const question of questions) {
        const reply = await provider.complete(keyed(question.prompt, question.answerKey, { seed, accuracy: p }));
        if (answerOf(reply.text) === question.answerKey.correct) right += 1;
      }
      expectInInterval(right / questions.length, p, questions.length);
    }
  });

  it("agents with different seeds are independent: majority of 5 at p = 0.7 matches the binomial prediction", async () => {
    const n = 5;
    const p = 0.7;
    let predicted = 0;
    for (let k = 3; k <= n; k++) predicted += binomial(n, k) * p ** k * (1 - p) ** (n - k);
    const questions = binaryQuestions(4_000, 12);
    let majorityRight = 0;
    for (const question of questions) {
      let votes = 0;
      // Same system prompt for all: agents differ only in their seed, the hardest case for independence.
      for (let agent = 0; agent < n; agent++) {
        const reply = await provider.complete(keyed(question.prompt, question.answerKey, { seed: agent + 1, accuracy: p }));
        if (answerOf(reply.text) === question.answerKey.correct) votes += 1;
      }
      if (votes > n / 2) majorityRight += 1;
    }
    expectInInterval(majorityRight / questions.length, predicted, questions.length);
    expect(majorityRight / questions.length).toBeGreaterThan(p);
  });
});
