import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  decodeJson,
  TEAM_EXEC_EVENTS_MAX_BYTES,
  TEAM_EXEC_EVENTS_MAX_ENTRIES,
  teamExecEventsOf,
  teamExecEventsSchema,
  toTeamExecEvents,
  type TeamExecEvents,
  type TeamLogEntry,
} from "../../runtime/protocol/index.js";
import { teamEventBatches } from "../../runtime/system/team-event-batches.js";

const run = { orgId: randomUUID(), teamId: randomUUID(), executionId: randomUUID() };
const agentId = randomUUID();
const at = "2030-01-01T00:00:00.000Z";
const entry = (seq: number, text = `step ${seq}`): TeamLogEntry => ({ seq, event: { type: "team.contribution", round: 1, agentId, text } });
const entries = (from: number, count: number, text?: (seq: number) => string) =>
  Array.from({ length: count }, (_, i) => entry(from + i, text?.(from + i)));
const decoded = (data: Uint8Array) => decodeJson(teamExecEventsSchema, data, "team events");
const seqs = (message: TeamExecEvents) => message.entries.map((e) => e.seq);

describe("the team.exec.events message", () => {
  it("parses one step's consecutive entries and expands them into per-entry events with the message's ids and time", () => {
    const message = toTeamExecEvents(run, entries(4, 3), at);
    expect(teamExecEventsSchema.parse(message)).toEqual(message);
    expect(teamExecEventsOf(message)).toEqual([4, 5, 6].map((seq) => ({ ...run, seq, at, event: entry(seq).event })));
  });

  it("refuses no entries, a gap, a repeat, a step back, a bad envelope or an unknown event, naming the field", () => {
    const good = toTeamExecEvents(run, entries(1, 3), at);
    const issues = (value: unknown) => {
      const parsed = teamExecEventsSchema.safeParse(value);
      return parsed.success ? [] : parsed.error.issues.map((issue) => issue.path.join("."));
    };
    expect(issues({ ...good, entries: [] })).toEqual(["entries"]);
    expect(issues({ ...good, entries: [entry(1), entry(3)] })).toEqual(["entries.1.seq"]);
    expect(issues({ ...good, entries: [entry(1), entry(2), entry(2)] })).toEqual(["entries.2.seq"]);
    expect(issues({ ...good, entries: [entry(2), entry(1)] })).toEqual(["entries.1.seq"]);
    expect(issues({ ...good, entries: [entry(0)] })).toEqual(["entries.0.seq"]);
    expect(issues({ ...good, type: "team.exec.event" })).toEqual(["type"]);
    expect(issues({ ...good, orgId: "not an id" })).toEqual(["orgId"]);
    expect(issues({ ...good, at: undefined })).toEqual(["at"]);
    expect(issues({ ...good, extra: 1 })).toEqual([""]);
    expect(issues({ ...good, entries: [{ seq: 1, event: { type: "team.unknown" } }] })).toEqual(["entries.0.event.type"]);
    // The former one-entry message is not a batch.
    expect(issues({ ...run, seq: 1, at, event: entry(1).event })).not.toEqual([]);
    expect(() => decodeJson(teamExecEventsSchema, new TextEncoder().encode(JSON.stringify({ ...good, entries: [entry(1), entry(3)] })), "team events")).toThrow(
      expect.objectContaining({ code: "INVALID_MESSAGE", message: expect.stringContaining("expected seq 2 after 1, got 3") }),
    );
  });
});

describe("teamEventBatches: one step's entries as few messages as the bounds allow", () => {
  it("sends a usual step as one message, and nothing for no entries", () => {
    const step = entries(2, 17);
    const batches = teamEventBatches(run, step, at);
    expect(batches).toHaveLength(1);
    expect(decoded(batches[0]!.data)).toEqual(toTeamExecEvents(run, step, at));
    expect(teamEventBatches(run, [], at)).toEqual([]);
  });

  it("splits by entry count at the protocol's bound, in seq order, each entry once", () => {
    const step = entries(10, 2 * TEAM_EXEC_EVENTS_MAX_ENTRIES + 5);
    const messages = teamEventBatches(run, step, at).map((batch) => decoded(batch.data));
    expect(messages.map((message) => message.entries.length)).toEqual([TEAM_EXEC_EVENTS_MAX_ENTRIES, TEAM_EXEC_EVENTS_MAX_ENTRIES, 5]);
    expect(messages.flatMap(seqs)).toEqual(step.map((e) => e.seq));
    expect(new Set(messages.map((message) => message.at))).toEqual(new Set([at]));
  });

  it("splits by encoded size: every message within the byte bound, filled as far as it goes", () => {
    const text = "é".repeat(20_000); // 2 bytes each in UTF-8: counting characters would undercount.
    const step = entries(1, 30, () => text);
    const batches = teamEventBatches(run, step, at);
    const sizes = batches.map((batch) => batch.data.byteLength);
    expect(batches.length).toBeGreaterThan(1);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(TEAM_EXEC_EVENTS_MAX_BYTES);
    // Greedy: each message but the last had no room for the next entry.
    const oneEntry = Buffer.byteLength(JSON.stringify(entry(10, text)));
    for (const size of sizes.slice(0, -1)) expect(size + 1 + oneEntry).toBeGreaterThan(TEAM_EXEC_EVENTS_MAX_BYTES);
    const messages = batches.map((batch) => decoded(batch.data));
    expect(messages.flatMap(seqs)).toEqual(step.map((e) => e.seq));
    expect(batches.map((batch) => batch.entries)).toEqual(messages.map((message) => message.entries));
  });

  it("sends an entry larger than the byte bound alone, its neighbours in messages of their own", () => {
    const bounds = { maxEntries: 64, maxBytes: 2_000 };
    const step = [entry(1), entry(2), entry(3, "x".repeat(5_000)), entry(4), entry(5)];
    const batches = teamEventBatches(run, step, at, bounds);
    expect(batches.map((batch) => batch.entries.map((e) => e.seq))).toEqual([[1, 2], [3], [4, 5]]);
    expect(batches.map((batch) => batch.data.byteLength > bounds.maxBytes)).toEqual([false, true, false]);
    expect(batches.flatMap((batch) => decoded(batch.data).entries)).toEqual(step);
  });

  it("holds both bounds at once: a message ends at whichever comes first", () => {
    const step = entries(1, 7);
    const grouping = (bounds: { maxEntries: number; maxBytes: number }) => teamEventBatches(run, step, at, bounds).map((batch) => batch.entries.map((e) => e.seq));
    // Exactly room for two of these equal-sized entries.
    const two = teamEventBatches(run, step.slice(0, 2), at)[0]!.data.byteLength;
    expect(grouping({ maxEntries: 3, maxBytes: two })).toEqual([[1, 2], [3, 4], [5, 6], [7]]);
    expect(grouping({ maxEntries: 3, maxBytes: two - 1 })).toEqual([[1], [2], [3], [4], [5], [6], [7]]);
    expect(grouping({ maxEntries: 3, maxBytes: TEAM_EXEC_EVENTS_MAX_BYTES })).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });
});
