import { describe, expect, it } from "vitest";
import type { AgentStatusChanged, ExecutionProgress } from "../../runtime/protocol/index.js";
import { StatusCoalescer } from "../../runtime/system/status-events.js";

const orgId = "6f1c1a2e-9a4b-4c1e-8f00-000000000001";
const agentA = "6f1c1a2e-9a4b-4c1e-8f00-00000000000a";
const agentB = "6f1c1a2e-9a4b-4c1e-8f00-00000000000b";
const x = "6f1c1a2e-9a4b-4c1e-8f00-0000000000e1";
const y = "6f1c1a2e-9a4b-4c1e-8f00-0000000000e2";

function event(agentId: string, at: number, execution?: Pick<ExecutionProgress, "executionId" | "status"> & Partial<ExecutionProgress>): AgentStatusChanged {
  const iso = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, at)).toISOString();
  return {
    type: "agent.status.changed",
    orgId,
    agentId,
    status: execution?.status === "RUNNING" ? "BUSY" : "IDLE",
    workerId: "w1",
    at: iso,
    queued: 0,
    ...(execution ? { execution: { startedAt: iso, ...execution } } : {}),
  };
}

/** A coalescer whose end of tick the test decides. */
function coalescer() {
  const published: AgentStatusChanged[] = [];
  const ticks: Array<() => void> = [];
  const out = new StatusCoalescer((e) => published.push(e), (flush) => ticks.push(flush));
  const endTick = () => {
    for (const flush of ticks.splice(0)) flush();
  };
  const seen = () => published.map((e) => [e.agentId === agentA ? "A" : "B", e.execution?.executionId === x ? "x" : e.execution ? "y" : "-", e.execution?.status ?? e.status]);
  return { out, published, endTick, seen };
}

describe("status events, coalesced per agent and tick", () => {
  it("publishes only the ending of an execution that started and ended in one tick", () => {
    const { out, endTick, seen } = coalescer();
    out.push(event(agentA, 0));
    out.push(event(agentA, 1, { executionId: x, status: "RUNNING", attempt: 1 }));
    out.push(event(agentA, 2, { executionId: x, status: "COMPLETED", attempt: 1 }));
    expect(seen()).toEqual([]);
    endTick();
    expect(seen()).toEqual([["A", "x", "COMPLETED"]]);
  });

  it("publishes RUNNING at the end of its tick when the ending comes in a later one", () => {
    const { out, endTick, seen } = coalescer();
    out.push(event(agentA, 1, { executionId: x, status: "RUNNING", attempt: 1 }));
    endTick();
    out.push(event(agentA, 2, { executionId: x, status: "FAILED", attempt: 1 }));
    endTick();
    expect(seen()).toEqual([
      ["A", "x", "RUNNING"],
      ["A", "x", "FAILED"],
    ]);
  });

  it("keeps every ending and the order of an agent's events; agents do not affect each other", () => {
    const { out, endTick, seen } = coalescer();
    out.push(event(agentA, 1, { executionId: x, status: "RUNNING", attempt: 1 }));
    out.push(event(agentB, 1, { executionId: y, status: "RUNNING", attempt: 1 }));
    out.push(event(agentA, 2, { executionId: x, status: "RUNNING", attempt: 2 }));
    out.push(event(agentA, 3, { executionId: x, status: "COMPLETED", attempt: 2 }));
    out.push(event(agentA, 3, { executionId: y, status: "RUNNING", attempt: 1 }));
    out.push(event(agentA, 4, { executionId: y, status: "CANCELLED", attempt: 1 }));
    out.push(event(agentA, 4, { executionId: x, status: "COMPLETED", attempt: 2 }));
    endTick();
    expect(seen()).toEqual([
      ["A", "x", "COMPLETED"],
      ["A", "y", "CANCELLED"],
      ["A", "x", "COMPLETED"],
      ["B", "y", "RUNNING"],
    ]);
  });

  it("drops a bare status change only for a later event, never for an older one published again", () => {
    const { out, endTick, seen } = coalescer();
    out.push(event(agentA, 5));
    // An outcome read back from the store: older than the status change it follows.
    out.push(event(agentA, 1, { executionId: x, status: "COMPLETED", attempt: 1 }));
    endTick();
    expect(seen()).toEqual([
      ["A", "-", "IDLE"],
      ["A", "x", "COMPLETED"],
    ]);
  });

  it("flushes once per tick, and at once on flush()", () => {
    const { out, published, endTick } = coalescer();
    out.push(event(agentA, 1));
    out.push(event(agentB, 1));
    expect(out.pending).toBe(2);
    out.flush();
    expect(published).toHaveLength(2);
    endTick();
    expect(published).toHaveLength(2);
    expect(out.pending).toBe(0);
  });
});
