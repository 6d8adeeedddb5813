import type { AnyActorRef } from "xstate";
import type { AgentProfile } from "../protocol/index.js";
import type { AgentEvent, CallModelInput, Exchange, ModelAnswer, ModelCallParams } from "../machines/agent.machine.js";
import { costOf, type PriceTable } from "../providers/prices.js";
import type { ChatMessage, ProviderRegistry } from "../providers/provider.js";

/** The system prompt an agent's personality and capabilities stand for. */
export function systemPrompt(agent: AgentProfile): string {
  const lines = [agent.personality.systemPrompt ?? `You are ${agent.name}, an AI agent.`];
  if (agent.personality.tone) lines.push(`Tone: ${agent.personality.tone}.`);
  if (agent.personality.traits?.length) lines.push(`Traits: ${agent.personality.traits.join(", ")}.`);
  if (agent.capabilities.length) lines.push(`Capabilities: ${agent.capabilities.join(", ")}.`);
  return lines.join("\n");
}

/** The conversation a model call sends: past exchanges, oldest first, then the task's prompt. */
export function conversation(memory: readonly Exchange[], prompt: string): ChatMessage[] {
  return [
    ...memory.flatMap((exchange): ChatMessage[] => [
      { role: "user", content: exchange.prompt },
      { role: "assistant", content: exchange.answer },
    ]),
    { role: "user", content: prompt },
  ];
}

/**
 * One model call: resolves with the answer, rejects with the provider's NeuroflowError (the
 * machine retries it when it is retryable, or turns it into `failed` state). Aborting `signal`
 * (timeout, cancel) aborts the call; the providers honour it.
 */
export type ModelCall = (input: CallModelInput, signal: AbortSignal) => Promise<ModelAnswer>;

/** The model call over a provider registry: the agent's profile picks provider, model and prompt. */
export function createCallModel(deps: { providers: ProviderRegistry; prices: PriceTable }): ModelCall {
  return async (input, signal) => {
    const { agent, prompt } = input.task;
    const provider = deps.providers.get(agent.modelConfig.provider);
    const response = await provider.complete({
      model: agent.modelConfig.model,
      system: systemPrompt(agent),
      messages: conversation(input.memory, prompt),
      temperature: agent.modelConfig.temperature,
      maxTokens: agent.modelConfig.maxTokens,
      simulated: agent.modelConfig.simulated,
      answerKey: input.task.answerKey,
      signal,
    });
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
  const running = new WeakMap<AnyActorRef, AbortController>();
  const abort = (agent: AnyActorRef) => {
    running.get(agent)?.abort();
    running.delete(agent);
  };
  const startModelCall: ModelCallActions["startModelCall"] = ({ self }, params) => {
    abort(self);
    const controller = new AbortController();
    running.set(self, controller);
    const { executionId, attempt } = params;
    const settle = (event: AgentEvent) => {
      if (controller.signal.aborted) return;
      running.delete(self);
      self.send(event);
    };
    let answer: Promise<ModelAnswer>;
    try {
      answer = call({ task: params.task, memory: params.memory, attempt }, controller.signal);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (output) => settle({ type: "model.done", executionId, attempt, output }),
      (error: unknown) => settle({ type: "model.failed", executionId, attempt, error }),
    );
  };
  return {
    actions: { startModelCall, stopModelCall: ({ self }) => abort(self) },
    abort,
  };
}
