import { assign, raise, setup, type StateValue } from "xstate";
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
 * One agent as an actor: a mailbox of tasks worked one at a time. Pure: the model call is the pair
 * of actions `startModelCall` / `stopModelCall`, provided at the wiring layer
 * (runtime/actors/call-model.actor.ts, `modelCallActions`) and swapped in tests, and time passes
 * only through XState's clock (`after`), so tests drive it with a SimulatedClock. A failed call is
 * state (`failed`, status ERROR), never an exception at the caller; the agent still takes the next
 * task.
 *
 * The call is an action that starts the effect and has it send `model.done` / `model.failed` back,
 * tagged with the execution and attempt, rather than an invoked `fromPromise` actor: a child actor
 * per call was a third of a worker's CPU per agent call (bench/README.md). Leaving `calling` runs
 * `stopModelCall`, which aborts the call's signal; a result of a call the agent no longer waits for
 * is dropped by the effect and, should one arrive, ignored by the `isStale` guard.
 *
 * Per task: retryable failures are tried again after an exponential back-off (agent-retry.ts),
 * the whole task has a deadline (TIMEOUT), and `task.cancel` ends it (CANCELLED). A task's end
 * takes the next one from the mailbox in the same transition (no transient state between tasks).
 * A snapshot restores no running call: after restoring one taken mid-task, send `agent.resume`.
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
  memory: readonly Exchange[];
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
   * (statelyai/xstate#5331) and a snapshot holds no running call, so a task restored mid-way
   * restarts its call, deadline and back-off.
   */
  | { type: "agent.resume" }
  /** The model call `attempt` of `executionId` answered (sent by the `startModelCall` effect). */
  | { type: "model.done"; executionId: string; attempt: number; output: ModelAnswer }
  /** The model call `attempt` of `executionId` failed; `error` as the provider threw it. */
  | { type: "model.failed"; executionId: string; attempt: number; error: unknown };

/** What `startModelCall` is given: the call's input, tagged with the execution it belongs to. */
export interface ModelCallParams extends CallModelInput {
  executionId: string;
}

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

/**
 * The context fields that start the mailbox's first task. Its first call is counted here (attempt
 * 1), as `startTask` does, rather than on entry to `calling`: that was one more assign per task, and
 * each assign copies context and snapshot. Only for transitions that enter `calling`.
 */
function nextOfMailbox(context: AgentContext) {
  return { current: context.mailbox[0] ?? null, mailbox: context.mailbox.slice(1), attempt: 1, retryDelayMs: 0 };
}

/** The outcome of the current task answered with `output`. */
function answerOf(context: AgentContext, output: ModelAnswer): TaskOutcome {
  return { executionId: requireCurrent(context).executionId, ok: true, answer: output, attempts: context.attempt };
}

/** The memory with the current task's exchange added. */
function rememberAnswer(context: AgentContext, output: ModelAnswer): Exchange[] {
  const task = requireCurrent(context);
  return remember(context.memory, { prompt: task.prompt, answer: output.text }, limitsOf(task).memoryWindow);
}

type ModelDone = Extract<AgentEvent, { type: "model.done" }>;
type ModelFailed = Extract<AgentEvent, { type: "model.failed" }>;

/** The back-off before retrying the failed call, or undefined when the task fails now. */
function retryOf(context: AgentContext, event: ModelFailed): number | undefined {
  return retryDelayMs(event.error, requireCurrent(context).executionId, context.attempt, limitsOf(context.current));
}

export const agentMachine = setup({
  types: {
    context: {} as AgentContext,
    events: {} as AgentEvent,
    input: {} as AgentInput,
  },
  delays: {
    taskTimeout: ({ context }) => limitsOf(context.current).timeoutMs,
    retryDelay: ({ context }) => context.retryDelayMs,
  },
  actions: {
    /**
     * The model call, provided at the wiring layer: starts it and, unless `stopModelCall` came
     * first, sends `model.done` or `model.failed` with the params' executionId and attempt. Not
     * provided, every call fails at once with INTERNAL.
     */
    startModelCall: raise((_, params: ModelCallParams) => ({
      type: "model.failed" as const,
      executionId: params.executionId,
      attempt: params.attempt,
      error: new NeuroflowError("INTERNAL", "callModel is not provided"),
    })),
    /** Aborts the running model call (the agent left `calling`: timeout, cancel, resume). */
    stopModelCall: () => undefined,
    /** Starts `task` with its first call counted (see {@link nextOfMailbox}). */
    startTask: assign((_, params: { task: AgentTask }) => ({ current: params.task, attempt: 1, retryDelayMs: 0 })),
    enqueue: assign({ mailbox: ({ context }, params: { task: AgentTask }) => [...context.mailbox, params.task] }),
    takeNext: assign(({ context }) => nextOfMailbox(context)),
    /** Counts a call that is not a task's first: a retry, or the call `agent.resume` restarts. */
    countAttempt: assign(({ context }) => ({ attempt: context.attempt + 1 })),
    /** The answer recorded and the agent at rest, in one assign: the path of most calls. */
    answerAndFinish: assign(({ context }, params: { output: ModelAnswer }) => ({
      last: answerOf(context, params.output),
      memory: rememberAnswer(context, params.output),
      current: null,
      ...restTask,
    })),
    /** The answer recorded and the next task started, in one assign. */
    answerAndTakeNext: assign(({ context }, params: { output: ModelAnswer }) => ({
      last: answerOf(context, params.output),
      memory: rememberAnswer(context, params.output),
      ...nextOfMailbox(context),
    })),
    recordFailure: assign({ last: ({ context }, params: { error: unknown }) => failure(context, NeuroflowError.toWire(params.error)) }),
    planRetry: assign({ retryDelayMs: (_, params: { delayMs: number }) => params.delayMs }),
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
    isCurrent: ({ context }, params: { executionId: string }) => context.current?.executionId === params.executionId,
    isQueued: ({ context }, params: { executionId: string }) => context.mailbox.some((task) => task.executionId === params.executionId),
    /**
     * A redelivered task (the durable queue delivers at least once) is already current or queued:
     * taking it again would run it twice. One that already ended is caught by the host's outcome store.
     */
    isNewTask: ({ context }, params: { executionId: string }) =>
      context.current?.executionId !== params.executionId && !context.mailbox.some((task) => task.executionId === params.executionId),
    /** A model result that is not from the call the agent waits for (an earlier attempt or task). */
    isStale: ({ context }, params: { executionId: string; attempt: number }) =>
      context.current?.executionId !== params.executionId || context.attempt !== params.attempt,
    mayRetry: ({ context, event }) => event.type === "model.failed" && retryOf(context, event) !== undefined,
    /** The wire form of the failure is CANCELLED: the task ends as a cancel does (agent IDLE). */
    failsAsCancelled: (_, params: { error: unknown }) => NeuroflowError.toWire(params.error).code === "CANCELLED",
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
    /**
     * One task, from its first call to its outcome; the deadline spans every attempt and back-off.
     * Every way out records the outcome in `last`, then takes the next task (re-entering, which
     * restarts the deadline) or rests: IDLE, or ERROR (`failed`) when the task FAILED.
     */
    working: {
      initial: "calling",
      after: {
        taskTimeout: [
          { guard: "hasMail", target: "working", reenter: true, actions: ["timeOut", "takeNext"] },
          { target: "failed", actions: ["timeOut", "finish"] },
        ],
      },
      on: {
        "task.received": {
          guard: { type: "isNewTask", params: ({ event }) => ({ executionId: event.task.executionId }) },
          actions: { type: "enqueue", params: ({ event }) => ({ task: event.task }) },
        },
        // Not the current task: the root handler takes it out of the mailbox, if it is there.
        "task.cancel": [
          {
            guard: ({ context, event }) => context.current?.executionId === event.executionId && context.mailbox.length > 0,
            target: "working",
            reenter: true,
            actions: ["cancelCurrent", "takeNext"],
          },
          {
            guard: { type: "isCurrent", params: ({ event }) => ({ executionId: event.executionId }) },
            target: "idle",
            actions: ["cancelCurrent", "finish"],
          },
        ],
        "agent.resume": { target: "working", reenter: true, actions: "countAttempt" },
      },
      states: {
        /** One model call. Every transition that enters here has counted it in `attempt` already. */
        calling: {
          entry: {
            type: "startModelCall",
            params: ({ context }) => {
              const task = requireCurrent(context);
              return { executionId: task.executionId, task, memory: recall(context.memory, limitsOf(task).memoryWindow), attempt: context.attempt };
            },
          },
          exit: "stopModelCall",
          on: {
            "model.done": [
              { guard: { type: "isStale", params: ({ event }) => event } },
              {
                guard: "hasMail",
                target: "#agent.working",
                reenter: true,
                actions: { type: "answerAndTakeNext", params: ({ event }: { event: ModelDone }) => event },
              },
              { target: "#agent.idle", actions: { type: "answerAndFinish", params: ({ event }: { event: ModelDone }) => event } },
            ],
            "model.failed": [
              { guard: { type: "isStale", params: ({ event }) => event } },
              {
                guard: "mayRetry",
                target: "backoff",
                actions: { type: "planRetry", params: ({ context, event }) => ({ delayMs: retryOf(context, event) ?? 0 }) },
              },
              {
                guard: "hasMail",
                target: "#agent.working",
                reenter: true,
                actions: [{ type: "recordFailure", params: ({ event }: { event: ModelFailed }) => event }, "takeNext"],
              },
              {
                guard: { type: "failsAsCancelled", params: ({ event }) => event },
                target: "#agent.idle",
                actions: [{ type: "recordFailure", params: ({ event }: { event: ModelFailed }) => event }, "finish"],
              },
              { target: "#agent.failed", actions: [{ type: "recordFailure", params: ({ event }: { event: ModelFailed }) => event }, "finish"] },
            ],
          },
        },
        /** Waiting out the back-off before the next call. */
        backoff: {
          after: { retryDelay: { target: "calling", actions: "countAttempt" } },
        },
      },
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
      return "BUSY";
    case "failed":
      return "ERROR";
    default:
      return "IDLE";
  }
}
