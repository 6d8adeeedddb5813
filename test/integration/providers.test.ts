import { createServer } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { NeuroflowError } from "../../runtime/protocol/index.js";
import { createAnthropicProvider } from "../../runtime/providers/anthropic.provider.js";
import { createOpenAiProvider } from "../../runtime/providers/openai.provider.js";
import type { ModelProvider, ModelRequest, ToolSpec } from "../../runtime/providers/provider.js";
import { providersFromEnv } from "../../runtime/providers/registry-from-env.js";
import { startFakeAnthropic, type AnthropicScript } from "../support/fake-anthropic.js";
import { startFakeOpenAi, type CommonFakeScript, type FakeServer, type OpenAiScript } from "../support/fake-openai.js";

const apiKey = "sk-test-0123456789abcdef-SECRET";
// Multi-byte characters on purpose: the fakes cut the byte stream inside the first of them.
const pieces = ["Grüß ", "dich", " — ", "名前", " is ", "🙂", "!"];
const request: ModelRequest = {
  model: "test-model",
  system: "You are terse.",
  messages: [{ role: "user", content: "Say hello." }],
};
const weather: ToolSpec = {
  name: "get_weather",
  description: "Current weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

/** What a rejected call threw, checked to be a NeuroflowError. */
async function failure(call: Promise<unknown>): Promise<NeuroflowError> {
  const error: unknown = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof NeuroflowError)) throw new Error(`expected a NeuroflowError, got ${String(error)}`);
  return error;
}

function expectNoKey(error: NeuroflowError): void {
  expect(error.message).not.toContain(apiKey);
  expect(JSON.stringify({ message: error.message, details: error.details, wire: error.toWire() })).not.toContain(apiKey);
  expect(String(error.cause ?? "")).not.toContain(apiKey);
}

/** A loopback URL nothing listens on. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${address.port}`;
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Adapter {
  name: string;
  /** The vendor's fake, plus a way to script a stream whose only tool call carries invalid JSON. */
  start(): Promise<{ fake: FakeServer<CommonFakeScript>; scriptBadToolJson(): void }>;
  provider(url: string, timeoutMs?: number): ModelProvider;
  /** A stream that ends cleanly but before the vendor's end marker. */
  truncated: string;
}

const adapters: Adapter[] = [
  {
    name: "OpenAI",
    start: async () => {
      const fake = await startFakeOpenAi();
      const scriptBadToolJson = () =>
        fake.script({
          kind: "stream",
          toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city": "Par' }],
          usage: { prompt_tokens: 1, completion_tokens: 1 },
        });
      return { fake, scriptBadToolJson };
    },
    provider: (url, timeoutMs = 2000) => createOpenAiProvider({ apiKey, baseUrl: url, timeoutMs }),
    truncated: `data: ${JSON.stringify({
      id: "c",
      object: "chat.completion.chunk",
      created: 1,
      model: "m",
      choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }],
    })}\n\n`,
  },
  {
    name: "Anthropic",
    start: async () => {
      const fake = await startFakeAnthropic();
      const scriptBadToolJson = () =>
        fake.script({
          kind: "stream",
          toolUses: [{ id: "toolu_1", name: "get_weather", input: '{"city": "Par' }],
          usage: { input_tokens: 1, output_tokens: 1 },
        });
      return { fake, scriptBadToolJson };
    },
    provider: (url, timeoutMs = 2000) => createAnthropicProvider({ apiKey, baseUrl: url, timeoutMs }),
    truncated: `event: message_start\ndata: ${JSON.stringify({
      type: "message_start",
      message: { model: "m", usage: { input_tokens: 3, output_tokens: 1 } },
    })}\n\n`,
  },
];

