import { afterEach, describe, expect, it } from "vitest";
import { createActor, SimulatedClock, waitFor, type Actor, type Snapshot } from "xstate";
import { conversation, createCallModel, modelCallActions, systemPrompt, type ModelCall, type ModelCallAbort } from "../../runtime/actors/call-model.actor.js";
import { DEFAULT_LIMITS, limitsOf } from "../../runtime/machines/agent-limits.js";
import { recall, remember } from "../../runtime/machines/agent-memory.js";
import { backoffMs } from "../../runtime/machines/agent-retry.js";
import { agentMachine, agentStatusOf, type CallModelInput, type ModelAnswer } from "../../runtime/machines/agent.machine.js";
import { NeuroflowError, type AgentTask, type TaskLimits } from "../../runtime/protocol/index.js";
import { defaultPrices } from "../../runtime/providers/prices.js";
import { ProviderRegistry, type ModelProvider, type ModelRequest, type ModelResponse } from "../../runtime/providers/provider.js";
import { statusEvents, type AgentSnapshot } from "../../runtime/system/status-events.js";

const orgId = "6f1c1a2e-9a4b-4c1e-8f00-000000000001";
const agentId = "6f1c1a2e-9a4b-4c1e-8f00-000000000002";

function task(n: number, prompt = `task ${n}`, limits?: TaskLimits): AgentTask {
  return {
    type: "agent.task",
    executionId: `6f1c1a2e-9a4b-4c1e-8f00-${String(n).padStart(12, "0")}`,
    orgId,
    agentId,
    prompt,
    agent: { name: "Tester", personality: {}, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: [] },
    submittedAt: "2026-01-01T00:00:00.000Z",
    ...(limits ? { limits } : {}),
  };
}

interface PendingCall {
  input: CallModelInput;
  task: AgentTask;
  /** Read `abort.signal` late, as a provider that never needs it would not read it at all. */
  abort: ModelCallAbort;
  resolve: (a: ModelAnswer) => void;
  reject: (e: unknown) => void;
}

/** A model call whose calls the test resolves or rejects by hand, in order. */
function manualModel() {
  const pending: PendingCall[] = [];
  const call: ModelCall = (input, abort) => new Promise((resolve, reject) => pending.push({ input, task: input.task, abort, resolve, reject }));
  const answer = (text: string): ModelAnswer => ({ text, usage: { promptTokens: 3, completionTokens: 5 }, provider: "simulated", model: "sim-1", costMicroUsd: 0 });
  return { call, pending, answer };
}

const running: Array<Actor<typeof agentMachine>> = [];
afterEach(() => {
  for (const actor of running.splice(0)) actor.stop();
});

