import { describe, expect, it } from "vitest";
import { TurnSlices } from "../../runtime/system/turn-slices.js";

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("TurnSlices", () => {
  it("handles a burst in arrival order, at most perTurn per turn of the event loop", async () => {
    const handled: number[] = [];
    const perTurn: number[] = [];
    const slices = new TurnSlices<number>((item) => handled.push(item), 3);
    for (let i = 0; i < 8; i++) slices.push(i);
    expect(handled).toEqual([]);
    expect(slices.size).toBe(8);
    while (handled.length < 8) {
      const before = handled.length;
      await nextTurn();
      perTurn.push(handled.length - before);
    }
    expect(handled).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(3);
    expect(slices.size).toBe(0);
  });

  it("takes items pushed while a burst is being sliced after the ones before them, and starts again when idle", async () => {
    const handled: string[] = [];
    const slices = new TurnSlices<string>((item) => {
      handled.push(item);
      if (item === "a") slices.push("late");
    }, 2);
    slices.push("a");
    slices.push("b");
    slices.push("c");
    while (slices.size > 0) await nextTurn();
    expect(handled).toEqual(["a", "b", "c", "late"]);
    slices.push("again");
    await nextTurn();
    expect(handled.at(-1)).toBe("again");
  });
});
