import { describe, expect, it } from "vitest";
import { percentile, wilsonInterval } from "../../runtime/experiments/index.js";

describe("Wilson score interval (95%)", () => {
  // Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3.
  const published: [number, number, number, number][] = [
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
    [29, 29, 0.883, 1],
  ];
  for (const [successes, trials, low, high] of published) {
    it(`${successes}/${trials} gives [${low}, ${high}] as published`, () => {
      const interval = wilsonInterval(successes, trials);
      expect(interval.low).toBeCloseTo(low, 4);
      expect(interval.high).toBeCloseTo(high, 4);
    });
  }

  it("is symmetric around one half and stays inside [0, 1]", () => {
    const half = wilsonInterval(5, 10);
    expect(half.low).toBeCloseTo(0.2366, 4);
    expect(half.high).toBeCloseTo(1 - half.low, 12);
    expect(wilsonInterval(0, 1).low).toBe(0);
    expect(wilsonInterval(0, 1).high).toBeGreaterThan(0.5);
    expect(wilsonInterval(3, 3).high).toBe(1);
  });

  it("knows nothing from no trials and refuses impossible counts", () => {
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
    expect(() => wilsonInterval(4, 3)).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
    expect(() => wilsonInterval(1.5, 3)).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
  });
});

describe("nearest-rank percentiles", () => {
  it("picks the value at rank ⌈p·n/100⌉ (the textbook example)", () => {
    const values = [15, 20, 35, 40, 50];
    expect(percentile(values, 5)).toBe(15);
    expect(percentile(values, 30)).toBe(20);
    expect(percentile(values, 40)).toBe(20);
    expect(percentile(values, 50)).toBe(35);
    expect(percentile(values, 100)).toBe(50);
  });

  it("sorts its input, never interpolates, and gives the minimum at p = 0", () => {
    const values = Array.from({ length: 20 }, (_, i) => 20 - i);
    expect(percentile(values, 95)).toBe(19);
    expect(percentile(values, 50)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile([7], 95)).toBe(7);
    expect(values[0]).toBe(20);
  });

  it("refuses no values, non-finite values and p outside [0, 100]", () => {
    expect(() => percentile([], 50)).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
    expect(() => percentile([1, Number.NaN], 50)).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
    expect(() => percentile([1], 101)).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
  });
});
