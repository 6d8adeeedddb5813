import { describe, expect, it } from "vitest";
import { createSimulatedProvider, estimateTokens } from "../../runtime/providers/simulated.provider.js";

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
