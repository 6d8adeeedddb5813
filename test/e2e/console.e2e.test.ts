import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../../control-plane/server.js";
import { AgentExecution } from "../../entities/index.js";
import { launchChromium } from "../support/browser.js";
import { createTestOrg, startTestControlPlane, type TestOrg } from "../support/harness.js";

const screenshot = fileURLToPath(new URL("../artifacts/console-e2e.png", import.meta.url));

describe("console in Chromium", () => {
  let cp: ControlPlane;
  let org: TestOrg;
  let browser: Browser;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    org = await createTestOrg(cp, {
      agents: [
        {
          name: "Ada (Researcher)",
          description: "Finds and summarises sources.",
          personality: { tone: "precise" },
          // Long enough to see "working" on screen before the answer arrives.
          modelConfig: { provider: "simulated", model: "sim-1", simulated: { latencyMs: 1500 } },
          capabilities: ["search"],
        },
        { name: "Grace (Planner)", description: "Breaks goals into steps.", personality: {}, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: [] },
      ],
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await cp?.stop();
  });

  it("logs in, sends a task, and shows the agent go working → idle with the answer", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));

    await page.goto(cp.url);
    await page.fill('[data-testid="login-email"]', org.email);
    await page.fill('[data-testid="login-password"]', "not the password");
    await page.click('[data-testid="login-submit"]');
    await expect.poll(() => page.textContent('[data-testid="login-error"]')).toContain("wrong email or password");

    await page.fill('[data-testid="login-password"]', org.password);
    await page.click('[data-testid="login-submit"]');
    await page.waitForSelector('[data-testid="connection-status"][data-state="live"]');

    const agent = org.agents[0]!;
    const card = page.locator(`[data-testid="agent-card"][data-agent-id="${agent.id}"]`);
    await expect.poll(() => card.locator('[data-testid="agent-name"]').textContent()).toBe("Ada (Researcher)");
    expect(await card.locator('[data-testid="agent-status"]').getAttribute("data-status")).toBe("IDLE");

    await card.locator('[data-testid="task-prompt"]').fill("Summarise the causes of the 1929 crash");
    await card.locator('[data-testid="send-task"]').click();

    const status = card.locator('[data-testid="agent-status"]');
    await status.and(page.locator('[data-status="BUSY"]')).waitFor({ timeout: 10_000 });
    expect((await status.textContent())?.trim()).toBe("working");
    await status.and(page.locator('[data-status="IDLE"]')).waitFor({ timeout: 10_000 });
    expect((await status.textContent())?.trim()).toBe("idle");

    const answer = await card.locator('[data-testid="agent-answer"]').textContent();
    expect(answer).toContain("Summarise the causes of the 1929 crash");
    const timeline = await card.locator('[data-testid="agent-timeline"] li').evaluateAll((items) =>
      items.map((item) => item.getAttribute("data-status")),
    );
    expect(timeline.slice(-2)).toEqual(["BUSY", "IDLE"]);

    // What the page showed is what was stored.
    const [row] = await cp.db.asSystem(org.orgId, (em) => em.find(AgentExecution, { agent: agent.id }));
    expect(row).toMatchObject({ status: "COMPLETED", task: "Summarise the causes of the 1929 crash" });
    expect(answer).toContain(String(row!.output?.["text"]).slice(0, 40));

    await page.screenshot({ path: screenshot, fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it("shows the server's validation message when the prompt is empty", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(cp.url);
    await page.fill('[data-testid="login-email"]', org.email);
    await page.fill('[data-testid="login-password"]', org.password);
    await page.click('[data-testid="login-submit"]');
    const card = page.locator(`[data-testid="agent-card"][data-agent-id="${org.agents[1]!.id}"]`);
    await card.waitFor();
    await card.locator('[data-testid="task-prompt"]').fill("   ");
    await card.locator('[data-testid="send-task"]').click();
    await expect.poll(() => card.locator('[data-testid="task-error"]').textContent()).toMatch(/prompt/i);
    await context.close();
  });
});
