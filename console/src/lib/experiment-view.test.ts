import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { experimentSpecSchema, type ExecutionStatus } from "../../../runtime/protocol/index.js";
import { EXAMPLE_EXPERIMENT_YAML, accuracyChartLayout, formatLatency, formatUsd, isActive, percent, progressFraction } from "./experiment-view.js";

describe("experiment view helpers", () => {
  it("prefills the form with a valid spec", () => {
    const spec = experimentSpecSchema.parse(parse(EXAMPLE_EXPERIMENT_YAML));
    expect(spec.grid.structures).toEqual(["DEMOCRATIC"]);
    expect(spec.trials).toBeLessThanOrEqual(50);
  });

  it("formats what the page shows", () => {
    expect(percent(0.8734)).toBe("87.3%");
    expect(formatUsd(0)).toBe("$0.0000");
    expect(formatUsd(1_234)).toBe("$0.001234");
    expect(formatUsd(1_500_000)).toBe("$1.5000");
    expect(formatLatency(4.25)).toBe("4.3 ms");
    expect(formatLatency(1234.4)).toBe("1,234 ms");
    expect(progressFraction({ done: 0, total: 0 })).toBe(0);
    expect(progressFraction({ done: 3, total: 4 })).toBe(0.75);
    const statuses: ExecutionStatus[] = ["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"];
    expect(statuses.map(isActive)).toEqual([true, true, false, false, false]);
  });

  it("lays out an empty chart with room for one row", () => {
    const layout = accuracyChartLayout([]);
    expect(layout.rows).toEqual([]);
    expect(layout.plotBottom).toBeGreaterThan(layout.plotTop);
  });
});
