import { z } from "zod";
import { NeuroflowError } from "../protocol/index.js";
import type { ModelProvider, ModelRequest, ModelResponse, StopReason, ToolCall } from "./provider.js";
import { parseJson, postEventStream } from "./sse.js";

export interface AnthropicProviderOptions {
  apiKey: string;
  /** Default https://api.anthropic.com (the path /v1/messages is appended). */
  baseUrl?: string;
  /** Bounds each call, from connecting to `message_stop`. */
  timeoutMs: number;
  fetch?: typeof fetch;
}

const defaultBaseUrl = "https://api.anthropic.com";
const apiVersion = "2023-06-01";
/** The Messages API requires max_tokens; this is used when the agent sets none. */
export const defaultAnthropicMaxTokens = 1024;

const count = z.int().nonnegative().nullish();
const usageSchema = z.object({
  input_tokens: count,
  output_tokens: count,
  cache_creation_input_tokens: count,
  cache_read_input_tokens: count,
});
type Usage = z.infer<typeof usageSchema>;

const errorSchema = z.object({ type: z.string(), message: z.string() });

const eventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("message_start"), message: z.object({ model: z.string().nullish(), usage: usageSchema.nullish() }) }),
  z.object({
    type: z.literal("content_block_start"),
    index: z.int().nonnegative(),
    content_block: z.object({
      type: z.string(),
      id: z.string().nullish(),
      name: z.string().nullish(),
      text: z.string().nullish(),
      input: z.unknown().optional(),
    }),
  }),
  z.object({
    type: z.literal("content_block_delta"),
    index: z.int().nonnegative(),
    delta: z.object({ type: z.string(), text: z.string().nullish(), partial_json: z.string().nullish() }),
  }),
  z.object({ type: z.literal("content_block_stop"), index: z.int().nonnegative() }),
  z.object({
    type: z.literal("message_delta"),
    delta: z.object({ stop_reason: z.string().nullish() }),
    usage: usageSchema.nullish(),
  }),
  z.object({ type: z.literal("message_stop") }),
  z.object({ type: z.literal("ping") }),
  z.object({ type: z.literal("error"), error: errorSchema }),
]);
const knownEvents = new Set<string>(eventSchema.options.map((option) => option.shape.type.value));
const eventTypeSchema = z.object({ type: z.string() });

const errorBodySchema = z.object({ error: errorSchema });

function vendorMessage(body: unknown): string | undefined {
  const parsed = errorBodySchema.safeParse(body);
  return parsed.success ? parsed.data.error.message : undefined;
}

function malformed(what: string): NeuroflowError {
  return new NeuroflowError("PROVIDER_ERROR", `Anthropic sent a malformed stream: ${what}`);
}

function requestBody(request: ModelRequest): Record<string, unknown> {
  return {
    model: request.model,
    max_tokens: request.maxTokens ?? defaultAnthropicMaxTokens,
    stream: true,
    ...(request.system ? { system: request.system } : {}),
    messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.tools?.length
      ? { tools: request.tools.map((tool) => ({ name: tool.name, description: tool.description, input_schema: tool.parameters })) }
      : {}),
  };
}

function stopReasonOf(stopReason: string | undefined): StopReason {
  switch (stopReason) {
    case "max_tokens":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "error";
    default:
      // end_turn, stop_sequence, pause_turn, and reasons added later.
      return "stop";
  }
}

interface ToolBlock {
  id: string;
  name: string;
  json: string;
  /** The block's `input` at start: the whole input when no `input_json_delta` follows. */
  initial: unknown;
}

function finishToolCalls(blocks: Map<number, ToolBlock>): ToolCall[] {
  return [...blocks.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, block]) => {
      if (block.json === "") return { id: block.id, name: block.name, arguments: block.initial ?? {} };
      const parsed = parseJson(block.json);
      if (!parsed.ok) {
        throw new NeuroflowError("PROVIDER_ERROR", `the model sent invalid JSON arguments for tool "${block.name}"`, {
          details: { tool: block.name },
        });
      }
      return { id: block.id, name: block.name, arguments: parsed.value };
    });
}

