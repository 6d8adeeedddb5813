import { flushSync, mount, unmount } from "svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ExperimentView } from "../../../../runtime/protocol/index.js";
import { accuracyChartLayout } from "../experiment-view.js";
import { EXPERIMENT_ID, ORG_ID, experimentView } from "../testing/fixtures.js";
import AccuracyChart from "./AccuracyChart.svelte";
import ExperimentDetail from "./ExperimentDetail.svelte";
import ExperimentResultsTable from "./ExperimentResultsTable.svelte";

let component: ReturnType<typeof mount> | null = null;

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = "";
});

const all = (testId: string, root: ParentNode = document) => [...root.querySelectorAll<Element>(`[data-testid="${testId}"]`)];
const numberAttr = (element: Element | undefined, name: string) => Number(element?.getAttribute(name));

function byTestId(testId: string): HTMLElement {
  const element = document.querySelector<HTMLElement>(`[data-testid="${testId}"]`);
  if (!element) throw new Error(`no [data-testid="${testId}"] rendered`);
  return element;
}

const cells = () => experimentView().results?.cells ?? [];

describe("AccuracyChart", () => {
  it("draws one point per cell at its accuracy, with a whisker across its 95% interval", () => {
    component = mount(AccuracyChart, { target: document.body, props: { cells: cells() } });
    const layout = accuracyChartLayout(cells());
    const rows = all("chart-cell");
    expect(rows.map((row) => row.getAttribute("data-cell"))).toEqual(["DEMOCRATIC/majority/n3/d0", "DEMOCRATIC/majority/n5/d0", "DEMOCRATIC/majority/n7/d0"]);
    const axis = (value: number) => layout.plotLeft + value * (layout.plotRight - layout.plotLeft);
    cells().forEach((cell, index) => {
      const row = rows[index]!;
      const point = row.querySelector('[data-testid="chart-point"]') ?? undefined;
      const whisker = row.querySelector('[data-testid="chart-whisker"]') ?? undefined;
      expect(numberAttr(point, "cx")).toBeCloseTo(axis(cell.accuracy), 6);
      expect(numberAttr(whisker, "x1")).toBeCloseTo(axis(cell.ci95.low), 6);
      expect(numberAttr(whisker, "x2")).toBeCloseTo(axis(cell.ci95.high), 6);
      // Rows stack downwards, point and whisker on the row's line.
      expect(numberAttr(point, "cy")).toBe(numberAttr(whisker, "y1"));
      if (index > 0) expect(numberAttr(point, "cy")).toBeGreaterThan(numberAttr(rows[index - 1]!.querySelector("circle") ?? undefined, "cy"));
      expect(row.querySelector(".cell-label")?.textContent).toBe(cell.cell.id);
      expect(row.querySelector(".value")?.textContent).toBe(`${(cell.accuracy * 100).toFixed(1)}%`);
    });
    // 100% accuracy with an interval reaching 100%: the point sits at the axis' right end.
    expect(numberAttr(rows[2]!.querySelector("circle") ?? undefined, "cx")).toBe(layout.plotRight);
    expect([...byTestId("accuracy-chart").querySelectorAll(".tick")].map((tick) => tick.textContent)).toEqual(["0%", "25%", "50%", "75%", "100%"]);
  });

  it("draws an empty axis for no cells", () => {
    component = mount(AccuracyChart, { target: document.body, props: { cells: [] } });
    expect(all("chart-cell")).toHaveLength(0);
    expect(byTestId("accuracy-chart").querySelectorAll(".tick")).toHaveLength(5);
  });
});

describe("ExperimentResultsTable", () => {
  it("has a row per cell with trials, accuracy, interval, failures, tokens, cost and latency", () => {
    component = mount(ExperimentResultsTable, { target: document.body, props: { cells: cells() } });
    const rows = all("results-row");
    expect(rows).toHaveLength(3);
    const texts = rows.map((row) => [...row.querySelectorAll("th, td")].map((cell) => cell.textContent?.trim()));
    expect(texts[0]).toEqual(["DEMOCRATIC/majority/n3/d0", "40", "75.0%", "[59.8%, 85.8%]", "1", "4,500", "$0.0000", "4.2 ms", "31 ms"]);
    expect(texts[2]?.slice(0, 5)).toEqual(["DEMOCRATIC/majority/n7/d0", "40", "100.0%", "[91.2%, 100.0%]", "0"]);
  });
});

describe("ExperimentDetail", () => {
  it("shows progress and a cancel button while running, then the chart, the table and the CSV link", () => {
    const onCancel = vi.fn(async () => {});
    const props: { experiment: ExperimentView; onCancel: () => Promise<void> } = $state({
      experiment: experimentView({ status: "RUNNING", progress: { done: 45, total: 120 }, results: null, completedAt: null }),
      onCancel,
    });
    component = mount(ExperimentDetail, { target: document.body, props });

    expect(byTestId("experiment-status").getAttribute("data-status")).toBe("RUNNING");
    expect(byTestId("experiment-progress").textContent).toContain("45/120 trials · 37%");
    expect(document.querySelector("progress")?.getAttribute("value")).toBe("45");
    expect(all("accuracy-chart")).toHaveLength(0);
    byTestId("cancel-experiment").click();
    expect(onCancel).toHaveBeenCalledOnce();

    props.experiment = experimentView();
    flushSync();
    expect(byTestId("experiment-status").getAttribute("data-status")).toBe("COMPLETED");
    expect(all("cancel-experiment")).toHaveLength(0);
    expect(all("chart-cell")).toHaveLength(3);
    expect(all("results-row")).toHaveLength(3);
    expect(byTestId("experiment-csv").getAttribute("href")).toBe(`/api/orgs/${ORG_ID}/experiments/${EXPERIMENT_ID}/results.csv`);
  });

  it("says why an experiment failed", () => {
    const experiment = experimentView({ status: "FAILED", results: null, error: { code: "UNAVAILABLE", message: "no runtime worker is taking team runs" } });
    component = mount(ExperimentDetail, { target: document.body, props: { experiment, onCancel: async () => {} } });
    expect(byTestId("experiment-failure").textContent).toBe("UNAVAILABLE: no runtime worker is taking team runs");
  });
});