/** Starts an agent on a SimulatedClock: time moves only when the test increments it. */
function start(model: ReturnType<typeof manualModel>, options: { stored?: string } = {}) {
  const clock = new SimulatedClock();
  const machine = agentMachine.provide({ actions: modelCallActions(model.call).actions });
  let actor: Actor<typeof agentMachine>;
  if (options.stored === undefined) actor = createActor(machine, { clock, input: { orgId, agentId } });
  else {
    // What a store hands back: the persisted snapshot after its trip through JSON.
    const snapshot: Snapshot<unknown> = JSON.parse(options.stored);
    actor = createActor(machine, { clock, snapshot, input: { orgId, agentId } });
  }
  running.push(actor);
  const snapshots: AgentSnapshot[] = [];
  actor.subscribe((snapshot) => snapshots.push(snapshot));
  actor.start();
  return { actor, snapshots, clock };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const retryable = (message: string, details?: unknown) => new NeuroflowError("PROVIDER_ERROR", message, { retryable: true, details });
const meta = (now = Date.parse("2026-01-01T00:00:00.000Z")) => ({ workerId: "w1", now, startedAt: () => undefined });

describe("agent machine", () => {
  it("goes idle → working → idle and keeps the answer of the task it finished", async () => {
    const model = manualModel();
    const { actor } = start(model);
    expect(actor.getSnapshot().value).toBe("idle");
    actor.send({ type: "task.received", task: task(1) });
    expect(actor.getSnapshot().matches("working")).toBe(true);
    expect(actor.getSnapshot().context.current?.executionId).toBe(task(1).executionId);
    await tick();
    expect(model.pending).toHaveLength(1);
    model.pending[0]!.resolve(model.answer("four"));
    await waitFor(actor, (s) => s.matches("idle"));
    const last = actor.getSnapshot().context.last;
    expect(last).toEqual({ executionId: task(1).executionId, ok: true, answer: model.answer("four"), attempts: 1 });
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
    actor.send({ type: "task.received", task: task(1, "task 1", { maxRetries: 0 }) });
    await tick();
    model.pending[0]!.reject(new NeuroflowError("PROVIDER_ERROR", "rate limited", { retryable: true }));
    await waitFor(actor, (s) => s.matches("failed"));
    expect(agentStatusOf(actor.getSnapshot().value)).toBe("ERROR");
    expect(actor.getSnapshot().context.last).toEqual({
      executionId: task(1).executionId,
      ok: false,
      error: { code: "PROVIDER_ERROR", message: "rate limited", retryable: true },
      attempts: 1,
    });
    actor.send({ type: "task.received", task: task(2) });
    expect(actor.getSnapshot().matches("working")).toBe(true);
  });

  it("hides the text of unexpected errors behind INTERNAL, and does not retry them", async () => {
    const model = manualModel();
    const { actor } = start(model);
    actor.send({ type: "task.received", task: task(1) });
    await tick();
    model.pending[0]!.reject(new Error("secret connection string postgres://u:p@h"));
    await waitFor(actor, (s) => s.matches("failed"));
    const last = actor.getSnapshot().context.last;
    expect(last?.ok === false && last.error).toEqual({ code: "INTERNAL", message: "internal error", retryable: false });
    expect(model.pending).toHaveLength(1);
  });
});

describe("agent machine: the model call effect", () => {
  it("ignores a result that is not from the call it waits for (earlier attempt, other task)", async () => {
    const model = manualModel();
    const { actor, clock } = start(model);
    const t = task(1, "flaky", { retryBaseMs: 100 });
    actor.send({ type: "task.received", task: t });
    await tick();
    model.pending[0]!.reject(retryable("HTTP 503"));
    await tick();
    clock.increment(backoffMs(t.executionId, 0, 100));
    expect(actor.getSnapshot().context.attempt).toBe(2);
    const late = model.answer("from attempt 1");
    actor.send({ type: "model.done", executionId: t.executionId, attempt: 1, output: late });
    actor.send({ type: "model.done", executionId: task(2).executionId, attempt: 2, output: late });
    actor.send({ type: "model.failed", executionId: t.executionId, attempt: 1, error: new Error("late") });
    expect(actor.getSnapshot().matches({ working: "calling" })).toBe(true);
    expect(actor.getSnapshot().context.last).toBeNull();
    model.pending[1]!.resolve(model.answer("attempt 2"));
    await waitFor(actor, (s) => s.matches("idle"));
    expect(actor.getSnapshot().context.last).toMatchObject({ ok: true, attempts: 2, answer: { text: "attempt 2" } });
  });

  it("takes the next task in the same step that ends one, and aborts the call when it is stopped from outside", async () => {
    const model = manualModel();
    const effect = modelCallActions(model.call);
    const actor = createActor(agentMachine.provide({ actions: effect.actions }), { input: { orgId, agentId } });
    running.push(actor);
    const seen: AgentSnapshot[] = [];
    actor.subscribe((snapshot) => seen.push(snapshot));
    actor.start();
    actor.send({ type: "task.received", task: task(1) });
    actor.send({ type: "task.received", task: task(2) });
    await tick();
    const before = seen.length;
    model.pending[0]!.resolve(model.answer("one"));
    await tick();
    // One snapshot: task 1 ended and task 2 started in it.
    expect(seen.length).toBe(before + 1);
    expect(seen.at(-1)!.context).toMatchObject({ last: { executionId: task(1).executionId }, current: { executionId: task(2).executionId }, attempt: 1 });
    actor.stop();
    expect(model.pending[1]!.abort.signal.aborted).toBe(false);
    effect.abort(actor);
    expect(model.pending[1]!.abort.signal.aborted).toBe(true);
  });

  it("fails every call with INTERNAL when no effect is provided", async () => {
    const actor = createActor(agentMachine, { input: { orgId, agentId } });
    running.push(actor);
    actor.start();
    actor.send({ type: "task.received", task: task(1) });
    expect(actor.getSnapshot().value).toBe("failed");
    expect(actor.getSnapshot().context.last).toMatchObject({ ok: false, attempts: 1, error: { code: "INTERNAL" } });
  });

  it("gives a call an AbortSignal on first read, aborted when the agent stops waiting, also when read after that", () => {
    const model = manualModel();
    const effect = modelCallActions(model.call);
    const actor = createActor(agentMachine.provide({ actions: effect.actions }), { clock: new SimulatedClock(), input: { orgId, agentId } });
    running.push(actor);
    actor.start();
    actor.send({ type: "task.received", task: task(1) });
    const readEarly = model.pending[0]!.abort.signal;
    expect(model.pending[0]!.abort.signal).toBe(readEarly);
    actor.send({ type: "task.cancel", executionId: task(1).executionId });
    expect(readEarly.aborted).toBe(true);
    actor.send({ type: "task.received", task: task(2) });
    actor.send({ type: "task.cancel", executionId: task(2).executionId });
    // Never read while the call ran: made now, already aborted.
    expect(model.pending[1]!.abort.signal.aborted).toBe(true);
  });
});

describe("agent machine: the model call over a provider (createCallModel)", () => {
  /** A provider whose calls stay pending; it records each request and reads the signal only if asked. */
  function pendingProvider(readSignal: boolean) {
    const requests: ModelRequest[] = [];
    const signals: AbortSignal[] = [];
    const provider: ModelProvider = {
      name: "simulated",
      complete(request): Promise<ModelResponse> {
        requests.push(request);
        if (readSignal && request.signal) signals.push(request.signal);
        return new Promise(() => undefined);
      },
    };
    return { provider, requests, signals };
  }

  function startWith(provider: ModelProvider) {
    const call = createCallModel({ providers: new ProviderRegistry([provider]), prices: defaultPrices });
    const clock = new SimulatedClock();
    const actor = createActor(agentMachine.provide({ actions: modelCallActions(call).actions }), { clock, input: { orgId, agentId } });
    running.push(actor);
    actor.start();
    return { actor, clock };
  }

  it("sends the agent's profile, memory and prompt, and a signal the cancel aborts", async () => {
    const fake = pendingProvider(true);
    const { actor } = startWith(fake.provider);
    const t = task(1, "What is 2+2?");
    actor.send({ type: "task.received", task: t });
    await tick();
    expect(fake.requests).toHaveLength(1);
    const request = fake.requests[0]!;
    expect(request).toMatchObject({ model: "sim-1", system: systemPrompt(t.agent), messages: [{ role: "user", content: "What is 2+2?" }] });
    expect(request.temperature).toBeUndefined();
    expect(request.answerKey).toBeUndefined();
    expect(fake.signals[0]?.aborted).toBe(false);
    actor.send({ type: "task.cancel", executionId: t.executionId });
    expect(fake.signals[0]?.aborted).toBe(true);
  });

  it("aborts on timeout a signal the provider reads only later", async () => {
    const fake = pendingProvider(false);
    const { actor, clock } = startWith(fake.provider);
    actor.send({ type: "task.received", task: task(1, "slow", { timeoutMs: 1000 }) });
    await tick();
    clock.increment(1000);
    expect(actor.getSnapshot().value).toBe("failed");
    expect(fake.requests[0]!.signal?.aborted).toBe(true);
  });
});

describe("agent machine: deadline and retries (SimulatedClock)", () => {
  it("fails the task with TIMEOUT at exactly timeoutMs and aborts the model call", async () => {
    const model = manualModel();
    const { actor, clock } = start(model);
    actor.send({ type: "task.received", task: task(1, "slow", { timeoutMs: 1000 }) });
    await tick();
    const call = model.pending[0]!;
    clock.increment(999);
    expect(actor.getSnapshot().matches("working")).toBe(true);
    expect(call.abort.signal.aborted).toBe(false);
    clock.increment(1);
    expect(actor.getSnapshot().value).toBe("failed");
    expect(call.abort.signal.aborted).toBe(true);
    expect(actor.getSnapshot().context.last).toEqual({
      executionId: task(1).executionId,
      ok: false,
      error: { code: "TIMEOUT", message: "task timed out after 1000 ms (1 model call)", retryable: false },
      attempts: 1,
    });
    // A late answer from the aborted call changes nothing.
    call.resolve(model.answer("too late"));
    await tick();
    expect(actor.getSnapshot().value).toBe("failed");
  });

  it("defaults to a two-minute deadline", async () => {
    const model = manualModel();
    const { actor, clock } = start(model);
    actor.send({ type: "task.received", task: task(1) });
    clock.increment(DEFAULT_LIMITS.timeoutMs - 1);
    expect(actor.getSnapshot().matches("working")).toBe(true);
    clock.increment(1);
    expect(actor.getSnapshot().value).toBe("failed");
  });

  it("retries a retryable error after the back-off, and reports the retry as RUNNING with its attempt", async () => {
    const model = manualModel();
    const { actor, clock } = start(model);
    const t = task(1, "flaky", { retryBaseMs: 100 });
    actor.send({ type: "task.received", task: t });
    await tick();
    model.pending[0]!.reject(retryable("HTTP 503"));
    await tick();
    expect(actor.getSnapshot().matches({ working: "backoff" })).toBe(true);
    const before = actor.getSnapshot();
    const delay = backoffMs(t.executionId, 0, 100);
    expect(delay).toBeGreaterThanOrEqual(100);
    expect(delay).toBeLessThan(120);
    clock.increment(delay - 1);
    expect(model.pending).toHaveLength(1);
    clock.increment(1);
    expect(model.pending).toHaveLength(2);
    expect(model.pending[1]!.input.attempt).toBe(2);
    const retryEvents = statusEvents(before, actor.getSnapshot(), meta());
    expect(retryEvents).toEqual([expect.objectContaining({ status: "BUSY", execution: expect.objectContaining({ status: "RUNNING", attempt: 2 }) })]);

    model.pending[1]!.resolve(model.answer("fine now"));
    await waitFor(actor, (s) => s.matches("idle"));
    expect(actor.getSnapshot().context.last).toMatchObject({ ok: true, attempts: 2 });
  });

  it("doubles the back-off and gives up after maxRetries with the last error and the attempt count", async () => {
    const model = manualModel();
    const { actor, clock, snapshots } = start(model);
    const t = task(1, "down", { retryBaseMs: 100, maxRetries: 2 });
    actor.send({ type: "task.received", task: t });
    for (const [i, retry] of [[0, 0], [1, 1]] as const) {
      await tick();
      model.pending[i]!.reject(retryable(`failure ${i + 1}`));
      await tick();
      const delay = backoffMs(t.executionId, retry, 100);
      expect(delay).toBeGreaterThanOrEqual(100 * 2 ** retry);
      clock.increment(delay - 1);
      expect(model.pending).toHaveLength(i + 1);
      clock.increment(1);
      expect(model.pending).toHaveLength(i + 2);
    }
    model.pending[2]!.reject(retryable("failure 3"));
    await waitFor(actor, (s) => s.matches("failed"));
    expect(actor.getSnapshot().context.last).toEqual({
      executionId: t.executionId,
      ok: false,
      error: { code: "PROVIDER_ERROR", message: "failure 3", retryable: true },
      attempts: 3,
    });
    clock.increment(60_000);
    expect(model.pending).toHaveLength(3);
    const failed = statusEvents(snapshots.at(-2), snapshots.at(-1)!, meta());
    expect(failed).toEqual([expect.objectContaining({ status: "ERROR", execution: expect.objectContaining({ status: "FAILED", attempt: 3 }) })]);
  });

  it("fails a non-retryable error at once", async () => {
    const model = manualModel();
    const { actor, clock } = start(model);
    actor.send({ type: "task.received", task: task(1) });
    await tick();
    model.pending[0]!.reject(new NeuroflowError("PROVIDER_ERROR", "HTTP 400: bad request", { retryable: false }));
    await waitFor(actor, (s) => s.matches("failed"));
    clock.increment(60_000);
    expect(model.pending).toHaveLength(1);
    expect(actor.getSnapshot().context.last).toMatchObject({ ok: false, attempts: 1, error: { code: "PROVIDER_ERROR" } });
  });

  it("waits the provider's retryAfterMs when it is longer than the back-off", async () => {
    const model = manualModel();
    const { actor, clock } = start(model);
    actor.send({ type: "task.received", task: task(1, "busy", { retryBaseMs: 100 }) });
    await tick();
    model.pending[0]!.reject(retryable("HTTP 429", { status: 429, retryAfterMs: 5000 }));
    await tick();
    clock.increment(4999);
    expect(model.pending).toHaveLength(1);
    clock.increment(1);
    expect(model.pending).toHaveLength(2);
  });

  it("counts the deadline across back-offs: a back-off past it ends in TIMEOUT", async () => {
    const model = manualModel();
    const { actor, clock } = start(model);
    actor.send({ type: "task.received", task: task(1, "busy", { timeoutMs: 2000 }) });
    await tick();
    clock.increment(500);
    model.pending[0]!.reject(retryable("HTTP 429", { retryAfterMs: 10_000 }));
    await tick();
    clock.increment(1500);
    expect(actor.getSnapshot().value).toBe("failed");
    expect(actor.getSnapshot().context.last).toMatchObject({ ok: false, attempts: 1, error: { code: "TIMEOUT" } });
    expect(model.pending).toHaveLength(1);
  });
});

describe("agent machine: cancel", () => {
  it("cancels the current task: aborts the call, reports CANCELLED, rests IDLE", async () => {
    const model = manualModel();
    const { actor, snapshots } = start(model);
    actor.send({ type: "task.received", task: task(1) });
    await tick();
    const before = actor.getSnapshot();
    actor.send({ type: "task.cancel", executionId: task(1).executionId });
    expect(model.pending[0]!.abort.signal.aborted).toBe(true);
    expect(actor.getSnapshot().value).toBe("idle");
    expect(actor.getSnapshot().context.last).toEqual({
      executionId: task(1).executionId,
      ok: false,
      error: { code: "CANCELLED", message: "task cancelled", retryable: false },
      attempts: 1,
    });
    expect(statusEvents(before, snapshots.at(-1)!, meta())).toEqual([
      expect.objectContaining({
        status: "IDLE",
        execution: expect.objectContaining({ status: "CANCELLED", attempt: 1, error: expect.objectContaining({ code: "CANCELLED" }) }),
      }),
    ]);
  });

  it("cancels a task during its back-off", async () => {
    const model = manualModel();
    const { actor, clock } = start(model);
    actor.send({ type: "task.received", task: task(1) });
    await tick();
    model.pending[0]!.reject(retryable("HTTP 502"));
    await tick();
    actor.send({ type: "task.cancel", executionId: task(1).executionId });
    clock.increment(60_000);
    expect(model.pending).toHaveLength(1);
    expect(actor.getSnapshot().context.last).toMatchObject({ ok: false, error: { code: "CANCELLED" }, attempts: 1 });
  });

  it("removes a queued task, reports it CANCELLED without an attempt, then runs the next one", async () => {
    const model = manualModel();
    const { actor } = start(model);
    for (const n of [1, 2, 3]) actor.send({ type: "task.received", task: task(n) });
    await tick();
    const before = actor.getSnapshot();
    actor.send({ type: "task.cancel", executionId: task(2).executionId });
    const after = actor.getSnapshot();
    expect(after.context.mailbox.map((t) => t.prompt)).toEqual(["task 3"]);
    expect(model.pending[0]!.abort.signal.aborted).toBe(false);
    const events = statusEvents(before, after, meta());
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ status: "BUSY", queued: 1, execution: { executionId: task(2).executionId, status: "CANCELLED" } });
    expect(events[0]!.execution?.attempt).toBeUndefined();

    model.pending[0]!.resolve(model.answer("one"));
    await tick();
    expect(model.pending.map((call) => call.task.prompt)).toEqual(["task 1", "task 3"]);
  });

  it("ignores a cancel of an execution it does not hold", async () => {
    const model = manualModel();
    const { actor } = start(model);
    actor.send({ type: "task.received", task: task(1) });
    const before = actor.getSnapshot();
    actor.send({ type: "task.cancel", executionId: task(9).executionId });
    expect(actor.getSnapshot().context).toEqual(before.context);
    actor.send({ type: "task.cancel", executionId: task(9).executionId });
    expect(actor.getSnapshot().matches("working")).toBe(true);
  });
});

