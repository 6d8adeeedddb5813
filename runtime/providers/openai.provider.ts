import { z } from "zod";
import { NeuroflowError } from "../protocol/index.js";
import type { ModelProvider, ModelRequest, ModelResponse, StopReason, ToolCall } from "./provider.js";
import { estimateTokens } from "./simulated.provider.js";
import { parseJson, postEventStream } from "./sse.js";

export interface OpenAiProviderOptions {
  /** Sent as a bearer token; optional because local servers (Ollama, vLLM, LM Studio) need none. */
  apiKey?: string;
  /** Default https://api.openai.com/v1; point it at any Chat Completions-compatible server. */
  baseUrl?: string;
  /** Bounds each call, from connecting to the last streamed chunk. */
  timeoutMs: number;
  fetch?: typeof fetch;
  /**
   * Which field carries `maxTokens`. OpenAI's reasoning models accept only `max_completion_tokens`,
   * while some compatible servers know only `max_tokens`; the default follows the base URL.
   */
  maxTokensField?: "max_tokens" | "max_completion_tokens";
}

const defaultBaseUrl = "https://api.openai.com/v1";

// Chunk fields are nullish throughout: OpenAI sends explicit nulls, compatible servers omit fields.
const toolCallDeltaSchema = z.object({
  index: z.int().nonnegative().nullish(),
  id: z.string().nullish(),
  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

const chunkSchema = z.object({
  model: z.string().nullish(),
  choices: z
    .array(
      z.object({
        index: z.int().nonnegative().nullish(),
        delta: z.object({ content: z.string().nullish(), tool_calls: z.array(toolCallDeltaSchema).nullish() }).nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: z.object({ prompt_tokens: z.int().nonnegative(), completion_tokens: z.int().nonnegative() }).nullish(),
});

const errorBodySchema = z.object({
  error: z.object({ message: z.string().nullish(), type: z.string().nullish(), code: z.union([z.string(), z.number()]).nullish() }),
});

function vendorMessage(body: unknown): string | undefined {
  const parsed = errorBodySchema.safeParse(body);
  return parsed.success ? (parsed.data.error.message ?? undefined) : undefined;
}

function malformed(what: string): NeuroflowError {
  return new NeuroflowError("PROVIDER_ERROR", `OpenAI sent a malformed stream: ${what}`);
}

function requestBody(request: ModelRequest, maxTokensField: string): Record<string, unknown> {
  const messages = [
    ...(request.system ? [{ role: "system", content: request.system }] : []),
    ...request.messages.map((message) => ({ role: message.role, content: message.content })),
  ];
  return {
    model: request.model,
    messages,
    stream: true,
    // Without it the stream carries no token counts and cost would have to be guessed.
    stream_options: { include_usage: true },
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.maxTokens === undefined ? {} : { [maxTokensField]: request.maxTokens }),
    ...(request.tools?.length
      ? {
          tools: request.tools.map((tool) => ({
            type: "function",
            function: { name: tool.name, description: tool.description, parameters: tool.parameters },
          })),
        }
      : {}),
  };
}

function stopReasonOf(finishReason: string | undefined, hasToolCalls: boolean): StopReason {
  if (finishReason === "length") return "length";
  if (finishReason === "content_filter") return "error";
  // Some compatible servers report "stop" even when they end on tool calls.
  if (finishReason === "tool_calls" || finishReason === "function_call" || hasToolCalls) return "tool_calls";
  return "stop";
}

interface PendingToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * Accumulates tool-call fragments by `index`. Some compatible servers omit the index; then a
 * fragment with an id starts a new call and one without continues the last.
 */
function addToolCallDelta(calls: Map<number, PendingToolCall>, delta: z.infer<typeof toolCallDeltaSchema>): void {
  const last = Math.max(-1, ...calls.keys());
  const index = delta.index ?? (delta.id ? last + 1 : Math.max(last, 0));
  const call = calls.get(index) ?? { id: "", name: "", arguments: "" };
  if (delta.id) call.id = delta.id;
  // The name arrives whole (as the official SDK assumes); only arguments are fragmented.
  if (delta.function?.name) call.name = delta.function.name;
  if (delta.function?.arguments) call.arguments += delta.function.arguments;
  calls.set(index, call);
}

function finishToolCalls(calls: Map<number, PendingToolCall>): ToolCall[] {
  return [...calls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, call]) => {
      // A function without parameters may stream no argument text at all.
      const parsed = parseJson(call.arguments.trim() === "" ? "{}" : call.arguments);
      if (!parsed.ok) {
        throw new NeuroflowError("PROVIDER_ERROR", `the model sent invalid JSON arguments for tool "${call.name}"`, {
          details: { tool: call.name },
        });
      }
      if (!call.name) throw malformed(`tool call ${index} has no function name`);
      return { id: call.id || `call_${index}`, name: call.name, arguments: parsed.value };
    });
}

/**
 * A Chat Completions provider (OpenAI, or Ollama / vLLM / LM Studio through `baseUrl`) that
 * streams every call and assembles text, tool calls and usage from the chunks.
 *
 * Rejects with a NeuroflowError: PROVIDER_ERROR for HTTP errors (see postEventStream: auth not
 * retryable, 429 retryable with `details.retryAfterMs`, 5xx retryable, 400 with the vendor's
 * message), for a malformed stream or invalid tool-call JSON (not retryable), for an error sent
 * inside the stream, and for a stream cut before `[DONE]` (retryable); TIMEOUT and UNAVAILABLE
 * (retryable); PROVIDER_ERROR "model call aborted" when `request.signal` aborts. The API key never
 * appears in a message. Usage is the server's exact count; only a server that sends none gets an
 * estimate, flagged by `usageEstimated`.
 */
export function createOpenAiProvider(options: OpenAiProviderOptions): ModelProvider {
  const baseUrl = (options.baseUrl ?? defaultBaseUrl).replace(/\/+$/, "");
  const maxTokensField = options.maxTokensField ?? (baseUrl === defaultBaseUrl ? "max_completion_tokens" : "max_tokens");
  return {
    name: "openai",
    async complete(request: ModelRequest): Promise<ModelResponse> {
      const events = postEventStream({
        vendor: "OpenAI",
        url: `${baseUrl}/chat/completions`,
        headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
        body: requestBody(request, maxTokensField),
        timeoutMs: options.timeoutMs,
        signal: request.signal,
        fetch: options.fetch,
        secrets: [options.apiKey],
        errorMessage: vendorMessage,
      });
      let text = "";
      let model = request.model;
      let finishReason: string | undefined;
      let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
      let done = false;
      const toolCalls = new Map<number, PendingToolCall>();
      for await (const event of events) {
        if (event.data === "[DONE]") {
          done = true;
          break;
        }
        const json = parseJson(event.data);
        if (!json.ok) throw malformed("a data line is not JSON");
        const streamError = errorBodySchema.safeParse(json.value);
        if (streamError.success) {
          const { message, type, code } = streamError.data.error;
          // Mid-stream errors carry no HTTP status; the type says whether the server was at fault.
          const retryable = /server_error|overloaded|rate_limit/.test(`${type ?? ""} ${code ?? ""}`);
          throw new NeuroflowError("PROVIDER_ERROR", `OpenAI stream failed: ${message ?? type ?? "unknown error"}`, { retryable });
        }
        const chunk = chunkSchema.safeParse(json.value);
        if (!chunk.success) throw malformed("a chunk does not match the Chat Completions shape");
        if (chunk.data.model) model = chunk.data.model;
        if (chunk.data.usage) usage = chunk.data.usage;
        // Only one choice is asked for (no `n`), so other indexes are not ours to merge.
        for (const choice of chunk.data.choices ?? []) {
          if ((choice.index ?? 0) !== 0) continue;
          const piece = choice.delta?.content;
          if (piece) {
            text += piece;
            request.onDelta?.(piece);
          }
          for (const delta of choice.delta?.tool_calls ?? []) addToolCallDelta(toolCalls, delta);
          if (choice.finish_reason) finishReason = choice.finish_reason;
        }
      }
      if (!done) {
        throw new NeuroflowError("PROVIDER_ERROR", "OpenAI stream ended before [DONE]", { retryable: true });
      }
      const calls = finishToolCalls(toolCalls);
      const response: ModelResponse = {
        text,
        model,
        usage: usage
          ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }
          : {
              promptTokens: estimateTokens([request.system, ...request.messages.map((m) => m.content)].join("\n")),
              completionTokens: estimateTokens(text + calls.map((call) => JSON.stringify(call.arguments)).join("")),
            },
        stopReason: stopReasonOf(finishReason, calls.length > 0),
      };
      if (!usage) response.usageEstimated = true;
      if (calls.length > 0) response.toolCalls = calls;
      return response;
    },
  };
}
