import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";

/**
 * A local Chat Completions server speaking OpenAI's wire format: streamed `chat.completion.chunk`
 * events written in small byte slices (one boundary inside a multi-byte UTF-8 character), tool-call
 * deltas, the usage chunk when the request asks for it, `data: [DONE]`, and scripted failures. It
 * records what it received (headers included, so tests can check auth) and never logs anything.
 */

/** One request as the fake received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The JSON body, or the raw text when it was not JSON. */
  body: unknown;
  /** Set when the client hung up before the fake finished answering (abort, timeout). */
  closedEarly: boolean;
}

/** Failures and raw streams both fakes can script; each answers them in its vendor's format. */
export type CommonFakeScript =
  /** An error response; `echoKey` makes the vendor message quote the received key, as vendors do. */
  | { kind: "error"; status: number; message?: string; headers?: Record<string, string>; echoKey?: boolean }
  /** 200 and the start of a stream (with these text pieces), then silence until the client gives up. */
  | { kind: "hang"; pieces?: string[] }
  /** 200 and an event whose data is cut-off JSON. */
  | { kind: "malformed" }
  /** 200 `text/event-stream` with exactly this body (e.g. a stream that ends early). */
  | { kind: "raw"; body: string };

export type OpenAiScript =
  | CommonFakeScript
  /**
   * A streamed answer: text `pieces` (one delta each), then `toolCalls` whose arguments arrive in
   * `fragmentChars`-sized fragments. `usage: null` plays a server that never reports usage.
   */
  | {
      kind: "stream";
      pieces?: string[];
      toolCalls?: Array<{ id: string; name: string; arguments: string }>;
      fragmentChars?: number;
      usage?: { prompt_tokens: number; completion_tokens: number } | null;
      model?: string;
      finishReason?: string;
    }
  /** A stream that fails part-way with an in-band `{"error": …}` chunk, as OpenAI does. */
  | { kind: "stream-error"; pieces?: string[]; message: string; type: string };

export interface FakeServer<Script> {
  /** The base URL a provider is configured with. */
  url: string;
  requests: RecordedRequest[];
  /** Queues the answers to the next requests, in order; an unscripted request gets a 500. */
  script(...next: Script[]): void;
  close(): Promise<void>;
}

// One turn of the event loop: the client (often in this same process) reads each slice on its own.
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Writes `text` in slices of `sliceBytes` bytes, plus a cut one byte into the first multi-byte
 * character, pausing between slices so they reach the client as separate reads.
 */
export async function writeInSlices(res: ServerResponse, text: string, sliceBytes = 16): Promise<void> {
  const bytes = Buffer.from(text, "utf8");
  const cuts = new Set<number>();
  for (let at = sliceBytes; at < bytes.length; at += sliceBytes) cuts.add(at);
  const firstMultiByte = bytes.findIndex((byte) => byte >= 0xc0);
  if (firstMultiByte !== -1) cuts.add(firstMultiByte + 1);
  let start = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (res.destroyed) return;
    res.write(bytes.subarray(start, cut));
    start = cut;
    await nextTurn();
  }
  if (!res.destroyed) res.write(bytes.subarray(start));
}

/** Starts an HTTP server on 127.0.0.1:0 that records each request and answers it with `answer`. */
export async function listenLoopback<Script>(
  basePath: string,
  answer: (script: Script | undefined, request: RecordedRequest, res: ServerResponse) => Promise<void>,
): Promise<FakeServer<Script>> {
  const requests: RecordedRequest[] = [];
  const queue: Script[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Kept as text: the test asserting on it will show what arrived.
      }
      const recorded: RecordedRequest = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, closedEarly: false };
      requests.push(recorded);
      res.on("close", () => {
        if (!res.writableFinished) recorded.closedEarly = true;
      });
      res.socket?.setNoDelay(true);
      answer(queue.shift(), recorded, res).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fake server has no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}${basePath}`,
    requests,
    script: (...next) => queue.push(...next),
    close: async () => {
      // Hanging streams would keep close() waiting forever.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The bearer token a request carried, for fakes that echo it the way vendors' error messages do. */
function receivedKey(request: RecordedRequest): string {
  const auth = request.headers.authorization ?? "";
  return auth.replace(/^Bearer\s+/i, "");
}

const errorTypes: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: "invalid_request_error", code: null, message: "Invalid value for 'temperature': must be between 0 and 2." },
  401: { type: "invalid_request_error", code: "invalid_api_key", message: "Incorrect API key provided." },
  403: { type: "invalid_request_error", code: "unsupported_country_region_territory", message: "Country not supported." },
  404: { type: "invalid_request_error", code: "model_not_found", message: "The model does not exist." },
  429: { type: "requests", code: "rate_limit_exceeded", message: "Rate limit reached for requests." },
};

function sse(data: unknown): string {
  return `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
}