describe.each(adapters)("$name provider: failures", (adapter) => {
  let fake: FakeServer<CommonFakeScript>;
  let scriptBadToolJson: () => void;
  beforeEach(async () => {
    ({ fake, scriptBadToolJson } = await adapter.start());
  });
  afterEach(() => fake.close());

  it.each([401, 403])("maps HTTP %i to a non-retryable 'authentication failed' without the key", async (status) => {
    fake.script({ kind: "error", status, echoKey: true });
    const error = await failure(adapter.provider(fake.url).complete(request));
    expect(error).toMatchObject({ code: "PROVIDER_ERROR", retryable: false, details: { status } });
    expect(error.message).toMatch(/authentication failed/);
    expectNoKey(error);
  });

  it("maps 429 to a retryable error with Retry-After in ms, as seconds or as an HTTP date", async () => {
    fake.script(
      { kind: "error", status: 429, headers: { "retry-after": "2" } },
      { kind: "error", status: 429, headers: { "retry-after": new Date(Date.now() + 30_000).toUTCString() } },
    );
    const seconds = await failure(adapter.provider(fake.url).complete(request));
    expect(seconds).toMatchObject({ code: "PROVIDER_ERROR", retryable: true, details: { status: 429, retryAfterMs: 2000 } });
    const date = await failure(adapter.provider(fake.url).complete(request));
    expect(date).toMatchObject({ code: "PROVIDER_ERROR", retryable: true });
    const { retryAfterMs } = z.object({ retryAfterMs: z.number() }).parse(date.details);
    expect(retryAfterMs).toBeGreaterThan(25_000);
    expect(retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it.each(adapter.name === "Anthropic" ? [500, 503, 529] : [500, 503])("maps HTTP %i to a retryable PROVIDER_ERROR", async (status) => {
    fake.script({ kind: "error", status });
    const error = await failure(adapter.provider(fake.url).complete(request));
    expect(error).toMatchObject({ code: "PROVIDER_ERROR", retryable: true, details: { status } });
  });

  it("maps 400 to a non-retryable error with the vendor's message, redacting the key it echoed", async () => {
    fake.script({ kind: "error", status: 400, message: "Invalid value for 'temperature'.", echoKey: true });
    const error = await failure(adapter.provider(fake.url).complete(request));
    expect(error).toMatchObject({ code: "PROVIDER_ERROR", retryable: false, details: { status: 400 } });
    expect(error.message).toContain("Invalid value for 'temperature'.");
    expect(error.message).toContain("[redacted]");
    expectNoKey(error);
  });

  it("maps a stream that never finishes to a retryable TIMEOUT and hangs up", async () => {
    fake.script({ kind: "hang", pieces: ["Hel"] });
    const started = Date.now();
    const error = await failure(adapter.provider(fake.url, 300).complete(request));
    expect(error).toMatchObject({ code: "TIMEOUT", retryable: true });
    expect(Date.now() - started).toBeLessThan(2000);
    expectNoKey(error);
    await eventually(() => fake.requests[0]?.closedEarly === true, "the client to hang up");
  });

  it("stops mid-stream when the request's signal aborts, as an abort rather than a timeout", async () => {
    fake.script({ kind: "hang", pieces: ["Hel", "lo"] });
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await failure(
      adapter.provider(fake.url, 10_000).complete({
        ...request,
        signal: controller.signal,
        onDelta: (text) => {
          seen.push(text);
          if (seen.length === 2) controller.abort();
        },
      }),
    );
    expect(error).toMatchObject({ code: "PROVIDER_ERROR", retryable: false, message: "model call aborted" });
    expect(seen).toEqual(["Hel", "lo"]);
    await eventually(() => fake.requests[0]?.closedEarly === true, "the client to hang up");
  });

  it("sends nothing when the signal is already aborted", async () => {
    const error = await failure(adapter.provider(fake.url).complete({ ...request, signal: AbortSignal.abort() }));
    expect(error).toMatchObject({ code: "PROVIDER_ERROR", message: "model call aborted" });
    expect(fake.requests).toHaveLength(0);
  });

  it("maps a refused connection to a retryable UNAVAILABLE", async () => {
    const error = await failure(adapter.provider(await deadUrl()).complete(request));
    expect(error).toMatchObject({ code: "UNAVAILABLE", retryable: true });
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("maps a malformed stream to a non-retryable PROVIDER_ERROR", async () => {
    fake.script({ kind: "malformed" });
    const error = await failure(adapter.provider(fake.url).complete(request));
    expect(error).toMatchObject({ code: "PROVIDER_ERROR", retryable: false });
    expect(error.message).toMatch(/malformed/);
  });

  it("maps a stream cut before its end marker to a retryable PROVIDER_ERROR", async () => {
    fake.script({ kind: "raw", body: adapter.truncated });
    const error = await failure(adapter.provider(fake.url).complete(request));
    expect(error).toMatchObject({ code: "PROVIDER_ERROR", retryable: true });
    expect(error.message).toMatch(/ended before/);
  });

  it("rejects tool-call arguments that are not JSON", async () => {
    scriptBadToolJson();
    const error = await failure(adapter.provider(fake.url).complete({ ...request, tools: [weather] }));
    expect(error).toMatchObject({ code: "PROVIDER_ERROR", details: { tool: "get_weather" } });
    expect(error.message).toMatch(/invalid JSON/);
  });
});

describe("OpenAI provider: streaming", () => {
  let fake: FakeServer<OpenAiScript>;
  beforeEach(async () => {
    fake = await startFakeOpenAi();
  });
  afterEach(() => fake.close());

  it("streams text to onDelta in order and reports the server's exact usage", async () => {
    fake.script({ kind: "stream", pieces, usage: { prompt_tokens: 17, completion_tokens: 9 }, model: "gpt-4o-mini-2024-07-18" });
    const seen: string[] = [];
    const provider = createOpenAiProvider({ apiKey, baseUrl: fake.url, timeoutMs: 5000 });
    const response = await provider.complete({ ...request, temperature: 0.2, maxTokens: 50, onDelta: (text) => seen.push(text) });

    expect(response).toEqual({
      text: pieces.join(""),
      model: "gpt-4o-mini-2024-07-18",
      usage: { promptTokens: 17, completionTokens: 9 },
      stopReason: "stop",
    });
    expect(seen).toEqual(pieces);
    const [sent] = fake.requests;
    expect(sent).toMatchObject({ method: "POST", path: "/v1/chat/completions" });
    expect(sent?.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(sent?.body).toEqual({
      model: "test-model",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Say hello." },
      ],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
      max_tokens: 50,
    });
  });

  it("assembles tool calls from argument fragments, by index", async () => {
    fake.script({
      kind: "stream",
      pieces: ["Checking."],
      toolCalls: [
        { id: "call_a", name: "get_weather", arguments: '{"city": "Zürich"}' },
        { id: "call_b", name: "get_weather", arguments: '{"city": "東京"}' },
      ],
      fragmentChars: 3,
      usage: { prompt_tokens: 40, completion_tokens: 22 },
    });
    const response = await createOpenAiProvider({ apiKey, baseUrl: fake.url, timeoutMs: 5000 }).complete({ ...request, tools: [weather] });

    expect(response.toolCalls).toEqual([
      { id: "call_a", name: "get_weather", arguments: { city: "Zürich" } },
      { id: "call_b", name: "get_weather", arguments: { city: "東京" } },
    ]);
    expect(response).toMatchObject({ text: "Checking.", stopReason: "tool_calls", usage: { promptTokens: 40, completionTokens: 22 } });
    expect(fake.requests[0]?.body).toMatchObject({
      tools: [{ type: "function", function: { name: "get_weather", description: weather.description, parameters: weather.parameters } }],
    });
  });

  it("works keyless against a local server that reports no usage, flagging the estimate", async () => {
    fake.script({ kind: "stream", pieces: ["Hi there"], usage: null, finishReason: "length" });
    const response = await createOpenAiProvider({ baseUrl: fake.url, timeoutMs: 5000 }).complete(request);
    expect(response).toMatchObject({ text: "Hi there", stopReason: "length", usageEstimated: true });
    expect(response.usage.completionTokens).toBeGreaterThan(0);
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("fails with the message of an error sent inside the stream", async () => {
    fake.script({ kind: "stream-error", pieces: ["Par"], message: "The server had an error while processing your request.", type: "server_error" });
    const error = await failure(createOpenAiProvider({ apiKey, baseUrl: fake.url, timeoutMs: 5000 }).complete(request));
    expect(error).toMatchObject({ code: "PROVIDER_ERROR", retryable: true });
    expect(error.message).toContain("The server had an error");
  });
});

describe("Anthropic provider: streaming", () => {
  let fake: FakeServer<AnthropicScript>;
  beforeEach(async () => {
    fake = await startFakeAnthropic();
  });
  afterEach(() => fake.close());

  it("streams text to onDelta in order and reports exact usage, cache reads included", async () => {
    fake.script({
      kind: "stream",
      pieces,
      usage: { input_tokens: 21, cache_read_input_tokens: 100, output_tokens: 12 },
      model: "claude-sonnet-4-20250514",
    });
    const seen: string[] = [];
    const provider = createAnthropicProvider({ apiKey, baseUrl: fake.url, timeoutMs: 5000 });
    const response = await provider.complete({ ...request, temperature: 0.5, onDelta: (text) => seen.push(text) });

    expect(response).toEqual({
      text: pieces.join(""),
      model: "claude-sonnet-4-20250514",
      usage: { promptTokens: 121, completionTokens: 12 },
      stopReason: "stop",
    });
    expect(seen).toEqual(pieces);
    const [sent] = fake.requests;
    expect(sent).toMatchObject({ method: "POST", path: "/v1/messages" });
    expect(sent?.headers["x-api-key"]).toBe(apiKey);
    expect(sent?.headers["anthropic-version"]).toBe("2023-06-01");
    expect(sent?.headers.authorization).toBeUndefined();
    expect(sent?.body).toEqual({
      model: "test-model",
      max_tokens: 1024,
      stream: true,
      system: "You are terse.",
      messages: [{ role: "user", content: "Say hello." }],
      temperature: 0.5,
    });
  });

  it("assembles tool_use blocks from input_json_delta fragments", async () => {
    fake.script({
      kind: "stream",
      pieces: ["Let me check."],
      toolUses: [
        { id: "toolu_a", name: "get_weather", input: '{"city": "Zürich"}' },
        { id: "toolu_b", name: "get_weather", input: '{"city": "東京"}' },
      ],
      fragmentChars: 2,
      usage: { input_tokens: 300, output_tokens: 80 },
    });
    const provider = createAnthropicProvider({ apiKey, baseUrl: fake.url, timeoutMs: 5000 });
    const response = await provider.complete({ ...request, maxTokens: 200, tools: [weather] });

    expect(response.toolCalls).toEqual([
      { id: "toolu_a", name: "get_weather", arguments: { city: "Zürich" } },
      { id: "toolu_b", name: "get_weather", arguments: { city: "東京" } },
    ]);
    expect(response).toMatchObject({ text: "Let me check.", stopReason: "tool_calls", usage: { promptTokens: 300, completionTokens: 80 } });
    expect(fake.requests[0]?.body).toMatchObject({
      max_tokens: 200,
      tools: [{ name: "get_weather", description: weather.description, input_schema: weather.parameters }],
    });
  });

  it("maps an overloaded error event mid-stream to a retryable PROVIDER_ERROR", async () => {
    fake.script({ kind: "stream-error", pieces: ["Hal"], type: "overloaded_error", message: "Overloaded" });
    const error = await failure(createAnthropicProvider({ apiKey, baseUrl: fake.url, timeoutMs: 5000 }).complete(request));
    expect(error).toMatchObject({ code: "PROVIDER_ERROR", retryable: true, details: { type: "overloaded_error" } });
  });

  it("skips thinking blocks and event types it does not know", async () => {
    const event = (data: Record<string, unknown>) => `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;
    const body = [
      event({ type: "message_start", message: { model: "claude-opus-4", usage: { input_tokens: 5, output_tokens: 1 } } }),
      event({ type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "" } }),
      event({ type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "hmm" } }),
      event({ type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "sig" } }),
      event({ type: "content_block_stop", index: 0 }),
      event({ type: "some_future_event", anything: true }),
      event({ type: "content_block_start", index: 1, content_block: { type: "text", text: "" } }),
      event({ type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "Answer." } }),
      event({ type: "content_block_stop", index: 1 }),
      event({ type: "message_delta", delta: { stop_reason: "max_tokens" }, usage: { output_tokens: 30 } }),
      event({ type: "message_stop" }),
    ].join("");
    fake.script({ kind: "raw", body });
    const response = await createAnthropicProvider({ apiKey, baseUrl: fake.url, timeoutMs: 5000 }).complete(request);
    expect(response).toEqual({ text: "Answer.", model: "claude-opus-4", usage: { promptTokens: 5, completionTokens: 30 }, stopReason: "length" });
  });
});

describe("providersFromEnv", () => {
  it("always has the simulated provider and nothing else without configuration", async () => {
    const registry = providersFromEnv({ OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "" });
    const response = await registry.get("simulated").complete(request);
    expect(response.text.length).toBeGreaterThan(0);
    expect(() => registry.get("openai")).toThrow(expect.objectContaining({ code: "PROVIDER_ERROR" }));
    expect(() => registry.get("anthropic")).toThrow(expect.objectContaining({ code: "PROVIDER_ERROR" }));
  });

  it("configures a keyless OpenAI-compatible server from OPENAI_BASE_URL and Anthropic from its key", async () => {
    const openai = await startFakeOpenAi();
    const anthropic = await startFakeAnthropic();
    try {
      openai.script({ kind: "stream", pieces: ["local"], usage: { prompt_tokens: 3, completion_tokens: 1 } });
      anthropic.script({ kind: "stream", pieces: ["claude"], usage: { input_tokens: 4, output_tokens: 2 } });
      const registry = providersFromEnv({
        OPENAI_BASE_URL: openai.url,
        ANTHROPIC_API_KEY: apiKey,
        ANTHROPIC_BASE_URL: anthropic.url,
        MODEL_TIMEOUT_MS: "5000",
      });
      expect(await registry.get("openai").complete(request)).toMatchObject({ text: "local", usage: { promptTokens: 3, completionTokens: 1 } });
      expect(await registry.get("anthropic").complete(request)).toMatchObject({ text: "claude", usage: { promptTokens: 4, completionTokens: 2 } });
      expect(openai.requests[0]?.headers.authorization).toBeUndefined();
      expect(anthropic.requests[0]?.headers["x-api-key"]).toBe(apiKey);
    } finally {
      await openai.close();
      await anthropic.close();
    }
  });

  it("applies MODEL_TIMEOUT_MS", async () => {
    const fake = await startFakeOpenAi();
    try {
      fake.script({ kind: "hang" });
      const registry = providersFromEnv({ OPENAI_API_KEY: apiKey, OPENAI_BASE_URL: fake.url, MODEL_TIMEOUT_MS: "200" });
      const error = await failure(registry.get("openai").complete(request));
      expect(error).toMatchObject({ code: "TIMEOUT", message: "OpenAI did not finish within 200 ms" });
    } finally {
      await fake.close();
    }
  });

  it("names invalid variables without echoing their values", () => {
    let message = "";
    try {
      providersFromEnv({ OPENAI_API_KEY: apiKey, OPENAI_BASE_URL: `ftp://${apiKey}@example.com`, MODEL_TIMEOUT_MS: "soon" });
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    expect(message).toMatch(/OPENAI_BASE_URL/);
    expect(message).toMatch(/MODEL_TIMEOUT_MS/);
    expect(message).not.toContain(apiKey);
  });
});
