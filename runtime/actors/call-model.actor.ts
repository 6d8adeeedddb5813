import type { AnyActorRef } from "xstate";
import type { AgentProfile, AnswerKey } from "../protocol/index.js";
import type { AgentEvent, CallModelInput, Exchange, ModelAnswer, ModelCallParams } from "../machines/agent.machine.js";
import { costOf, type PriceTable } from "../providers/prices.js";
import type { ChatMessage, ModelRequest, ProviderRegistry } from "../providers/provider.js";

/** The system prompt an agent's personality and capabilities stand for. */
export function systemPrompt(agent: AgentProfile): string {
  // Concatenated rather than joined from an array: it is built for every model call.
  const { personality, capabilities } = agent;
  let prompt = personality.systemPrompt ?? `You are ${agent.name}, an AI agent.`;
  if (personality.tone) prompt += `\nTone: ${personality.tone}.`;
  if (personality.traits?.length) prompt += `\nTraits: ${personality.traits.join(", ")}.`;
  if (capabilities.length) prompt += `\nCapabilities: ${capabilities.join(", ")}.`;
  return prompt;
}

/** The conversation a model call sends: past exchanges, oldest first, then the task's prompt. */
export function conversation(memory: readonly Exchange[], prompt: string): ChatMessage[] {
  // One array filled in place: built for every model call, where flatMap made one per exchange.
  const messages: ChatMessage[] = [];
  for (const exchange of memory) {
    messages.push({ role: "user", content: exchange.prompt }, { role: "assistant", content: exchange.answer });
  }
  messages.push({ role: "user", content: prompt });
  return messages;
}

/**
 * How a model call is aborted. The signal is made when first read: an AbortController cost about
 * a tenth of an agent call's CPU, and most calls (the simulated provider without latency) never
 * read it. Read after the call was stopped, it is already aborted.
 */
export interface ModelCallAbort {
  readonly signal: AbortSignal;
}

/**
 * One model call: resolves with the answer, rejects with the provider's NeuroflowError (the
 * machine retries it when it is retryable, or turns it into `failed` state). Aborting
 * `abort.signal` (timeout, cancel) aborts the call; the providers honour it. Read the signal only
 * when it is needed (hand it on, don't copy it into an unused field): reading it makes it.
 */
export type ModelCall = (input: CallModelInput, abort: ModelCallAbort) => Promise<ModelAnswer>;

/**
 * The request of an agent's model call. `signal` is a getter on the prototype, so the call's
 * AbortController is made only if the provider reads it (a getter in an object literal cost about
 * a microsecond per call). A copy made by spreading the request would have no signal; no provider
 * copies its request.
 */
class AgentCallRequest implements ModelRequest {
  readonly model: string;
  readonly system: string;
  readonly messages: ChatMessage[];
  readonly temperature: number | undefined;
  readonly maxTokens: number | undefined;
  readonly simulated: ModelRequest["simulated"];
  readonly answerKey: AnswerKey | undefined;
  readonly #abort: ModelCallAbort;

  constructor(input: CallModelInput, abort: ModelCallAbort) {
    const { agent, prompt } = input.task;
    this.model = agent.modelConfig.model;
    this.system = systemPrompt(agent);
    this.messages = conversation(input.memory, prompt);
    this.temperature = agent.modelConfig.temperature;
    this.maxTokens = agent.modelConfig.maxTokens;
    this.simulated = agent.modelConfig.simulated;
    this.answerKey = input.task.answerKey;
    this.#abort = abort;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}

/** The model call over a provider registry: the agent's profile picks provider, model and prompt. */
export function createCallModel(deps: { providers: ProviderRegistry; prices: PriceTable }): ModelCall {
  return async (input, abort) => {
    const provider = deps.providers.get(input.task.agent.modelConfig.provider);
    const response = await provider.complete(new AgentCallRequest(input, abort));
    const cost = costOf(deps.prices, provider.name, response.model, response.usage);
    return { text: response.text, usage: response.usage, provider: provider.name, model: response.model, costMicroUsd: cost.microUsd };
  };
}

/** The agent machine's model-call actions over `call`, for `agentMachine.provide({ actions })`. */
export interface ModelCallActions {
  startModelCall: (args: { self: AnyActorRef }, params: ModelCallParams) => void;
  stopModelCall: (args: { self: AnyActorRef }) => void;
}

/**
 * The running call of an agent: `stopped` once the agent no longer waits for it (its result is then
 * dropped), its signal made on first read and aborted by `stop`.
 */
class RunningCall implements ModelCallAbort {
  stopped = false;
  #controller: AbortController | undefined;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.stopped) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  stop(): void {
    this.stopped = true;
    this.#controller?.abort();
  }
}

/**
 * The effect half of the agent machine's model call (see agent.machine.ts): `startModelCall` runs
 * `call` and sends its result back to the agent as `model.done` / `model.failed`, tagged with the
 * execution and attempt; `stopModelCall` aborts the running call of that agent, whose result is
 * then dropped — what stopping an invoked `fromPromise` did, without a child actor per call.
 * An agent has at most one call at a time; starting one aborts any call left running.
 *
 * `abort(agent)` is for an actor stopped from outside (`actor.stop()` runs no exit actions): its
 * running call is aborted and its result dropped. Never throws: a call that throws synchronously
 * fails like a rejected one.
 */
export function modelCallActions(call: ModelCall): { actions: ModelCallActions; abort: (agent: AnyActorRef) => void } {
  const running = new WeakMap<AnyActorRef, RunningCall>();
  const abort = (agent: AnyActorRef) => {
    running.get(agent)?.stop();
    running.delete(agent);
  };
  const settle = (agent: AnyActorRef, settled: RunningCall, event: AgentEvent) => {
    if (settled.stopped) return;
    running.delete(agent);
    agent.send(event);
  };
  const startModelCall: ModelCallActions["startModelCall"] = ({ self }, params) => {
    abort(self);
    const started = new RunningCall();
    running.set(self, started);
    const { executionId, attempt } = params;
    let answer: Promise<ModelAnswer>;
    try {
      answer = call({ task: params.task, memory: params.memory, attempt }, started);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (output) => settle(self, started, { type: "model.done", executionId, attempt, output }),
      (error: unknown) => settle(self, started, { type: "model.failed", executionId, attempt, error }),
    );
  };
  return {
    actions: { startModelCall, stopModelCall: ({ self }) => abort(self) },
    abort,
  };
}
