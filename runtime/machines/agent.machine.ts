import { assign, fromPromise, setup } from "xstate";
import {
  NeuroflowError,
  type AgentStatus,
  type AgentTask,
  type ModelProviderName,
  type TokenUsage,
  type WireError,
} from "../protocol/index.js";

/**
 * One agent as an actor: a mailbox of tasks worked one at a time. Pure: the model call is the
 * `callModel` actor, provided at the wiring layer (runtime/actors/call-model.actor.ts) and swapped
 * in tests. A failed call is state (`failed`, status ERROR), never an exception at the caller; the
 * agent still takes the next task.
 */

export interface ModelAnswer {
  text: string;
  usage: TokenUsage;
  provider: ModelProviderName;
  model: string;
  /** Cost of the call in millionths of a US dollar (whole numbers add up without drift). */
  costMicroUsd: number;
}

/** The outcome of the agent's most recent task. */
export type TaskOutcome =
  | { executionId: string; ok: true; answer: ModelAnswer }
  | { executionId: string; ok: false; error: WireError };

export interface AgentContext {
  orgId: string;
  agentId: string;
  /** Tasks waiting while the agent works; first in, first out. */
  mailbox: AgentTask[];
  current: AgentTask | null;
  last: TaskOutcome | null;
}

export type AgentEvent = { type: "task.received"; task: AgentTask };

export interface AgentInput {
  orgId: string;
  agentId: string;
}

export const agentMachine = setup({
  types: {
    context: {} as AgentContext,
    events: {} as AgentEvent,
    input: {} as AgentInput,
  },
  actors: {
    callModel: fromPromise<ModelAnswer, { task: AgentTask }>(async () => {
      throw new NeuroflowError("INTERNAL", "callModel is not provided");
    }),
  },
  actions: {
    startTask: assign({ current: (_, params: { task: AgentTask }) => params.task }),
    enqueue: assign({ mailbox: ({ context }, params: { task: AgentTask }) => [...context.mailbox, params.task] }),
    takeNext: assign({
      current: ({ context }) => context.mailbox[0] ?? null,
      mailbox: ({ context }) => context.mailbox.slice(1),
    }),
    finish: assign({ current: null }),
  },
  guards: {
    hasMail: ({ context }) => context.mailbox.length > 0,
    lastFailed: ({ context }) => context.last?.ok === false,
  },
}).createMachine({
  id: "agent",
  context: ({ input }) => ({ orgId: input.orgId, agentId: input.agentId, mailbox: [], current: null, last: null }),
  initial: "idle",
  states: {
    idle: {
      on: { "task.received": { target: "working", actions: { type: "startTask", params: ({ event }) => ({ task: event.task }) } } },
    },
    working: {
      invoke: {
        src: "callModel",
        input: ({ context }) => {
          if (!context.current) throw new NeuroflowError("INTERNAL", "working without a current task");
          return { task: context.current };
        },
        onDone: {
          target: "settling",
          actions: assign({
            last: ({ context, event }) => ({ executionId: context.current?.executionId ?? "", ok: true, answer: event.output }),
          }),
        },
        onError: {
          target: "settling",
          actions: assign({
            last: ({ context, event }) => ({
              executionId: context.current?.executionId ?? "",
              ok: false,
              error: NeuroflowError.toWire(event.error),
            }),
          }),
        },
      },
      on: { "task.received": { actions: { type: "enqueue", params: ({ event }) => ({ task: event.task }) } } },
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
      on: { "task.received": { target: "working", actions: { type: "startTask", params: ({ event }) => ({ task: event.task }) } } },
    },
  },
});

/** The agent status each resting state stands for. */
export function agentStatusOf(state: string): AgentStatus {
  switch (state) {
    case "working":
    case "settling":
      return "BUSY";
    case "failed":
      return "ERROR";
    default:
      return "IDLE";
  }
}
