import { NeuroflowError } from "../protocol/index.js";

/**
 * Server-sent events over HTTP, as both vendors stream them: the parser (WHATWG "event stream
 * interpretation") and the POST that opens a stream and maps every way it can fail to a
 * NeuroflowError, so each provider only interprets its own events.
 */

/** One dispatched event: its `event:` name when it had one, and its `data:` lines joined by "\n". */
export interface SseEvent {
  event?: string;
  data: string;
}

export interface SseParseOptions {
  /** Longest line or event data accepted, in characters; a bigger one fails the stream. */
  maxEventChars?: number;
}

const LF = 10;
const CR = 13;

/**
 * Yields the events of a `text/event-stream` body. Chunk boundaries may fall anywhere (inside a
 * line, a `\r\n` pair or a UTF-8 sequence); lines end in `\n`, `\r\n` or `\r`; `:` lines are
 * comments; several `data:` lines make one multi-line event; `id:`, `retry:` and unknown fields are
 * ignored (nothing here reconnects). An unterminated event at the end is dropped, as the spec says,
 * so a cut-off stream never yields half an event. Invalid UTF-8 becomes U+FFFD.
 *
 * Fails with the stream's own error when reading fails, and with PROVIDER_ERROR when a line or an
 * event passes `maxEventChars` (default 8 Mi). Stopping early (break / return) cancels the stream,
 * which closes the HTTP connection under it.
 */
export async function* parseSse(
  stream: ReadableStream<Uint8Array>,
  options: SseParseOptions = {},
): AsyncGenerator<SseEvent, void, undefined> {
  const limit = options.maxEventChars ?? 8 * 1024 * 1024;
  const tooLong = () => new NeuroflowError("PROVIDER_ERROR", `event stream line or event longer than ${limit} characters`);
  const reader = stream.getReader();
  const decoder = new TextDecoder("utf-8");
  let line = "";
  // A `\r` may end one chunk and its `\n` start the next: remember it so the pair ends one line.
  let afterCr = false;
  let eventName: string | undefined;
  let data: string[] | undefined;
  let dataChars = 0;

  const takeLine = (text: string): SseEvent | undefined => {
    if (text === "") {
      const pending = data;
      const name = eventName;
      data = undefined;
      eventName = undefined;
      dataChars = 0;
      if (pending === undefined) return undefined;
      const joined = pending.join("\n");
      return name ? { event: name, data: joined } : { data: joined };
    }
    if (text.charCodeAt(0) === 58 /* ":" */) return undefined;
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") eventName = value;
    else if (field === "data") {
      dataChars += value.length + 1;
      if (dataChars > limit) throw tooLong();
      (data ??= []).push(value);
    }
    return undefined;
  };

  try {
    for (;;) {
      const { done, value } = await reader.read();
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      let start = 0;
      for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code === LF && afterCr) {
          afterCr = false;
          start = i + 1;
          continue;
        }
        afterCr = code === CR;
        if (code !== LF && code !== CR) continue;
        const complete = line + text.slice(start, i);
        line = "";
        start = i + 1;
        const event = takeLine(complete);
        if (event) yield event;
      }
      line += text.slice(start);
      if (line.length > limit) throw tooLong();
      if (done) return;
    }
  } finally {
    // Also runs when the consumer stops early; cancelling a finished or failed stream is harmless.
    await reader.cancel().catch(() => undefined);
  }
}

/** JSON.parse that reports failure instead of throwing, so callers can name what was malformed. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    const value: unknown = JSON.parse(text);
    return { ok: true, value };
  } catch {
    return { ok: false };
  }
}

/**
 * How long a 429/503 asks us to wait, in ms: `retry-after-ms` (OpenAI and Anthropic send it), else
 * `Retry-After` as seconds or an HTTP date (relative to `nowMs`, never negative). Undefined when
 * absent or unreadable.
 */
