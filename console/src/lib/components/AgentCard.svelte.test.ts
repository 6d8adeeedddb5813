import { flushSync, mount, unmount } from "svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AgentView } from "../../../../runtime/protocol/index.js";
import { ApiError } from "../api.js";
import { applyStatusEvent, type AgentLive } from "../agent-state.js";
import { AGENT_ID, agentView, completedEvent, statusEvent } from "../testing/fixtures.js";
import AgentCard from "./AgentCard.svelte";

let component: ReturnType<typeof mount> | null = null;

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = "";
});

function byTestId(testId: string): HTMLElement {
  const element = document.querySelector<HTMLElement>(`[data-testid="${testId}"]`);
  if (!element) throw new Error(`no [data-testid="${testId}"] rendered`);
  return element;
}

async function settle(): Promise<void> {
  // Let awaited promises in event handlers finish, then apply their state changes to the DOM.
  await new Promise((resolve) => setTimeout(resolve, 0));
  flushSync();
}

describe("AgentCard", () => {
  it("renders the agent's view before any live data", () => {
    component = mount(AgentCard, {
      target: document.body,
      props: { agent: agentView({ status: "OFFLINE" }), live: undefined, onSend: async () => {} },
    });
    const card = byTestId("agent-card");
    expect(card.dataset.agentId).toBe(AGENT_ID);
    expect(byTestId("agent-name").textContent).toBe("Research Assistant");
    expect(byTestId("agent-status").textContent).toBe("offline");
    expect(byTestId("agent-status").dataset.status).toBe("OFFLINE");
    expect(byTestId("agent-model").textContent).toBe("simulated/echo-1");
    expect(document.querySelector('[data-testid="agent-answer"]')).toBeNull();
    expect(byTestId("agent-timeline").querySelectorAll("li")).toHaveLength(0);
  });

  it("follows live state: status label, answer, usage and timeline", () => {
    const props: { agent: AgentView; live: AgentLive | undefined; onSend: () => Promise<void> } = $state({
      agent: agentView(),
      live: undefined,
      onSend: async () => {},
    });
    component = mount(AgentCard, { target: document.body, props });

    props.live = applyStatusEvent(undefined, statusEvent({ status: "BUSY" }));
    flushSync();
    expect(byTestId("agent-status").textContent).toBe("working");
    expect(byTestId("agent-status").dataset.status).toBe("BUSY");

    props.live = applyStatusEvent(props.live, completedEvent("Forty-two."));
    flushSync();
    expect(byTestId("agent-status").textContent).toBe("idle");
    expect(byTestId("agent-answer").textContent).toBe("Forty-two.");
    expect(byTestId("agent-run").textContent).toContain("35");
    expect(byTestId("agent-run").textContent).toContain("2.0 s");
    // The fixture's 3 executions plus the one that just finished.
    expect(byTestId("agent-executions").textContent).toBe("4");
    const items = [...byTestId("agent-timeline").querySelectorAll("li")];
    expect(items.map((item) => item.dataset.status)).toEqual(["BUSY", "IDLE"]);
    expect(items.map((item) => item.querySelector(".timeline-label")?.textContent)).toEqual(["working", "idle"]);
  });

  it("sends the prompt as typed and clears it on success", async () => {
    const onSend = vi.fn(async (_prompt: string) => {});
    component = mount(AgentCard, { target: document.body, props: { agent: agentView(), live: undefined, onSend } });

    const prompt = byTestId("task-prompt");
    if (!(prompt instanceof HTMLTextAreaElement)) throw new Error("task-prompt is not a textarea");
    prompt.value = "Summarise this";
    prompt.dispatchEvent(new Event("input", { bubbles: true }));
    byTestId("send-task").click();
    await settle();

    expect(onSend).toHaveBeenCalledWith("Summarise this");
    expect(prompt.value).toBe("");
    expect(document.querySelector('[data-testid="task-error"]')).toBeNull();
  });

  it("shows the server's message next to the button when a send fails", async () => {
    const onSend = vi.fn(async (_prompt: string) => {
      throw new ApiError(400, "VALIDATION_FAILED", "prompt must not be empty");
    });
    component = mount(AgentCard, { target: document.body, props: { agent: agentView(), live: undefined, onSend } });

    byTestId("send-task").click();
    await settle();

    expect(onSend).toHaveBeenCalledWith("");
    expect(byTestId("task-error").textContent).toBe("prompt must not be empty");
  });
});
