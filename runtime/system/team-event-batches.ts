import {
  encodeJson,
  TEAM_EXEC_EVENTS_MAX_BYTES,
  TEAM_EXEC_EVENTS_MAX_ENTRIES,
  toTeamExecEvents,
  type TeamLogEntry,
} from "../protocol/index.js";

/** How large one TeamExecEvents message may grow; defaults are the protocol's. */
export interface TeamEventBatchBounds {
  maxEntries: number;
  maxBytes: number;
}

/** One message ready to publish and the entries it carries (for logs). */
export interface TeamEventBatch {
  entries: readonly TeamLogEntry[];
  data: Uint8Array;
}

const defaultBounds: TeamEventBatchBounds = { maxEntries: TEAM_EXEC_EVENTS_MAX_ENTRIES, maxBytes: TEAM_EXEC_EVENTS_MAX_BYTES };

/**
 * The TeamExecEvents messages that carry `entries` (the new entries of one step, consecutive seqs)
 * of a run, all stamped `at`: as few as the bounds allow, in seq order, each entry in exactly one.
 * A message holds at most `maxEntries` entries and `maxBytes` encoded bytes, except that an entry
 * too large on its own goes alone (nats-server refuses it only past its `max_payload`).
 *
 * The usual step (a few small entries) is encoded once; only a step over a bound has each entry
 * measured and its messages encoded from the measured groups. Throws only if an entry cannot be
 * encoded as JSON, which a schema-valid entry always can.
 */
export function teamEventBatches(
  run: { orgId: string; teamId: string; executionId: string },
  entries: readonly TeamLogEntry[],
  at: string,
  bounds: TeamEventBatchBounds = defaultBounds,
): TeamEventBatch[] {
  if (entries.length === 0) return [];
  if (entries.length <= bounds.maxEntries) {
    const data = encodeJson(toTeamExecEvents(run, entries, at));
    if (data.byteLength <= bounds.maxBytes) return [{ entries, data }];
  }
  // JSON.stringify of an array is "[" + items joined by "," + "]", so a message's size is exactly
  // the envelope with no entries plus each entry's size plus one comma between two entries.
  const envelope = Buffer.byteLength(JSON.stringify(toTeamExecEvents(run, [], at)));
  const batches: TeamEventBatch[] = [];
  let group: TeamLogEntry[] = [];
  let bytes = envelope;
  const flush = () => {
    if (group.length === 0) return;
    batches.push({ entries: group, data: encodeJson(toTeamExecEvents(run, group, at)) });
    group = [];
    bytes = envelope;
  };
  for (const entry of entries) {
    const size = Buffer.byteLength(JSON.stringify(entry));
    if (group.length > 0 && (group.length >= bounds.maxEntries || bytes + 1 + size > bounds.maxBytes)) flush();
    bytes += (group.length > 0 ? 1 : 0) + size;
    group.push(entry);
  }
  flush();
  return batches;
}
