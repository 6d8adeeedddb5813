import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { costOf, defaultPrices, priceOf, priceTableSchema, withPriceOverrides } from "../../runtime/providers/prices.js";

describe("prices", () => {
  it("ships a valid table with the common models of each provider", () => {
    expect(priceTableSchema.parse(defaultPrices)).toEqual(defaultPrices);
    for (const model of ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3-mini"]) {
      expect(priceOf(defaultPrices, "openai", model)).toBeDefined();
    }
    for (const model of ["claude-sonnet-4", "claude-3-5-haiku", "claude-opus-4"]) {
      expect(priceOf(defaultPrices, "anthropic", model)).toBeDefined();
    }
  });

  it("costs a call exactly, in whole micro-dollars", () => {
    // gpt-4o-mini: $0.15 in, $0.60 out per 1M tokens → 1000 × 0.15 + 500 × 0.60 = 450 µ$.
    expect(costOf(defaultPrices, "openai", "gpt-4o-mini", { promptTokens: 1000, completionTokens: 500 })).toEqual({
      usd: 0.00045,
      microUsd: 450,
      priced: true,
    });
    // claude-opus-4: $15 / $75 → 1M prompt + 1M completion = $90.
    expect(costOf(defaultPrices, "anthropic", "claude-opus-4", { promptTokens: 1_000_000, completionTokens: 1_000_000 }).usd).toBe(90);
  });

  it("prices dated snapshots and -latest aliases as their family, without confusing mini with its parent", () => {
    expect(priceOf(defaultPrices, "openai", "gpt-4o-2024-08-06")).toEqual(defaultPrices.openai?.["gpt-4o"]);
    expect(priceOf(defaultPrices, "openai", "gpt-4o-mini-2024-07-18")).toEqual(defaultPrices.openai?.["gpt-4o-mini"]);
    expect(priceOf(defaultPrices, "anthropic", "claude-sonnet-4-20250514")).toEqual(defaultPrices.anthropic?.["claude-sonnet-4"]);
    expect(priceOf(defaultPrices, "anthropic", "claude-3-5-haiku-latest")).toEqual(defaultPrices.anthropic?.["claude-3-5-haiku"]);
    expect(priceOf(defaultPrices, "openai", "gpt-4o-audio-preview")).toBeUndefined();
  });

  it("makes every simulated model free, and an unknown model or provider unpriced rather than an error", () => {
    const usage = { promptTokens: 10_000, completionTokens: 10_000 };
    expect(costOf(defaultPrices, "simulated", "sim-anything", usage)).toEqual({ usd: 0, microUsd: 0, priced: true });
    expect(costOf(defaultPrices, "openai", "llama3.1:8b", usage)).toEqual({ usd: 0, microUsd: 0, priced: false });
    expect(costOf(defaultPrices, "mistral", "mistral-large", { promptTokens: 10, completionTokens: 10 }).priced).toBe(false);
  });

  it("sums without drift where floating-point dollars would", () => {
    // 1000 gpt-4.1-nano prompt tokens cost 100 µ$; ten such calls are exactly 1000 µ$.
    const calls = Array.from({ length: 10 }, () => costOf(defaultPrices, "openai", "gpt-4.1-nano", { promptTokens: 1000, completionTokens: 0 }));
    expect(calls.reduce((sum, cost) => sum + cost.microUsd, 0)).toBe(1000);
    expect(calls.reduce((sum, cost) => sum + cost.usd, 0)).not.toBe(0.001); // the float sum drifts: why microUsd exists
  });

  it("is additive to within one micro-dollar of rounding and always whole (property)", () => {
    const usage = fc.record({ promptTokens: fc.nat(5_000_000), completionTokens: fc.nat(5_000_000) });
    const models = Object.keys(defaultPrices.openai ?? {});
    fc.assert(
      fc.property(usage, usage, fc.constantFrom(...models), (a, b, model) => {
        const both = costOf(defaultPrices, "openai", model, {
          promptTokens: a.promptTokens + b.promptTokens,
          completionTokens: a.completionTokens + b.completionTokens,
        });
        const apart = costOf(defaultPrices, "openai", model, a).microUsd + costOf(defaultPrices, "openai", model, b).microUsd;
        expect(Number.isInteger(both.microUsd)).toBe(true);
        expect(Math.abs(both.microUsd - apart)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it("lays overrides over the defaults model by model", () => {
    const prices = withPriceOverrides({ openai: { "gpt-4o": { input: 2, output: 9 }, "llama3.1:8b": { input: 0, output: 0 } } });
    expect(priceOf(prices, "openai", "gpt-4o")).toEqual({ input: 2, output: 9 });
    expect(priceOf(prices, "openai", "gpt-4o-mini")).toEqual(defaultPrices.openai?.["gpt-4o-mini"]);
    expect(costOf(prices, "openai", "llama3.1:8b", { promptTokens: 5, completionTokens: 5 }).priced).toBe(true);
    expect(priceOf(prices, "anthropic", "claude-sonnet-4")).toEqual(defaultPrices.anthropic?.["claude-sonnet-4"]);
  });

  it.each([
    ["a negative price", { openai: { x: { input: -1, output: 0 } } }],
    ["a missing field", { openai: { x: { input: 1 } } }],
    ["an unknown field", { openai: { x: { input: 1, output: 1, cached: 0.5 } } }],
    ["more than 6 decimals", { openai: { x: { input: 0.0000001, output: 1 } } }],
    ["a string price", { openai: { x: { input: "1", output: 1 } } }],
    ["not an object", [1, 2]],
  ])("rejects an override with %s", (_, override) => {
    expect(() => withPriceOverrides(override)).toThrow();
  });
});
