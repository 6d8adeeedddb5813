import { fromPromise } from "xstate";
import type { AgentProfile, AgentTask } from "../protocol/index.js";
import type { ModelAnswer } from "../machines/agent.machine.js";
import { costOf, type PriceTable } from "../providers/prices.js";
import type { ProviderRegistry } from "../providers/provider.js";

/** The system prompt an agent's personality and capabilities stand for. */
export function systemPrompt(agent: AgentProfile): string {
  const lines = [agent.personality.systemPrompt ?? `You are ${agent.name}, an AI agent.`];
  if (agent.personality.tone) lines.push(`Tone: ${agent.personality.tone}.`);
  if (agent.personality.traits?.length) lines.push(`Traits: ${agent.personality.traits.join(", ")}.`);
  if (agent.capabilities.length) lines.push(`Capabilities: ${agent.capabilities.join(", ")}.`);
  return lines.join("\n");
}

/**
 * The agent machine's `callModel` effect over a provider registry. Rejects with the provider's
 * NeuroflowError (the machine turns it into `failed` state).
 */
export function createCallModel(deps: { providers: ProviderRegistry; prices: PriceTable }) {
  return fromPromise<ModelAnswer, { task: AgentTask }>(async ({ input, signal }) => {
    const { agent, prompt } = input.task;
    const provider = deps.providers.get(agent.modelConfig.provider);
    const response = await provider.complete({
      model: agent.modelConfig.model,
      system: systemPrompt(agent),
      messages: [{ role: "user", content: prompt }],
      temperature: agent.modelConfig.temperature,
      maxTokens: agent.modelConfig.maxTokens,
      simulated: agent.modelConfig.simulated,
      signal,
    });
    const cost = costOf(deps.prices, provider.name, response.model, response.usage);
    return { text: response.text, usage: response.usage, provider: provider.name, model: response.model, costMicroUsd: cost.microUsd };
  });
}
