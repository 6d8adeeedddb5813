import { assign, fromPromise, setup, type StateValue } from "xstate";
import {
  NeuroflowError,
  type AgentStatus,
  type AgentTask,
  type ExecutionStatus,
  type ModelProviderName,
  type TokenUsage,
  type WireError,
} from "../protocol/index.js";
import { limitsOf } from "./agent-limits.js";
import { recall, remember, type Exchange } from "./agent-memory.js";
import { retryDelayMs } from "./agent-retry.js";

/**
 * One agent as an actor: a mailbox of tasks worked one at a time. Pure: the model call is the
 * `callModel` actor, provided at the wiring layer (runtime/actors/call-model.actor.ts) and swapped
 * in tests, and time passes only through XState's clock (`after`), so tests drive it with a
 * SimulatedClock. A failed call is state (`failed`, status ERROR), never an exception at the
 * caller; the agent still takes the next task.
 *
 * Per task: retryable failures are tried again after an exponential back-off (agent-retry.ts),
 * the whole task has a deadline (TIMEOUT), and `task.cancel` ends it (CANCELLED). Leaving
 * `working` stops the invoked call, which aborts its signal.
 */

export type { Exchange } from "./agent-memory.js";

export interface ModelAnswer {
  text: string;
  usage: TokenUsage;
  provider: ModelProviderName;
  model: string;
  /** Cost of the call in millionths of a US dollar (whole numbers add up without drift). */
  costMicroUsd: number;
}

/** What one model call gets: the task, the conversation so far (oldest first), which try it is. */
export interface CallModelInput {
  task: AgentTask;
  memory: Exchange[];
  /** 1 for the first call of the task, 2 for its first retry, … */
  attempt: number;
}

/**
 * The outcome of the agent's most recent task. `attempts` counts the model calls made (0 for a
 * task cancelled before it started). A cancellation is a failure with the CANCELLED code.
 */
export type TaskOutcome =
  | { executionId: string; ok: true; answer: ModelAnswer; attempts: number }
  | { executionId: string; ok: false; error: WireError; attempts: number };

export interface AgentContext {
  orgId: string;
  agentId: string;
  /** Tasks waiting while the agent works; first in, first out. */
  mailbox: AgentTask[];
  current: AgentTask | null;
  /** Model calls started for `current` so far. */
  attempt: number;
  /** The back-off before the next attempt, decided when the last one failed. */
  retryDelayMs: number;
  last: TaskOutcome | null;
  /** Recent exchanges, oldest first, bounded by the task's memory window; sent with each call. */
  memory: Exchange[];
}

export type AgentEvent =
  /** A task to work; one whose execution is already current or queued is ignored (redelivery). */
  | { type: "task.received"; task: AgentTask }
  /** Cancels the current or a queued task; an unknown execution is ignored. */
  | { type: "task.cancel"; executionId: string }
  /**
   * Send after restoring a snapshot: XState does not re-arm `after` timers on restore
   * (statelyai/xstate#5331), so a task restored mid-way restarts its call, deadline and back-off.
   */
  | { type: "agent.resume" };

export interface AgentInput {
  orgId: string;
  agentId: string;
}

/** The wire error of a cancelled task. */
export const cancelledError = (): WireError => ({ code: "CANCELLED", message: "task cancelled", retryable: false });

/** The wire error of a task that ran past its deadline; retrying it is the submitter's call. */
export const timeoutError = (timeoutMs: number, attempts: number): WireError => ({
  code: "TIMEOUT",
  message: `task timed out after ${timeoutMs} ms (${attempts} model call${attempts === 1 ? "" : "s"})`,
  retryable: false,
});

/** The execution status an outcome stands for. */
export function outcomeStatus(outcome: TaskOutcome): Extract<ExecutionStatus, "COMPLETED" | "FAILED" | "CANCELLED"> {
  if (outcome.ok) return "COMPLETED";
  return outcome.error.code === "CANCELLED" ? "CANCELLED" : "FAILED";
}

function failure(context: AgentContext, error: WireError): TaskOutcome {
  return { executionId: context.current?.executionId ?? "", ok: false, error, attempts: context.attempt };
}

function requireCurrent(context: AgentContext): AgentTask {
  if (!context.current) throw new NeuroflowError("INTERNAL", "working without a current task");
  return context.current;
}

const restTask = { attempt: 0, retryDelayMs: 0 } as const;

