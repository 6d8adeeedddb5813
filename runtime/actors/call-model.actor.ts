import { fromPromise } from "xstate";
import type { AgentProfile } from "../protocol/index.js";
import type { CallModelInput, Exchange, ModelAnswer } from "../machines/agent.machine.js";
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
 * The agent machine's `callModel` effect over a provider registry. Rejects with the provider's
 * NeuroflowError (the machine retries it when it is retryable, or turns it into `failed` state).
 * The machine stopping the call (timeout, cancel) aborts `signal`, which the providers honour.
 */
export function createCallModel(deps: { providers: ProviderRegistry; prices: PriceTable }) {
  return fromPromise<ModelAnswer, CallModelInput>(async ({ input, signal }) => {
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
  });
}
