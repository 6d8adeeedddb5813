import { describe, expect, it } from "vitest";
import { createActor, fromPromise, waitFor } from "xstate";
import { agentMachine, agentStatusOf, type ModelAnswer } from "../../runtime/machines/agent.machine.js";
import { NeuroflowError, type AgentTask } from "../../runtime/protocol/index.js";
import { statusEvents, type AgentSnapshot } from "../../runtime/system/status-events.js";

const orgId = "6f1c1a2e-9a4b-4c1e-8f00-000000000001";
const agentId = "6f1c1a2e-9a4b-4c1e-8f00-000000000002";

function task(n: number, prompt = `task ${n}`): AgentTask {
  return {
    type: "agent.task",
    executionId: `6f1c1a2e-9a4b-4c1e-8f00-${String(n).padStart(12, "0")}`,
    orgId,
    agentId,
    prompt,
    agent: { name: "Tester", personality: {}, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: [] },
    submittedAt: "2026-01-01T00:00:00.000Z",
  };
}

/** A callModel whose calls the test resolves or rejects by hand, in order. */
function manualModel() {
  const pending: Array<{ task: AgentTask; resolve: (a: ModelAnswer) => void; reject: (e: unknown) => void }> = [];
  const actor = fromPromise<ModelAnswer, { task: AgentTask }>(
    ({ input }) => new Promise((resolve, reject) => pending.push({ task: input.task, resolve, reject })),
  );
  const answer = (text: string): ModelAnswer => ({ text, usage: { promptTokens: 3, completionTokens: 5 }, provider: "simulated", model: "sim-1", costMicroUsd: 0 });
  return { actor, pending, answer };
}

