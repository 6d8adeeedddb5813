import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../../control-plane/server.js";
import { launchChromium } from "../support/browser.js";
import { createTestOrg, startTestControlPlane, type TestOrg } from "../support/harness.js";

const screenshot = fileURLToPath(new URL("../artifacts/experiments-e2e.png", import.meta.url));

/** Small enough to finish in seconds on the test run's one runtime worker. */
const spec = `name: e2e sizes
seed: 11
trials: 6
tasks: { kind: choice-questions, count: 6, options: 3 }
grid:
  structures: [DEMOCRATIC]
  rules: [{ kind: majority, tieBreak: random }]
  teamSizes: [3, 5]
members: { accuracy: 0.7, latencyMs: 0 }
`;

describe("experiments page in Chromium", () => {
  let cp: ControlPlane;
  let org: TestOrg;
  let browser: Browser;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    org = await createTestOrg(cp);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await cp?.stop();
  });

  it("starts an experiment from YAML, follows its progress, and shows the chart and table of its results", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));

    await page.goto(cp.url);
    await page.fill('[data-testid="login-email"]', org.email);
    await page.fill('[data-testid="login-password"]', org.password);
    await page.click('[data-testid="login-submit"]');
    await page.click('[data-testid="nav-experiments"]');

    // The form opens with a runnable example; a broken spec gets the server's message.
    expect(await page.inputValue('[data-testid="experiment-yaml"]')).toContain("name: majority-vs-weighted");
    await page.fill('[data-testid="experiment-yaml"]', "name: broken\nseed: 1\ntrials: 0\n");
    await page.click('[data-testid="start-experiment"]');
    await expect.poll(() => page.textContent('[data-testid="experiment-error"]')).toContain("trials");

    await page.fill('[data-testid="experiment-yaml"]', spec);
    await page.click('[data-testid="start-experiment"]');
    const detail = page.locator('[data-testid="experiment-detail"]');
    await expect.poll(() => detail.locator("h2").textContent()).toBe("e2e sizes");
    await expect
      .poll(() => detail.locator('[data-testid="experiment-status"]').getAttribute("data-status"), { timeout: 60_000 })
      .toBe("COMPLETED");

    expect(await detail.locator('[data-testid="chart-cell"]').count()).toBe(2);
    const rows = await detail.locator('[data-testid="results-row"]').evaluateAll((items) => items.map((item) => item.getAttribute("data-cell")));
    expect(rows).toEqual(["DEMOCRATIC/majority/n3/d0", "DEMOCRATIC/majority/n5/d0"]);
    expect(await detail.locator('[data-testid="experiment-progress"]').getAttribute("data-done")).toBe("12");
    const item = page.locator('[data-testid="experiment-item"]').first();
    await expect.poll(() => item.locator('[data-testid="experiment-status"]').getAttribute("data-status")).toBe("COMPLETED");
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
