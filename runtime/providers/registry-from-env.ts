import { z } from "zod";
import { createAnthropicProvider } from "./anthropic.provider.js";
import { createOpenAiProvider } from "./openai.provider.js";
import { ProviderRegistry, type ModelProvider } from "./provider.js";
import { createSimulatedProvider, type SimulatedProviderOptions } from "./simulated.provider.js";

// Compose files and shells often set a variable to "" to mean "not set".
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === "" ? undefined : value), schema.optional());

/** The model-provider part of a runtime worker's environment. */
export const providerEnvSchema = z.object({
  OPENAI_API_KEY: optional(z.string()),
  OPENAI_BASE_URL: optional(z.url({ protocol: /^https?$/ })),
  ANTHROPIC_API_KEY: optional(z.string()),
  ANTHROPIC_BASE_URL: optional(z.url({ protocol: /^https?$/ })),
  MODEL_TIMEOUT_MS: optional(z.coerce.number().int().positive().max(3_600_000)).transform((value) => value ?? 60_000),
});
export type ProviderEnv = z.infer<typeof providerEnvSchema>;

export interface ProvidersFromEnvOptions {
  /** Options of the always-present simulated provider (the worker's SIMULATED_* settings). */
  simulated?: SimulatedProviderOptions;
  /** Passed to the HTTP providers; tests and proxies inject one. */
  fetch?: typeof fetch;
}

/**
 * The providers a worker can use: `simulated` always; `openai` when OPENAI_API_KEY or
 * OPENAI_BASE_URL is set (a base URL alone serves keyless local servers such as Ollama);
 * `anthropic` when ANTHROPIC_API_KEY is set. Each call is bounded by MODEL_TIMEOUT_MS (default
 * 60000).
 *
 * Throws an Error naming each invalid variable (never its value, which may be a key).
 */
export function providersFromEnv(env: NodeJS.ProcessEnv, options: ProvidersFromEnvOptions = {}): ProviderRegistry {
  const parsed = providerEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new Error(`invalid model provider environment: ${problems}`);
  }
  const config = parsed.data;
  const providers: ModelProvider[] = [createSimulatedProvider(options.simulated)];
  if (config.OPENAI_API_KEY !== undefined || config.OPENAI_BASE_URL !== undefined) {
    providers.push(
      createOpenAiProvider({
        apiKey: config.OPENAI_API_KEY,
        baseUrl: config.OPENAI_BASE_URL,
        timeoutMs: config.MODEL_TIMEOUT_MS,
        fetch: options.fetch,
      }),
    );
  }
  if (config.ANTHROPIC_API_KEY !== undefined) {
    providers.push(
      createAnthropicProvider({
        apiKey: config.ANTHROPIC_API_KEY,
        baseUrl: config.ANTHROPIC_BASE_URL,
        timeoutMs: config.MODEL_TIMEOUT_MS,
        fetch: options.fetch,
      }),
    );
  }
  return new ProviderRegistry(providers);
}
