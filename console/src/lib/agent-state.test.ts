import { describe, expect, it } from "vitest";
import {
  TIMELINE_LIMIT,
  applySnapshot,
  applyStatusEvent,
  applySubmitted,
  statusLabel,
  type AgentLive,
} from "./agent-state.js";
import {
  EXECUTION_ID,
  OTHER_EXECUTION_ID,
  agentView,
  completedEvent,
  executionView,
  statusEvent,
} from "./testing/fixtures.js";

function at(second: number): string {
  return new Date(Date.UTC(2025, 0, 1, 12, 0, second)).toISOString();
}

describe("statusLabel", () => {
  it("names statuses the way people say them", () => {
    expect(statusLabel("IDLE")).toBe("idle");
    expect(statusLabel("BUSY")).toBe("working");
    expect(statusLabel("ERROR")).toBe("error");
    expect(statusLabel("OFFLINE")).toBe("offline");
  });
});

describe("applyStatusEvent", () => {
  it("creates the agent from its first event and records the transition", () => {
    const live = applyStatusEvent(undefined, statusEvent({ status: "BUSY", at: at(1), queued: 2 }));
    expect(live.status).toBe("BUSY");
    expect(live.statusAt).toBe(at(1));
    expect(live.queued).toBe(2);
    expect(live.timeline).toEqual([{ status: "BUSY", at: at(1) }]);
  });

  it("keeps the answer, usage and duration of a completed execution", () => {
    const running = applyStatusEvent(
      undefined,
      statusEvent({
        status: "BUSY",
        at: at(0),
        execution: { executionId: EXECUTION_ID, status: "RUNNING", startedAt: at(0) },
      }),
    );
    expect(running.run).toMatchObject({ executionId: EXECUTION_ID, status: "RUNNING" });
    expect(running.answer).toBeNull();

    const done = applyStatusEvent(running, completedEvent("forty-two", at(2)));
    expect(done.status).toBe("IDLE");
    expect(done.answer).toEqual({ executionId: EXECUTION_ID, text: "forty-two", at: at(2) });
    expect(done.run).toMatchObject({
      status: "COMPLETED",
      durationMs: 2000,
      usage: { promptTokens: 10, completionTokens: 25 },
      error: null,
    });
    expect(done.timeline.map((entry) => entry.status)).toEqual(["BUSY", "IDLE"]);
    expect(done.finishedSinceSnapshot).toBe(1);
  });

  it("keeps the wire error of a failed execution and the previous answer", () => {
    const answered = applyStatusEvent(undefined, completedEvent("first answer", at(1)));
    const failed = applyStatusEvent(
      answered,
      statusEvent({
        status: "IDLE",
        at: at(5),
        execution: {
          executionId: OTHER_EXECUTION_ID,
          status: "FAILED",
          startedAt: at(3),
          completedAt: at(5),
          error: { code: "PROVIDER_ERROR", message: "model timed out", retryable: true },
        },
      }),
    );
    expect(failed.run).toMatchObject({
      executionId: OTHER_EXECUTION_ID,
      status: "FAILED",
      error: { code: "PROVIDER_ERROR", message: "model timed out" },
    });
    expect(failed.answer?.text).toBe("first answer");
  });

  it("counts a finished execution once even if its event is delivered twice", () => {
    const once = applyStatusEvent(undefined, completedEvent("x", at(2)));
    const twice = applyStatusEvent(once, completedEvent("x", at(2)));
    expect(twice.finishedSinceSnapshot).toBe(1);
  });

  it("adds one timeline entry per change of status and keeps only the latest ones", () => {
    let live: AgentLive | undefined;
    live = applyStatusEvent(live, statusEvent({ status: "BUSY", at: at(0) }));
    live = applyStatusEvent(live, statusEvent({ status: "BUSY", at: at(1), queued: 1 }));
    expect(live.timeline).toHaveLength(1);
    expect(live.queued).toBe(1);

    for (let i = 0; i < TIMELINE_LIMIT + 4; i += 1) {
      live = applyStatusEvent(live, statusEvent({ status: i % 2 === 0 ? "IDLE" : "BUSY", at: at(10 + i) }));
    }
    expect(live.timeline).toHaveLength(TIMELINE_LIMIT);
    // Oldest first: the last entry is the newest event.
    expect(live.timeline.at(-1)).toEqual({ status: "BUSY", at: at(10 + TIMELINE_LIMIT + 3) });
  });
});

describe("applySnapshot", () => {
  it("fills a new agent from its view and latest executions", () => {
    const live = applySnapshot(undefined, agentView({ status: "IDLE" }), [
      executionView({ id: OTHER_EXECUTION_ID, status: "FAILED", output: null, error: { code: "TIMEOUT", message: "slow" } }),
      executionView({ output: "older answer" }),
    ]);
    expect(live.status).toBe("IDLE");
    expect(live.run).toMatchObject({ executionId: OTHER_EXECUTION_ID, status: "FAILED", error: { code: "TIMEOUT", message: "slow" } });
    expect(live.answer?.text).toBe("older answer");
    expect(live.timeline).toEqual([]);
  });

  it("does not roll back a live event with an older snapshot", () => {
    const live = applyStatusEvent(undefined, completedEvent("live answer", "2025-01-01T12:00:02.000Z"));
    const merged = applySnapshot(live, agentView({ status: "BUSY", lastActiveAt: "2025-01-01T11:00:00.000Z" }), [
      executionView({ id: OTHER_EXECUTION_ID, output: "stale answer", completedAt: "2025-01-01T11:00:00.000Z" }),
    ]);
    expect(merged.status).toBe("IDLE");
    expect(merged.answer?.text).toBe("live answer");
    expect(merged.timeline).toEqual(live.timeline);
    expect(merged.finishedSinceSnapshot).toBe(0);
  });

  it("takes what the socket missed from a newer snapshot", () => {
    const running = applyStatusEvent(
      undefined,
      statusEvent({
        status: "BUSY",
        at: at(0),
        execution: { executionId: EXECUTION_ID, status: "RUNNING", startedAt: at(0) },
      }),
    );
    const merged = applySnapshot(running, agentView({ status: "IDLE", lastActiveAt: at(30) }), [
      executionView({ id: EXECUTION_ID, status: "COMPLETED", output: "missed answer", completedAt: at(20) }),
    ]);
    expect(merged.status).toBe("IDLE");
    expect(merged.run?.status).toBe("COMPLETED");
    expect(merged.answer?.text).toBe("missed answer");
  });
});

describe("applySubmitted", () => {
  it("shows a submitted task as the latest run until events arrive", () => {
    const pending = executionView({ status: "PENDING", output: null, startedAt: null, completedAt: null, duration: null });
    const live = applySubmitted(undefined, agentView(), pending);
    expect(live.run).toMatchObject({ executionId: EXECUTION_ID, status: "PENDING" });
  });

  it("does not overwrite an event that beat the HTTP response", () => {
    const done = applyStatusEvent(undefined, completedEvent("fast", at(1)));
    const pending = executionView({ status: "PENDING", output: null, startedAt: null, completedAt: null, duration: null });
    expect(applySubmitted(done, agentView(), pending).run?.status).toBe("COMPLETED");
  });
});