export function parseRetryAfter(headers: Headers, nowMs: number = Date.now()): number | undefined {
  const ms = headers.get("retry-after-ms")?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.round(Number(ms));
  const value = headers.get("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export interface EventStreamRequest {
  /** Names the vendor in error messages ("OpenAI", "Anthropic"). */
  vendor: string;
  url: string;
  headers: Record<string, string>;
  /** Sent as JSON. */
  body: unknown;
  /** Bounds the whole call, from connecting to the last event. */
  timeoutMs: number;
  /** The caller's abort (task cancelled, actor stopped). */
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** Values that must never appear in an error message (the API key). */
  secrets?: Array<string | undefined>;
  /** The vendor's human-readable message from a parsed error body, when it has one. */
  errorMessage?: (body: unknown) => string | undefined;
}

const maxVendorMessage = 500;

/** Replaces every secret in `text` (vendors echo keys back, e.g. in "Incorrect API key: sk-…"). */
function redact(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  // Shorter values are placeholders ("ollama", "x") that would garble the message, not secrets.
  for (const secret of secrets) if (secret && secret.length >= 8) out = out.split(secret).join("[redacted]");
  return out;
}

async function httpFailure(response: Response, request: EventStreamRequest): Promise<NeuroflowError> {
  const { status } = response;
  const { vendor } = request;
  let vendorMessage: string | undefined;
  try {
    const parsed = parseJson(await response.text());
    vendorMessage = parsed.ok ? request.errorMessage?.(parsed.value) : undefined;
  } catch {
    // The body could not be read (timeout, reset): the status alone says enough.
  }
  const said = vendorMessage ? `: ${redact(vendorMessage, request.secrets ?? []).slice(0, maxVendorMessage)}` : "";
  if (status === 401 || status === 403) {
    // The vendor's text is left out on purpose: it may quote part of the key.
    return new NeuroflowError("PROVIDER_ERROR", `${vendor} authentication failed (HTTP ${status})`, { details: { status } });
  }
  const retryAfterMs = parseRetryAfter(response.headers);
  const details = retryAfterMs === undefined ? { status } : { status, retryAfterMs };
  if (status === 429) {
    return new NeuroflowError("PROVIDER_ERROR", `${vendor} rate limit exceeded (HTTP 429)${said}`, { retryable: true, details });
  }
  // 408/409 are the vendors' "try again" conflicts (both official SDKs retry them), 529 is Anthropic's overload.
  const retryable = status === 408 || status === 409 || status >= 500;
  const what = status >= 500 ? "server error" : "rejected the request";
  return new NeuroflowError("PROVIDER_ERROR", `${vendor} ${what} (HTTP ${status})${said}`, { retryable, details });
}

function errorCode(error: unknown): string | undefined {
  // undici's "fetch failed" TypeError carries the socket error (ECONNREFUSED, ENOTFOUND) as its cause.
  const cause: unknown = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error && "code" in cause && typeof cause.code === "string") return cause.code;
  return undefined;
}

function transportFailure(error: unknown, request: EventStreamRequest, timeout: AbortSignal): NeuroflowError {
  // The caller's abort wins over a timeout that fired at the same moment: nobody waits for a retry.
  if (request.signal?.aborted) return new NeuroflowError("PROVIDER_ERROR", "model call aborted", { cause: request.signal.reason });
  if (timeout.aborted) {
    return new NeuroflowError("TIMEOUT", `${request.vendor} did not finish within ${request.timeoutMs} ms`, { retryable: true });
  }
  if (error instanceof NeuroflowError) return error;
  const code = errorCode(error);
  return new NeuroflowError("UNAVAILABLE", `${request.vendor} connection failed${code ? ` (${code})` : ""}`, {
    retryable: true,
    cause: error,
  });
}

/**
 * POSTs `body` as JSON and yields the events of the streamed answer.
 *
 * Fails with: PROVIDER_ERROR for an HTTP error status (401/403 "authentication failed" without the
 * vendor's text, not retryable; 429 retryable with `details.retryAfterMs`; 408/409/5xx retryable;
 * other 4xx not retryable, with the vendor's message, secrets redacted), TIMEOUT (retryable) when
 * `timeoutMs` passes before the stream ends, PROVIDER_ERROR "model call aborted" when `signal`
 * aborts, UNAVAILABLE (retryable) when the connection fails or breaks mid-stream.
 */
export async function* postEventStream(request: EventStreamRequest): AsyncGenerator<SseEvent, void, undefined> {
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  if (request.signal?.aborted) throw transportFailure(undefined, request, timeout);
  let response: Response;
  try {
    response = await (request.fetch ?? fetch)(request.url, {
      method: "POST",
      headers: { ...request.headers, "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify(request.body),
      signal,
    });
  } catch (error) {
    throw transportFailure(error, request, timeout);
  }
  if (!response.ok) throw await httpFailure(response, request);
  if (!response.body) throw new NeuroflowError("PROVIDER_ERROR", `${request.vendor} answered without a body`);
  try {
    yield* parseSse(response.body);
  } catch (error) {
    throw transportFailure(error, request, timeout);
  }
}
