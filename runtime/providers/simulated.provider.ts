import { NeuroflowError } from "../protocol/index.js";
import type { ModelProvider, ModelRequest, ModelResponse } from "./provider.js";

export interface SimulatedProviderOptions {
  /** Same seed + same request → same answer. */
  seed?: number;
  /** Simulated thinking time per call, in ms. */
  latencyMs?: number;
  /** Injected for tests; resolves after `ms` or rejects when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const openings = [
  "Here is my take",
  "Short answer",
  "Having thought it through",
  "From what I can tell",
  "My recommendation",
  "In brief",
];

/** FNV-1a, 32 bit: a small, stable hash so answers are deterministic across processes. */
export function fnv1a(text: string, seed = 0): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Roughly four characters per token, as the common BPE tokenizers average on English. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(new NeuroflowError("PROVIDER_ERROR", "model call aborted"));
      },
      { once: true },
    );
  });
}

/**
 * The offline model: deterministic answers from a seed, token counts from text length, and a
 * configurable latency. The default provider wherever no API key is configured.
 */
export function createSimulatedProvider(options: SimulatedProviderOptions = {}): ModelProvider {
  const seed = options.seed ?? 42;
  const latencyMs = options.latencyMs ?? 0;
  const sleep = options.sleep ?? defaultSleep;
  return {
    name: "simulated",
    async complete(request: ModelRequest): Promise<ModelResponse> {
      const prompt = request.messages.at(-1)?.content ?? "";
      await sleep(request.simulated?.latencyMs ?? latencyMs, request.signal);
      const hash = fnv1a(`${request.system}\n${prompt}`, request.simulated?.seed ?? seed);
      const opening = openings[hash % openings.length] ?? openings[0];
      const summary = prompt.length > 120 ? `${prompt.slice(0, 117)}...` : prompt;
      let text = `${opening}: on "${summary}", I would start with the simplest option and verify it (#${(hash % 10_000).toString().padStart(4, "0")}).`;
      if (request.maxTokens !== undefined && estimateTokens(text) > request.maxTokens) {
        text = text.slice(0, request.maxTokens * 4);
      }
      const promptText = [request.system, ...request.messages.map((m) => m.content)].join("\n");
      return {
        text,
        model: request.model,
        usage: { promptTokens: estimateTokens(promptText), completionTokens: estimateTokens(text) },
      };
    },
  };
}
