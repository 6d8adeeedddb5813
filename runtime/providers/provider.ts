import { NeuroflowError, type AnswerKey, type ModelProviderName, type TokenUsage } from "../protocol/index.js";

export interface ChatMessage {
  role: "user" | "assistant";
  content: string;
}

/** A function the model may ask the caller to run; `parameters` is a JSON Schema object. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** One tool call the model asked for, its arguments already parsed from the model's JSON. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: unknown;
}

/**
 * Why the model stopped: it finished ("stop"), hit `maxTokens` ("length"), wants tools run
 * ("tool_calls"), or the vendor cut it off (content filter, refusal: "error").
 */
export type StopReason = "stop" | "length" | "tool_calls" | "error";

export interface ModelRequest {
  model: string;
  system: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  /**
   * Per-agent options of the simulated provider (ModelConfig.simulated); others ignore them.
   * `accuracy` (0..1, default 1) is the chance of answering a task with an `answerKey` correctly.
   */
  simulated?: { latencyMs?: number; seed?: number; accuracy?: number };
  /**
   * The known answer of an experiment task (AgentTask.answerKey). Only the simulated provider reads
   * it, to answer right with the agent's `simulated.accuracy`; the real providers never send it to a
   * model (it is not part of the prompt, and they build their request bodies without it).
   */
  answerKey?: AnswerKey;
  /** Aborts the call (task cancelled, actor stopped). */
  signal?: AbortSignal;
  /** Tools the model may call; providers that cannot call tools ignore them. */
  tools?: ToolSpec[];
  /**
   * Streaming providers call it with each piece of answer text as it arrives, in order, never with
   * an empty string (the simulated provider does not stream and never calls it). A throw from it
   * ends the call and reaches the caller unchanged.
   */
  onDelta?: (text: string) => void;
}

export interface ModelResponse {
  text: string;
  usage: TokenUsage;
  model: string;
  /** The tools the model asked to run, in the order it asked; absent when it asked for none. */
  toolCalls?: ToolCall[];
  stopReason?: StopReason;
  /** True when the server reported no usage and `usage` was estimated from the text. */
  usageEstimated?: boolean;
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