describe("agent machine: memory", () => {
  it("keeps the last N exchanges and passes them to the model call", async () => {
    const model = manualModel();
    const { actor } = start(model);
    const limits = { memoryWindow: 2 };
    for (const n of [1, 2, 3, 4]) {
      actor.send({ type: "task.received", task: task(n, `question ${n}`, limits) });
      await tick();
      model.pending[n - 1]!.resolve(model.answer(`answer ${n}`));
      await waitFor(actor, (s) => s.matches("idle"));
    }
    expect(model.pending.map((call) => call.input.memory.map((e) => e.prompt))).toEqual([
      [],
      ["question 1"],
      ["question 1", "question 2"],
      ["question 2", "question 3"],
    ]);
    expect(actor.getSnapshot().context.memory).toEqual([
      { prompt: "question 3", answer: "answer 3" },
      { prompt: "question 4", answer: "answer 4" },
    ]);
  });

  it("remembers ten exchanges by default and forgets failed and cancelled tasks", async () => {
    const model = manualModel();
    const { actor } = start(model);
    for (let n = 1; n <= 12; n++) {
      actor.send({ type: "task.received", task: task(n) });
      await tick();
      model.pending[n - 1]!.resolve(model.answer(`answer ${n}`));
      await waitFor(actor, (s) => s.matches("idle"));
    }
    actor.send({ type: "task.received", task: task(13, "fails", { maxRetries: 0 }) });
    await tick();
    model.pending[12]!.reject(new NeuroflowError("PROVIDER_ERROR", "no", { retryable: false }));
    await waitFor(actor, (s) => s.matches("failed"));
    actor.send({ type: "task.received", task: task(14) });
    actor.send({ type: "task.cancel", executionId: task(14).executionId });
    const memory = actor.getSnapshot().context.memory;
    expect(memory).toHaveLength(DEFAULT_LIMITS.memoryWindow);
    expect(memory.map((e) => e.answer)).toEqual(Array.from({ length: 10 }, (_, i) => `answer ${i + 3}`));
  });

  it("recalls and remembers within the window, for any window", () => {
    const exchanges = Array.from({ length: 4 }, (_, i) => ({ prompt: `q${i}`, answer: `a${i}` }));
    const prompts = (memory: readonly { prompt: string }[]) => memory.map((e) => e.prompt);
    expect(prompts(recall(exchanges, 2))).toEqual(["q2", "q3"]);
    expect(prompts(recall(exchanges, 4))).toEqual(["q0", "q1", "q2", "q3"]);
    expect(prompts(recall(exchanges, 10))).toEqual(["q0", "q1", "q2", "q3"]);
    expect(recall(exchanges, 0)).toEqual([]);
    expect(recall(exchanges, -1)).toEqual([]);
    const added = { prompt: "q4", answer: "a4" };
    expect(prompts(remember(exchanges, added, 2))).toEqual(["q3", "q4"]);
    expect(prompts(remember(exchanges, added, 1))).toEqual(["q4"]);
    expect(prompts(remember(exchanges, added, 5))).toEqual(["q0", "q1", "q2", "q3", "q4"]);
    expect(prompts(remember(exchanges, added, 10))).toEqual(["q0", "q1", "q2", "q3", "q4"]);
    expect(remember(exchanges, added, 0)).toEqual([]);
    expect(remember([], added, 3)).toEqual([added]);
    // The memory it was given stays as it was.
    expect(prompts(exchanges)).toEqual(["q0", "q1", "q2", "q3"]);
  });

  it("resolves limits over the defaults", () => {
    expect(limitsOf(null)).toEqual(DEFAULT_LIMITS);
    expect(limitsOf(task(1))).toEqual(DEFAULT_LIMITS);
    expect(limitsOf(task(1, "x", { memoryWindow: 3 }))).toEqual({ ...DEFAULT_LIMITS, memoryWindow: 3 });
  });

  it("turns memory into chat messages before the prompt", () => {
    expect(conversation([{ prompt: "2+2?", answer: "4" }], "and times 3?")).toEqual([
      { role: "user", content: "2+2?" },
      { role: "assistant", content: "4" },
      { role: "user", content: "and times 3?" },
    ]);
    expect(conversation([], "hi")).toEqual([{ role: "user", content: "hi" }]);
  });
});