export const agentMachine = setup({
  types: {
    context: {} as AgentContext,
    events: {} as AgentEvent,
    input: {} as AgentInput,
  },
  actors: {
    callModel: fromPromise<ModelAnswer, CallModelInput>(async () => {
      throw new NeuroflowError("INTERNAL", "callModel is not provided");
    }),
  },
  delays: {
    taskTimeout: ({ context }) => limitsOf(context.current).timeoutMs,
    retryDelay: ({ context }) => context.retryDelayMs,
  },
  actions: {
    startTask: assign((_, params: { task: AgentTask }) => ({ current: params.task, ...restTask })),
    enqueue: assign({ mailbox: ({ context }, params: { task: AgentTask }) => [...context.mailbox, params.task] }),
    takeNext: assign(({ context }) => ({ current: context.mailbox[0] ?? null, mailbox: context.mailbox.slice(1), ...restTask })),
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    timeOut: assign({ last: ({ context }) => failure(context, timeoutError(limitsOf(context.current).timeoutMs, context.attempt)) }),
    cancelCurrent: assign({ last: ({ context }) => failure(context, cancelledError()) }),
    dropQueued: assign(({ context }, params: { executionId: string }) => ({
      mailbox: context.mailbox.filter((task) => task.executionId !== params.executionId),
      last: { executionId: params.executionId, ok: false, error: cancelledError(), attempts: 0 } satisfies TaskOutcome,
    })),
    finish: assign({ current: null, ...restTask }),
  },
  guards: {
    hasMail: ({ context }) => context.mailbox.length > 0,
    lastFailed: ({ context }) => context.last !== null && outcomeStatus(context.last) === "FAILED",
    isCurrent: ({ context }, params: { executionId: string }) => context.current?.executionId === params.executionId,
    isQueued: ({ context }, params: { executionId: string }) => context.mailbox.some((task) => task.executionId === params.executionId),
    /**
     * A redelivered task (the durable queue delivers at least once) is already current or queued:
     * taking it again would run it twice. One that already ended is caught by the host's outcome store.
     */
    isNewTask: ({ context }, params: { executionId: string }) =>
      context.current?.executionId !== params.executionId && !context.mailbox.some((task) => task.executionId === params.executionId),
  },
}).createMachine({
  id: "agent",
  context: ({ input }) => ({
    orgId: input.orgId,
    agentId: input.agentId,
    mailbox: [],
    current: null,
    ...restTask,
    last: null,
    memory: [],
  }),
  initial: "idle",
  on: {
    // Only `working` has a mailbox to take from; elsewhere it is empty and the event is ignored.
    "task.cancel": {
      guard: { type: "isQueued", params: ({ event }) => ({ executionId: event.executionId }) },
      actions: { type: "dropQueued", params: ({ event }) => ({ executionId: event.executionId }) },
    },
  },
  states: {
    idle: {
      on: {
        "task.received": {
          guard: { type: "isNewTask", params: ({ event }) => ({ executionId: event.task.executionId }) },
          target: "working",
          actions: { type: "startTask", params: ({ event }) => ({ task: event.task }) },
        },
      },
    },
    /** One task, from its first call to its outcome; the deadline spans every attempt and back-off. */
    working: {
      initial: "calling",
      after: { taskTimeout: { target: "settling", actions: "timeOut" } },
      on: {
        "task.received": {
          guard: { type: "isNewTask", params: ({ event }) => ({ executionId: event.task.executionId }) },
          actions: { type: "enqueue", params: ({ event }) => ({ task: event.task }) },
        },
        "task.cancel": {
          guard: { type: "isCurrent", params: ({ event }) => ({ executionId: event.executionId }) },
          target: "settling",
          actions: "cancelCurrent",
        },
        "agent.resume": { target: "working", reenter: true },
      },
      states: {
        calling: {
          entry: "countAttempt",
          invoke: {
            src: "callModel",
            input: ({ context }) => {
              const task = requireCurrent(context);
              return { task, memory: recall(context.memory, limitsOf(task).memoryWindow), attempt: context.attempt };
            },
            onDone: {
              target: "#agent.settling",
              actions: assign(({ context, event }) => {
                const task = requireCurrent(context);
                return {
                  last: { executionId: task.executionId, ok: true, answer: event.output, attempts: context.attempt } satisfies TaskOutcome,
                  memory: remember(context.memory, { prompt: task.prompt, answer: event.output.text }, limitsOf(task).memoryWindow),
                };
              }),
            },
            onError: [
              {
                guard: ({ context, event }) =>
                  retryDelayMs(event.error, requireCurrent(context).executionId, context.attempt, limitsOf(context.current)) !== undefined,
                target: "backoff",
                actions: assign({
                  retryDelayMs: ({ context, event }) =>
                    retryDelayMs(event.error, requireCurrent(context).executionId, context.attempt, limitsOf(context.current)) ?? 0,
                }),
              },
              { target: "#agent.settling", actions: assign({ last: ({ context, event }) => failure(context, NeuroflowError.toWire(event.error)) }) },
            ],
          },
        },
        /** Waiting out the back-off before the next call. */
        backoff: {
          after: { retryDelay: { target: "calling" } },
        },
      },
    },
    /** Transient: pick the next task or rest. Never observed from outside. */
    settling: {
      always: [
        { guard: "hasMail", target: "working", actions: "takeNext" },
        { guard: "lastFailed", target: "failed", actions: "finish" },
        { target: "idle", actions: "finish" },
      ],
    },
    /** The last task failed. Status ERROR until the next task starts. */
    failed: {
      on: {
        "task.received": {
          guard: { type: "isNewTask", params: ({ event }) => ({ executionId: event.task.executionId }) },
          target: "working",
          actions: { type: "startTask", params: ({ event }) => ({ task: event.task }) },
        },
      },
    },
  },
});

/** The agent status a state value stands for (`working` and its substates are BUSY). */
export function agentStatusOf(state: StateValue): AgentStatus {
  const top = typeof state === "string" ? state : Object.keys(state)[0];
  switch (top) {
    case "working":
    case "settling":
      return "BUSY";
    case "failed":
      return "ERROR";
    default:
      return "IDLE";
  }
}
