import type { ServerResponse } from "node:http";
import { listenLoopback, writeInSlices, type CommonFakeScript, type FakeServer, type RecordedRequest } from "./fake-openai.js";

/**
 * A local Messages API server speaking Anthropic's wire format: named SSE events (`message_start`,
 * `content_block_*`, `ping`, `message_delta`, `message_stop`, `error`) written in small byte slices,
 * text and tool_use blocks with `input_json_delta` fragments, and scripted failures including 529
 * "overloaded". Records what it received; never logs anything. The recording and byte-slicing
 * machinery is shared with fake-openai.ts.
 */

export type AnthropicScript =
  | CommonFakeScript
  /**
   * A streamed answer: a text block of `pieces`, then tool_use blocks whose input JSON arrives in
   * `fragmentChars`-sized fragments.
   */
  | {
      kind: "stream";
      pieces?: string[];
      toolUses?: Array<{ id: string; name: string; input: string }>;
      fragmentChars?: number;
      usage: { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
      model?: string;
      stopReason?: string;
    }
  /** A stream that starts, then fails with an `error` event, as Anthropic does when overloaded mid-answer. */
  | { kind: "stream-error"; pieces?: string[]; type: string; message: string };

const errorTypes: Record<number, { type: string; message: string }> = {
  400: { type: "invalid_request_error", message: "max_tokens: Field required" },
  401: { type: "authentication_error", message: "invalid x-api-key" },
  403: { type: "permission_error", message: "Your API key does not have permission to use the specified resource." },
  404: { type: "not_found_error", message: "model: claude-unknown" },
  413: { type: "request_too_large", message: "Request exceeds the maximum allowed number of bytes." },
  429: { type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit." },
  500: { type: "api_error", message: "Internal server error" },
  529: { type: "overloaded_error", message: "Overloaded" },
};

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

function modelOf(request: RecordedRequest): string {
  const body = request.body;
  return typeof body === "object" && body !== null && "model" in body && typeof body.model === "string" ? body.model : "unknown";
}

function messageStart(model: string, usage: Record<string, number>): string {
  return event("message_start", {
    type: "message_start",
    message: {
      id: "msg_fake0001",
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1, service_tier: "standard", ...usage },
    },
  });
}

function textBlock(index: number, pieces: string[]): string[] {
  return [
    event("content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } }),
    event("ping", { type: "ping" }),
    ...pieces.map((text) => event("content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text } })),
    event("content_block_stop", { type: "content_block_stop", index }),
  ];
}

function startStream(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": "req_fake0001" });
}

async function answerAnthropic(script: AnthropicScript | undefined, request: RecordedRequest, res: ServerResponse): Promise<void> {
  const errorBody = (type: string, message: string) => JSON.stringify({ type: "error", error: { type, message }, request_id: "req_fake0001" });
  if (request.method !== "POST" || request.path !== "/v1/messages") {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(errorBody("not_found_error", `Not found: ${request.path}`));
    return;
  }
  const model = modelOf(request);
  switch (script?.kind) {
    case undefined:
      res.writeHead(500, { "content-type": "application/json" });
      res.end(errorBody("api_error", "fake-anthropic: nothing scripted"));
      return;
    case "error": {
      const known = errorTypes[script.status] ?? { type: "api_error", message: "Internal server error" };
      const key = request.headers["x-api-key"];
      const message = `${script.message ?? known.message}${script.echoKey ? ` You sent: ${typeof key === "string" ? key : ""}.` : ""}`;
      res.writeHead(script.status, { "content-type": "application/json", "request-id": "req_fake0001", ...script.headers });
      res.end(errorBody(known.type, message));
      return;
    }
    case "hang": {
      startStream(res);
      const pieces = script.pieces ?? [];
      const opening = [
        messageStart(model, { input_tokens: 10 }),
        event("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
        ...pieces.map((text) => event("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } })),
      ];
      await writeInSlices(res, opening.join(""));
      return;
    }
    case "malformed":
      startStream(res);
      const cutOff = `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_bl\n\n`;
      await writeInSlices(res, `${messageStart(model, { input_tokens: 10 })}${cutOff}`);
      res.end();
      return;
    case "raw":
      startStream(res);
      await writeInSlices(res, script.body);
      res.end();
      return;
    case "stream-error":
      startStream(res);
      await writeInSlices(
        res,
        [
          messageStart(model, { input_tokens: 10 }),
          ...textBlock(0, script.pieces ?? []).slice(0, -1),
          event("error", { type: "error", error: { type: script.type, message: script.message } }),
        ].join(""),
      );
      res.end();
      return;
    case "stream": {
      startStream(res);
      const { output_tokens, ...input } = script.usage;
      const events = [messageStart(script.model ?? model, input)];
      let index = 0;
      if (script.pieces?.length) events.push(...textBlock(index++, script.pieces));
      const size = script.fragmentChars ?? 4;
      for (const tool of script.toolUses ?? []) {
        const at = index++;
        events.push(
          event("content_block_start", {
            type: "content_block_start",
            index: at,
            content_block: { type: "tool_use", id: tool.id, name: tool.name, input: {} },
          }),
          // The real API opens every tool input with an empty fragment.
          event("content_block_delta", { type: "content_block_delta", index: at, delta: { type: "input_json_delta", partial_json: "" } }),
        );
        for (let from = 0; from < tool.input.length; from += size) {
          events.push(
            event("content_block_delta", {
              type: "content_block_delta",
              index: at,
              delta: { type: "input_json_delta", partial_json: tool.input.slice(from, from + size) },
            }),
          );
        }
        events.push(event("content_block_stop", { type: "content_block_stop", index: at }));
      }
      const stopReason = script.stopReason ?? (script.toolUses?.length ? "tool_use" : "end_turn");
      events.push(
        event("message_delta", { type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens } }),
        event("message_stop", { type: "message_stop" }),
      );
      await writeInSlices(res, events.join(""));
      res.end();
      return;
    }
  }
}

/** Starts the fake; its `url` is the base URL to give `createAnthropicProvider` (it serves /v1/messages). */
export function startFakeAnthropic(): Promise<FakeServer<AnthropicScript>> {
  return listenLoopback<AnthropicScript>("", answerAnthropic);
}