function chunk(model: string, delta: Record<string, unknown>, finishReason: string | null = null): string {
  return sse({
    id: "chatcmpl-fake0001",
    object: "chat.completion.chunk",
    created: 1_767_225_600,
    model,
    system_fingerprint: "fp_fake",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    usage: null,
  });
}

/** The role chunk every stream starts with, then one content chunk per piece. */
function opening(model: string, pieces: string[] = []): string[] {
  return [chunk(model, { role: "assistant", content: "" }), ...pieces.map((piece) => chunk(model, { content: piece }))];
}

function modelOf(request: RecordedRequest): string {
  const body = request.body;
  return typeof body === "object" && body !== null && "model" in body && typeof body.model === "string" ? body.model : "unknown";
}

function wantsUsage(request: RecordedRequest): boolean {
  const body = request.body;
  if (typeof body !== "object" || body === null || !("stream_options" in body)) return false;
  const options = body.stream_options;
  return typeof options === "object" && options !== null && "include_usage" in options && options.include_usage === true;
}

function startStream(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-request-id": "req_fake" });
}

async function answerOpenAi(script: OpenAiScript | undefined, request: RecordedRequest, res: ServerResponse): Promise<void> {
  if (request.method !== "POST" || request.path !== "/v1/chat/completions") {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: `Unknown path ${request.path}`, type: "invalid_request_error", param: null, code: null } }));
    return;
  }
  const model = modelOf(request);
  switch (script?.kind) {
    case undefined:
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "fake-openai: nothing scripted", type: "server_error", param: null, code: null } }));
      return;
    case "error": {
      const known = errorTypes[script.status] ?? {
        type: "server_error",
        code: null,
        message: "The server had an error while processing your request.",
      };
      const message = `${script.message ?? known.message}${script.echoKey ? ` You sent: ${receivedKey(request)}.` : ""}`;
      res.writeHead(script.status, { "content-type": "application/json", ...script.headers });
      res.end(JSON.stringify({ error: { message, type: known.type, param: null, code: known.code } }));
      return;
    }
    case "hang":
      startStream(res);
      await writeInSlices(res, opening(model, script.pieces).join(""));
      return;
    case "malformed":
      startStream(res);
      // The second event's JSON is cut off, yet the stream itself ends properly.
      await writeInSlices(res, `${opening(model).join("")}data: {"id":"chatcmpl-fake0001","choices":[{"delta":{"content":"Hel\n\n${sse("[DONE]")}`);
      res.end();
      return;
    case "raw":
      startStream(res);
      await writeInSlices(res, script.body);
      res.end();
      return;
    case "stream-error": {
      startStream(res);
      const events = opening(model, script.pieces);
      events.push(sse({ error: { message: script.message, type: script.type, param: null, code: null } }));
      await writeInSlices(res, events.join(""));
      res.end();
      return;
    }
    case "stream": {
      startStream(res);
      const served = script.model ?? model;
      const events = [chunk(served, { role: "assistant", content: "", refusal: null })];
      for (const piece of script.pieces ?? []) events.push(chunk(served, { content: piece }));
      const size = script.fragmentChars ?? 4;
      (script.toolCalls ?? []).forEach((call, index) => {
        events.push(
          chunk(served, { tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] }),
        );
        for (let at = 0; at < call.arguments.length; at += size) {
          events.push(chunk(served, { tool_calls: [{ index, function: { arguments: call.arguments.slice(at, at + size) } }] }));
        }
      });
      const finish = script.finishReason ?? (script.toolCalls?.length ? "tool_calls" : "stop");
      events.push(chunk(served, {}, finish));
      if (script.usage && wantsUsage(request)) {
        const { prompt_tokens, completion_tokens } = script.usage;
        events.push(
          sse({
            id: "chatcmpl-fake0001",
            object: "chat.completion.chunk",
            created: 1_767_225_600,
            model: served,
            system_fingerprint: "fp_fake",
            choices: [],
            usage: {
              prompt_tokens,
              completion_tokens,
              total_tokens: prompt_tokens + completion_tokens,
              prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
              completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
            },
          }),
        );
      }
      events.push(sse("[DONE]"));
      await writeInSlices(res, events.join(""));
      res.end();
      return;
    }
  }
}

/** Starts the fake; its `url` is the base URL (`…/v1`) to give `createOpenAiProvider`. */
export function startFakeOpenAi(): Promise<FakeServer<OpenAiScript>> {
  return listenLoopback<OpenAiScript>("/v1", answerOpenAi);
}
