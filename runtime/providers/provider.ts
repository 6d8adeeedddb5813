import { NeuroflowError, type ModelProviderName, type TokenUsage } from "../protocol/index.js";

export interface ChatMessage {
  role: "user" | "assistant";
  content: string;
}

export interface ModelRequest {
  model: string;
  system: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  /** Per-agent options of the simulated provider (ModelConfig.simulated); others ignore them. */
  simulated?: { latencyMs?: number; seed?: number };
  /** Aborts the call (task cancelled, actor stopped). */
  signal?: AbortSignal;
}

export interface ModelResponse {
  text: string;
  usage: TokenUsage;
  model: string;
}

/**
 * A model API. Implementations reject with a NeuroflowError: PROVIDER_ERROR (retryable when the
 * provider says so, e.g. 429/5xx), TIMEOUT, or UNAVAILABLE.
 */
export interface ModelProvider {
  readonly name: ModelProviderName;
  complete(request: ModelRequest): Promise<ModelResponse>;
}

/** The providers a worker has credentials for, by name. */
export class ProviderRegistry {
  readonly #providers = new Map<ModelProviderName, ModelProvider>();

  constructor(providers: ModelProvider[]) {
    for (const provider of providers) this.#providers.set(provider.name, provider);
  }

  /** Throws PROVIDER_ERROR when this worker has no such provider configured. */
  get(name: ModelProviderName): ModelProvider {
    const provider = this.#providers.get(name);
    if (!provider) {
      throw new NeuroflowError("PROVIDER_ERROR", `model provider "${name}" is not configured on this worker`);
    }
    return provider;
  }
}
