import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRetryAfter, parseSse, type SseEvent } from "../../runtime/providers/sse.js";

const encoder = new TextEncoder();

/** A stream that delivers `bytes` cut at `cuts` (sorted byte offsets), one read per piece. */
function streamOf(bytes: Uint8Array, cuts: number[] = []): { stream: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    pieces.push(bytes.subarray(start, cut));
    start = cut;
  }
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = pieces.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled };
}

async function collect(text: string | Uint8Array, cuts: number[] = []): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of parseSse(streamOf(typeof text === "string" ? encoder.encode(text) : text, cuts).stream)) events.push(event);
  return events;
}

describe("parseSse", () => {
  it("yields named and unnamed events, joining multi-line data and skipping comments", async () => {
    const text = ": keep-alive\nevent: message_start\ndata: {\"a\":1}\n\ndata: line one\ndata: line two\n\n:another comment\ndata: [DONE]\n\n";
    expect(await collect(text)).toEqual([
      { event: "message_start", data: '{"a":1}' },
      { data: "line one\nline two" },
      { data: "[DONE]" },
    ]);
  });

  it("accepts \\r\\n and \\r line endings and strips exactly one leading space", async () => {
    expect(await collect("data:  two spaces\r\n\r\ndata:none\r\revent:x\rdata\r\r")).toEqual([
      { data: " two spaces" },
      { data: "none" },
      { event: "x", data: "" },
    ]);
  });

  it("does not dispatch an event without data, and drops an unterminated last event", async () => {
    expect(await collect("event: ping\n\nid: 7\nretry: 10\n\ndata: kept\n\ndata: cut off")).toEqual([{ data: "kept" }]);
  });

  it("treats a \\r at the end of one chunk and a \\n at the start of the next as one line end", async () => {
    const bytes = encoder.encode("data: a\r\ndata: b\r\n\r\n");
    expect(await collect(bytes, [8])).toEqual([{ data: "a\nb" }]);
  });

  it("reassembles a UTF-8 character split across chunks", async () => {
    const bytes = encoder.encode("data: 🙂é\n\n");
    const emojiStart = 6;
    expect(await collect(bytes, [emojiStart + 1, emojiStart + 2, emojiStart + 5])).toEqual([{ data: "🙂é" }]);
  });

  it("ignores a byte-order mark at the start", async () => {
    expect(await collect(new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode("data: x\n\n")]))).toEqual([{ data: "x" }]);
  });

  it("cancels the underlying stream when the consumer stops early", async () => {
    const source = streamOf(encoder.encode("data: 1\n\ndata: 2\n\n"), [9]);
    for await (const event of parseSse(source.stream)) {
      expect(event.data).toBe("1");
      break;
    }
    expect(source.cancelled()).toBe(true);
  });

  it("fails with PROVIDER_ERROR on a line longer than the limit", async () => {
    const run = async () => {
      for await (const _ of parseSse(streamOf(encoder.encode(`data: ${"x".repeat(100)}`)).stream, { maxEventChars: 50 })) void _;
    };
    await expect(run()).rejects.toMatchObject({ code: "PROVIDER_ERROR" });
  });

  // Field values may not contain line breaks; everything else, including astral characters, goes.
  const lineText = fc.string({ unit: "grapheme", maxLength: 12 }).filter((value) => !/[\r\n]/.test(value));
  const eventArb = fc.record({
    event: fc.option(lineText.filter((value) => value.length > 0 && !value.startsWith(" ")), { nil: undefined }),
    lines: fc.array(lineText, { minLength: 1, maxLength: 3 }),
    comment: fc.option(lineText, { nil: undefined }),
  });

  it("yields the same events however the bytes are split (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventArb, { maxLength: 6 }),
        fc.constantFrom("\n", "\r\n", "\r"),
        fc.array(fc.nat(), { maxLength: 20 }),
        async (events, eol, rawCuts) => {
          const text = events
            .map((e) =>
              [
                ...(e.comment === undefined ? [] : [`:${e.comment}`]),
                ...(e.event === undefined ? [] : [`event: ${e.event}`]),
                ...e.lines.map((line) => `data: ${line}`),
                "",
              ].join(eol) + eol,
            )
            .join("");
          const bytes = encoder.encode(text);
          const cuts = [...new Set(rawCuts.map((cut) => (bytes.length === 0 ? 0 : cut % bytes.length)))].sort((a, b) => a - b);
          const expected = events.map((e) => (e.event === undefined ? { data: e.lines.join("\n") } : { event: e.event, data: e.lines.join("\n") }));
          expect(await collect(bytes, cuts)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  it("reads seconds, an HTTP date, and OpenAI's retry-after-ms", () => {
    expect(parseRetryAfter(new Headers({ "retry-after": "2" }), now)).toBe(2000);
    expect(parseRetryAfter(new Headers({ "retry-after": "0.5" }), now)).toBe(500);
    expect(parseRetryAfter(new Headers({ "retry-after": "Thu, 01 Jan 2026 00:00:07 GMT" }), now)).toBe(7000);
    expect(parseRetryAfter(new Headers({ "retry-after-ms": "1234", "retry-after": "2" }), now)).toBe(1234);
  });

  it("never returns a negative wait, and nothing for an absent or unreadable header", () => {
    expect(parseRetryAfter(new Headers({ "retry-after": "Wed, 31 Dec 2025 23:59:00 GMT" }), now)).toBe(0);
    expect(parseRetryAfter(new Headers(), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers({ "retry-after": "soon" }), now)).toBeUndefined();
  });
});