/**
 * A provider over Anthropic's Messages API that streams every call and assembles text, tool_use
 * blocks and usage from the events. Prompt tokens include cache reads and writes, so they count
 * everything the model read, as OpenAI's prompt_tokens do.
 *
 * Rejects with a NeuroflowError: PROVIDER_ERROR for HTTP errors (see postEventStream: auth not
 * retryable, 429 retryable with `details.retryAfterMs`, 5xx and 529 "overloaded" retryable, 400
 * with the vendor's message), for an `error` event (retryable when overloaded or an api_error),
 * for a malformed stream or invalid tool input JSON (not retryable), and for a stream cut before
 * `message_stop` (retryable); TIMEOUT and UNAVAILABLE (retryable); PROVIDER_ERROR "model call
 * aborted" when `request.signal` aborts. The API key never appears in a message.
 */
export function createAnthropicProvider(options: AnthropicProviderOptions): ModelProvider {
  const baseUrl = (options.baseUrl ?? defaultBaseUrl).replace(/\/+$/, "");
  return {
    name: "anthropic",
    async complete(request: ModelRequest): Promise<ModelResponse> {
      const events = postEventStream({
        vendor: "Anthropic",
        url: `${baseUrl}/v1/messages`,
        headers: { "x-api-key": options.apiKey, "anthropic-version": apiVersion },
        body: requestBody(request),
        timeoutMs: options.timeoutMs,
        signal: request.signal,
        fetch: options.fetch,
        secrets: [options.apiKey],
        errorMessage: vendorMessage,
      });
      let text = "";
      let model = request.model;
      let stopReason: string | undefined;
      let usage: Usage = {};
      let stopped = false;
      const tools = new Map<number, ToolBlock>();
      for await (const event of events) {
        const json = parseJson(event.data);
        if (!json.ok) throw malformed("a data line is not JSON");
        const type = eventTypeSchema.safeParse(json.value);
        if (!type.success) throw malformed("an event has no type");
        // Anthropic may add event types; the documented contract is to skip unknown ones.
        if (!knownEvents.has(type.data.type)) continue;
        const parsed = eventSchema.safeParse(json.value);
        if (!parsed.success) throw malformed(`a ${type.data.type} event does not match the Messages API shape`);
        const data = parsed.data;
        switch (data.type) {
          case "message_start":
            if (data.message.model) model = data.message.model;
            usage = { ...usage, ...definedOnly(data.message.usage) };
            break;
          case "content_block_start": {
            const block = data.content_block;
            if (block.type === "text" && block.text) {
              text += block.text;
              request.onDelta?.(block.text);
            } else if (block.type === "tool_use") {
              if (!block.id || !block.name) throw malformed("a tool_use block has no id or name");
              tools.set(data.index, { id: block.id, name: block.name, json: "", initial: block.input });
            }
            break;
          }
          case "content_block_delta":
            if (data.delta.type === "text_delta" && data.delta.text) {
              text += data.delta.text;
              request.onDelta?.(data.delta.text);
            } else if (data.delta.type === "input_json_delta") {
              const block = tools.get(data.index);
              if (!block) throw malformed(`input_json_delta for block ${data.index}, which is no tool_use`);
              block.json += data.delta.partial_json ?? "";
            }
            // thinking_delta, signature_delta, citations_delta: not part of the answer text.
            break;
          case "message_delta":
            if (data.delta.stop_reason) stopReason = data.delta.stop_reason;
            // message_delta counts are cumulative, so they replace message_start's.
            usage = { ...usage, ...definedOnly(data.usage) };
            break;
          case "message_stop":
            stopped = true;
            break;
          case "error": {
            const retryable = ["overloaded_error", "api_error", "rate_limit_error"].includes(data.error.type);
            throw new NeuroflowError("PROVIDER_ERROR", `Anthropic stream failed: ${data.error.message}`, {
              retryable,
              details: { type: data.error.type },
            });
          }
          case "content_block_stop":
          case "ping":
            break;
        }
        if (stopped) break;
      }
      if (!stopped) throw new NeuroflowError("PROVIDER_ERROR", "Anthropic stream ended before message_stop", { retryable: true });
      const calls = finishToolCalls(tools);
      const response: ModelResponse = {
        text,
        model,
        usage: {
          promptTokens: (usage.input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0),
          completionTokens: usage.output_tokens ?? 0,
        },
        stopReason: stopReasonOf(stopReason),
      };
      if (calls.length > 0) response.toolCalls = calls;
      return response;
    },
  };
}

/** Drops absent counts so a later event's partial usage does not erase an earlier count. */
function definedOnly(usage: Usage | null | undefined): Usage {
  const out: Usage = {};
  if (!usage) return out;
  for (const key of ["input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"] as const) {
    const value = usage[key];
    if (value !== null && value !== undefined) out[key] = value;
  }
  return out;
}