function start(model: ReturnType<typeof manualModel>) {
  const actor = createActor(agentMachine.provide({ actors: { callModel: model.actor } }), { input: { orgId, agentId } });
  const snapshots: AgentSnapshot[] = [];
  actor.subscribe((snapshot) => snapshots.push(snapshot));
  actor.start();
  return { actor, snapshots };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("agent machine", () => {
  it("goes idle → working → idle and keeps the answer of the task it finished", async () => {
    const model = manualModel();
    const { actor } = start(model);
    expect(actor.getSnapshot().value).toBe("idle");
    actor.send({ type: "task.received", task: task(1) });
    expect(actor.getSnapshot().value).toBe("working");
    expect(actor.getSnapshot().context.current?.executionId).toBe(task(1).executionId);
    await tick();
    expect(model.pending).toHaveLength(1);
    model.pending[0]!.resolve(model.answer("four"));
    await waitFor(actor, (s) => s.matches("idle"));
    const last = actor.getSnapshot().context.last;
    expect(last).toEqual({ executionId: task(1).executionId, ok: true, answer: model.answer("four") });
    expect(actor.getSnapshot().context.current).toBeNull();
  });

  it("queues tasks that arrive while working and runs them one at a time, first in first out", async () => {
    const model = manualModel();
    const { actor } = start(model);
    actor.send({ type: "task.received", task: task(1) });
    actor.send({ type: "task.received", task: task(2) });
    actor.send({ type: "task.received", task: task(3) });
    expect(actor.getSnapshot().context.mailbox.map((t) => t.prompt)).toEqual(["task 2", "task 3"]);
    await tick();
    expect(model.pending).toHaveLength(1);
    model.pending[0]!.resolve(model.answer("one"));
    await tick();
    expect(model.pending).toHaveLength(2);
    expect(model.pending[1]!.task.prompt).toBe("task 2");
    expect(actor.getSnapshot().context.mailbox.map((t) => t.prompt)).toEqual(["task 3"]);
    model.pending[1]!.resolve(model.answer("two"));
    await tick();
    expect(model.pending[2]!.task.prompt).toBe("task 3");
    model.pending[2]!.resolve(model.answer("three"));
    await waitFor(actor, (s) => s.matches("idle"));
    expect(actor.getSnapshot().context.mailbox).toEqual([]);
  });

  it("turns a failing model call into the failed state with a wire error, then takes the next task", async () => {
    const model = manualModel();
    const { actor } = start(model);
    actor.send({ type: "task.received", task: task(1) });
    await tick();
    model.pending[0]!.reject(new NeuroflowError("PROVIDER_ERROR", "rate limited", { retryable: true }));
    await waitFor(actor, (s) => s.matches("failed"));
    expect(agentStatusOf(String(actor.getSnapshot().value))).toBe("ERROR");
    expect(actor.getSnapshot().context.last).toEqual({
      executionId: task(1).executionId,
      ok: false,
      error: { code: "PROVIDER_ERROR", message: "rate limited", retryable: true },
    });
    actor.send({ type: "task.received", task: task(2) });
    expect(actor.getSnapshot().value).toBe("working");
  });

  it("hides the text of unexpected errors behind INTERNAL", async () => {
    const model = manualModel();
    const { actor } = start(model);
    actor.send({ type: "task.received", task: task(1) });
    await tick();
    model.pending[0]!.reject(new Error("secret connection string postgres://u:p@h"));
    await waitFor(actor, (s) => s.matches("failed"));
    const last = actor.getSnapshot().context.last;
    expect(last?.ok === false && last.error).toEqual({ code: "INTERNAL", message: "internal error", retryable: false });
  });
});

describe("statusEvents (inspection → protocol events)", () => {
  it("emits RUNNING when a task starts and COMPLETED with usage and duration when it ends", async () => {
    const model = manualModel();
    const { actor, snapshots } = start(model);
    actor.send({ type: "task.received", task: task(1) });
    await tick();
    model.pending[0]!.resolve(model.answer("done"));
    await waitFor(actor, (s) => s.matches("idle"));

    const started = new Date("2026-01-01T00:00:00.000Z");
    const finished = new Date("2026-01-01T00:00:01.250Z");
    const meta = (now: Date) => ({ workerId: "w1", now, startedAt: () => started });
    const [initial, working] = snapshots;
    expect(initial?.value).toBe("idle");
    expect(working?.value).toBe("working");
    expect(statusEvents(undefined, initial!, meta(started))).toMatchObject([{ status: "IDLE", queued: 0 }]);
    const running = statusEvents(initial, working!, meta(started));
    expect(running).toHaveLength(1);
    expect(running[0]).toMatchObject({ status: "BUSY", execution: { status: "RUNNING", executionId: task(1).executionId } });

    const done = statusEvents(working, snapshots.at(-1)!, meta(finished));
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({
      type: "agent.status.changed",
      orgId,
      agentId,
      status: "IDLE",
      workerId: "w1",
      execution: { status: "COMPLETED", output: "done", durationMs: 1250, usage: { promptTokens: 3, completionTokens: 5 } },
    });
    expect(statusEvents(snapshots.at(-1), snapshots.at(-1)!, meta(finished))).toEqual([]);
  });

  it("emits the finished task and the next one in order when the mailbox was not empty", async () => {
    const model = manualModel();
    const { actor, snapshots } = start(model);
    actor.send({ type: "task.received", task: task(1) });
    actor.send({ type: "task.received", task: task(2) });
    await tick();
    const before = actor.getSnapshot();
    model.pending[0]!.resolve(model.answer("first"));
    await tick();
    const after = actor.getSnapshot();
    const events = statusEvents(before, after, { workerId: "w1", now: new Date(), startedAt: () => undefined });
    expect(events.map((e) => [e.execution?.executionId, e.execution?.status])).toEqual([
      [task(1).executionId, "COMPLETED"],
      [task(2).executionId, "RUNNING"],
    ]);
    expect(events.every((e) => e.status === "BUSY")).toBe(true);
    expect(snapshots.length).toBeGreaterThan(0);
  });
});