describe("agent machine: persisted snapshots", () => {
  it("restores mailbox and memory from a JSON round trip and carries on", async () => {
    const model = manualModel();
    const { actor } = start(model);
    actor.send({ type: "task.received", task: task(1, "first") });
    await tick();
    model.pending[0]!.resolve(model.answer("first answer"));
    await waitFor(actor, (s) => s.matches("idle"));
    actor.send({ type: "task.received", task: task(2, "second") });
    actor.send({ type: "task.received", task: task(3, "third") });
    await tick();
    const stored = JSON.stringify(actor.getPersistedSnapshot());
    actor.stop();

    const again = manualModel();
    const { actor: restoredActor } = start(again, { stored });
    const context = restoredActor.getSnapshot().context;
    expect(context.mailbox.map((t) => t.prompt)).toEqual(["third"]);
    expect(context.current?.prompt).toBe("second");
    expect(context.memory).toEqual([{ prompt: "first", answer: "first answer" }]);
    // A snapshot holds no running call: `agent.resume` (the host sends it) starts it again
    // (effects are idempotent); the rest follows as before.
    await tick();
    expect(again.pending).toHaveLength(0);
    restoredActor.send({ type: "agent.resume" });
    await tick();
    expect(again.pending.map((call) => call.task.prompt)).toEqual(["second"]);
    expect(again.pending[0]!.input.memory).toEqual([{ prompt: "first", answer: "first answer" }]);
    again.pending[0]!.resolve(again.answer("second answer"));
    await tick();
    expect(again.pending[1]!.task.prompt).toBe("third");
    expect(again.pending[1]!.input.memory.map((e) => e.prompt)).toEqual(["first", "second"]);
  });

  it("re-arms the deadline and back-off on agent.resume (XState does not restore timers)", async () => {
    const model = manualModel();
    const { actor } = start(model);
    actor.send({ type: "task.received", task: task(1, "flaky", { timeoutMs: 10_000 }) });
    await tick();
    model.pending[0]!.reject(retryable("HTTP 503"));
    await tick();
    expect(actor.getSnapshot().matches({ working: "backoff" })).toBe(true);
    const stored = JSON.stringify(actor.getPersistedSnapshot());
    actor.stop();

    const again = manualModel();
    const { actor: restoredActor, clock } = start(again, { stored });
    clock.increment(60_000);
    expect(again.pending).toHaveLength(0);
    restoredActor.send({ type: "agent.resume" });
    expect(again.pending).toHaveLength(1);
    expect(again.pending[0]!.input.attempt).toBe(2);
    clock.increment(10_000);
    expect(restoredActor.getSnapshot().context.last).toMatchObject({ ok: false, error: { code: "TIMEOUT" } });
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

    const started = Date.parse("2026-01-01T00:00:00.000Z");
    const finished = Date.parse("2026-01-01T00:00:01.250Z");
    const at = (now: number) => ({ workerId: "w1", now, startedAt: () => started });
    const [initial, working] = snapshots;
    expect(initial?.value).toBe("idle");
    expect(working?.matches("working")).toBe(true);
    expect(statusEvents(undefined, initial!, at(started))).toMatchObject([{ status: "IDLE", queued: 0 }]);
    const runningEvents = statusEvents(initial, working!, at(started));
    expect(runningEvents).toHaveLength(1);
    expect(runningEvents[0]).toMatchObject({ status: "BUSY", execution: { status: "RUNNING", executionId: task(1).executionId, attempt: 1 } });

    const done = statusEvents(working, snapshots.at(-1)!, at(finished));
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({
      type: "agent.status.changed",
      orgId,
      agentId,
      status: "IDLE",
      workerId: "w1",
      execution: { status: "COMPLETED", output: "done", durationMs: 1250, usage: { promptTokens: 3, completionTokens: 5 }, attempt: 1 },
    });
    expect(statusEvents(snapshots.at(-1), snapshots.at(-1)!, at(finished))).toEqual([]);
  });

  it("keeps a fraction of a millisecond in event times, and whole-millisecond durations", async () => {
    const model = manualModel();
    const { actor, snapshots } = start(model);
    actor.send({ type: "task.received", task: task(1) });
    await tick();
    model.pending[0]!.resolve(model.answer("done"));
    await waitFor(actor, (s) => s.matches("idle"));
    const started = Date.parse("2026-01-01T00:00:00.000Z");
    const [initial, working] = snapshots;
    const running = statusEvents(initial, working!, { workerId: "w1", now: started + 0.001, startedAt: () => undefined });
    expect(running[0]?.at).toBe("2026-01-01T00:00:00.000001Z");
    const ended = statusEvents(working, snapshots.at(-1)!, { workerId: "w1", now: started + 2.5, startedAt: () => started });
    expect(ended[0]).toMatchObject({ at: "2026-01-01T00:00:00.002500Z", execution: { status: "COMPLETED", durationMs: 3 } });
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
    const events = statusEvents(before, after, { workerId: "w1", now: Date.now(), startedAt: () => undefined });
    expect(events.map((e) => [e.execution?.executionId, e.execution?.status])).toEqual([
      [task(1).executionId, "COMPLETED"],
      [task(2).executionId, "RUNNING"],
    ]);
    expect(events.every((e) => e.status === "BUSY")).toBe(true);
    expect(snapshots.length).toBeGreaterThan(0);
  });

  it("names the model that was called in a failed ending, not in a task cancelled before its call", async () => {
    const model = manualModel();
    const { actor } = start(model);
    actor.send({ type: "task.received", task: task(1, "fails", { maxRetries: 0 }) });
    actor.send({ type: "task.received", task: task(2) });
    await tick();
    const before = actor.getSnapshot();
    actor.send({ type: "task.cancel", executionId: task(2).executionId });
    const [cancelled] = statusEvents(before, actor.getSnapshot(), meta());
    expect(cancelled?.execution).toMatchObject({ status: "CANCELLED" });
    expect(cancelled?.execution?.provider).toBeUndefined();
    const beforeFailure = actor.getSnapshot();
    model.pending[0]!.reject(new NeuroflowError("PROVIDER_ERROR", "no", { retryable: false }));
    await waitFor(actor, (s) => s.matches("failed"));
    expect(statusEvents(beforeFailure, actor.getSnapshot(), meta())).toEqual([
      expect.objectContaining({ status: "ERROR", execution: expect.objectContaining({ status: "FAILED", provider: "simulated", model: "sim-1", attempt: 1 }) }),
    ]);
  });

  it("reports a TIMEOUT as a FAILED execution and the agent as ERROR", async () => {
    const model = manualModel();
    const { actor, clock } = start(model);
    actor.send({ type: "task.received", task: task(1, "slow", { timeoutMs: 50 }) });
    const before = actor.getSnapshot();
    clock.increment(50);
    expect(statusEvents(before, actor.getSnapshot(), meta())).toEqual([
      expect.objectContaining({ status: "ERROR", execution: expect.objectContaining({ status: "FAILED", error: expect.objectContaining({ code: "TIMEOUT" }) }) }),
    ]);
  });
});
