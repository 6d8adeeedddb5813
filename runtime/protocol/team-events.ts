import { z } from "zod";
import { teamExecutionIdSchema, teamIdSchema, teamStructureSchema } from "./api-teams.js";
import { wireErrorSchema } from "./errors.js";
import { agentIdSchema, orgIdSchema } from "./ids.js";
import { tokenUsageSchema } from "./status.js";

/**
 * The coordination log of one team execution: every step a team machine takes, in order. The
 * machine appends `{ seq, event }` entries to its context (no clock in a machine); after each step
 * the wiring publishes the entries it appended together, as one {@link TeamExecEvents} message on
 * `nf.<orgId>.team.<teamId>.exec.<executionId>.event` stamped with one `at` (split into several
 * when the step appended many or large entries). Consumers parse with these schemas, never cast,
 * and expand a message into per-entry {@link TeamExecEvent}s with {@link teamExecEventsOf}.
 */

/** Why a member was called: one value per kind of coordination step. */
export const askPurposeSchema = z.enum(["answer", "debate", "rank", "decompose", "work", "review", "synthesise", "contribute", "stage"]);
export type AskPurpose = z.infer<typeof askPurposeSchema>;

/** What one member spent over a team execution; `calls` counts every ask, `failures` the ones that failed. */
export const teamParticipationSchema = z.object({
  agentId: agentIdSchema,
  calls: z.int().nonnegative(),
  failures: z.int().nonnegative(),
  tokens: tokenUsageSchema,
  costMicroUsd: z.int().nonnegative(),
});
export type TeamParticipation = z.infer<typeof teamParticipationSchema>;

/** A ballot as handed to the tally: single-choice (`choice: null` abstains) or ranked (empty abstains). */
export const teamBallotSchema = z.union([
  z.strictObject({ voterId: z.string(), choice: z.string().nullable() }),
  z.strictObject({ voterId: z.string(), ranking: z.array(z.string()) }),
]);
export type TeamBallot = z.infer<typeof teamBallotSchema>;

const totals = {
  participation: z.array(teamParticipationSchema),
  usage: tokenUsageSchema,
  costMicroUsd: z.int().nonnegative(),
};
const index = z.int().nonnegative();
const positive = z.int().positive();

/** One coordination step. `subtask` and `stage` are 0-based; `round` and `attempt` start at 1. */
export const teamEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("team.started"), structure: teamStructureSchema, members: z.array(agentIdSchema) }),
  /** The leader's breakdown; `fallback` when it gave nothing usable and the whole task became one subtask. */
  z.object({ type: z.literal("team.decomposition"), agentId: agentIdSchema, subtasks: z.array(z.string()), fallback: z.boolean() }),
  z.object({
    type: z.literal("team.delegation"),
    subtask: index,
    text: z.string(),
    agentId: agentIdSchema,
    attempt: positive,
    reason: z.enum(["initial", "redo", "failed"]),
  }),
  z.object({ type: z.literal("team.work"), subtask: index, agentId: agentIdSchema, attempt: positive, text: z.string() }),
  z.object({ type: z.literal("team.review"), subtask: index, agentId: agentIdSchema, verdict: z.enum(["approve", "redo"]), text: z.string() }),
  z.object({ type: z.literal("team.contribution"), round: positive, agentId: agentIdSchema, text: z.string() }),
  z.object({
    type: z.literal("team.convergence"),
    round: positive,
    method: z.enum(["similarity", "unchanged"]),
    score: z.number(),
    threshold: z.number(),
    converged: z.boolean(),
  }),
  /** A pipeline stage: its output handed on (`completed`), or `failed` / `skipped` (`text` then absent). */
  z.object({
    type: z.literal("team.stage"),
    stage: index,
    agentId: agentIdSchema,
    attempt: positive,
    status: z.enum(["completed", "failed", "skipped"]),
    text: z.string().optional(),
  }),
  /** A member's first answer (`round` is always 1; revisions are `team.revision`). `answer`: the parsed option or normalized text, null if none. */
  z.object({ type: z.literal("team.answer"), round: positive, agentId: agentIdSchema, text: z.string(), answer: z.string().nullable() }),
  /** A debate reply; `changed` when the parsed answer differs from the member's previous one. */
  z.object({
    type: z.literal("team.revision"),
    round: positive,
    agentId: agentIdSchema,
    text: z.string(),
    answer: z.string().nullable(),
    changed: z.boolean(),
  }),
  /** The exact ballot handed to the tally; `abstained` with the reason when the member gave nothing countable. */
  z.object({
    type: z.literal("team.ballot"),
    voteRound: positive,
    ballot: teamBallotSchema,
    abstained: z.boolean(),
    reason: z.string().optional(),
  }),
  /** The full TallyResult of runtime/teams/voting (parse it with `tallyResultSchema`; `recount` reproduces it). */
  z.object({ type: z.literal("team.tally"), voteRound: positive, result: z.json() }),
  /** What the team made of a tally: finish with `winner`, vote again, or fail. */
  z.object({
    type: z.literal("team.decision"),
    voteRound: positive,
    outcome: z.enum(["decided", "tie", "no-quorum", "no-majority", "below-min-voters", "invalid"]),
    winner: z.string().nullable(),
    next: z.enum(["complete", "revote", "fail"]),
    message: z.string(),
  }),
  z.object({ type: z.literal("team.synthesis"), agentId: agentIdSchema, text: z.string() }),
  z.object({
    type: z.literal("team.member.failed"),
    agentId: agentIdSchema,
    purpose: askPurposeSchema,
    error: wireErrorSchema,
  }),
  z.object({ type: z.literal("team.completed"), answer: z.string(), ...totals }),
  z.object({ type: z.literal("team.failed"), error: wireErrorSchema, ...totals }),
  z.object({ type: z.literal("team.cancelled"), error: wireErrorSchema, ...totals }),
]);
export type TeamEvent = z.infer<typeof teamEventSchema>;
export type TeamEventType = TeamEvent["type"];

/** One log entry: the step and its position (1, 2, 3, … with no gaps) in the execution's log. */
export const teamLogEntrySchema = z.object({ seq: positive, event: teamEventSchema });
export type TeamLogEntry = z.infer<typeof teamLogEntrySchema>;

/**
 * One log entry with who it belongs to and when it was published: the per-entry shape consumers
 * work with (the control plane stores and relays these; the WebSocket `team.event` frame extends
 * it). On the bus entries travel in {@link TeamExecEvents} messages, never one by one.
 * Subscribers order and de-duplicate by `seq`.
 */
export const teamExecEventSchema = z.strictObject({
  orgId: orgIdSchema,
  teamId: teamIdSchema,
  executionId: teamExecutionIdSchema,
  seq: positive,
  at: z.iso.datetime(),
  event: teamEventSchema,
});
export type TeamExecEvent = z.infer<typeof teamExecEventSchema>;

/** Most entries the worker puts in one {@link TeamExecEvents} message. */
export const TEAM_EXEC_EVENTS_MAX_ENTRIES = 64;
/**
 * Most bytes (UTF-8 JSON) the worker puts in one {@link TeamExecEvents} message, well under
 * nats-server's default `max_payload` of 1 MiB; an entry that alone is larger goes alone.
 */
export const TEAM_EXEC_EVENTS_MAX_BYTES = 256 * 1024;

/**
 * The entries one step of a team execution appended to its log, as published on
 * `nf.<orgId>.team.<teamId>.exec.<executionId>.event` (the subject of the former one-entry message:
 * one subject per execution keeps NATS permissions and the control plane's wildcard as they were).
 * All entries share `at`, the time the step's entries were published. `entries` holds at least one
 * entry, with consecutive ascending `seq`s (n, n+1, …); a step with more than
 * {@link TEAM_EXEC_EVENTS_MAX_ENTRIES} entries or {@link TEAM_EXEC_EVENTS_MAX_BYTES} bytes comes as
 * several messages, in seq order, with the same `at`. Those bounds are the sender's: receivers
 * accept larger messages (nats-server's `max_payload` is the hard limit). A message that breaks
 * these rules fails to parse as a whole.
 */
export const teamExecEventsSchema = z
  .strictObject({
    type: z.literal("team.exec.events"),
    orgId: orgIdSchema,
    teamId: teamIdSchema,
    executionId: teamExecutionIdSchema,
    at: z.iso.datetime(),
    entries: z.array(teamLogEntrySchema).min(1),
  })
  .superRefine((message, ctx) => {
    for (let i = 1; i < message.entries.length; i++) {
      const [previous, entry] = [message.entries[i - 1]!, message.entries[i]!];
      if (entry.seq !== previous.seq + 1) {
        ctx.addIssue({ code: "custom", path: ["entries", i, "seq"], message: `expected seq ${previous.seq + 1} after ${previous.seq}, got ${entry.seq}` });
        return;
      }
    }
  });
export type TeamExecEvents = z.infer<typeof teamExecEventsSchema>;

/** The message carrying `entries` (consecutive seqs, at least one) of a run, published at `at`. */
export function toTeamExecEvents(
  run: { orgId: string; teamId: string; executionId: string },
  entries: readonly TeamLogEntry[],
  at: string,
): TeamExecEvents {
  return { type: "team.exec.events", orgId: run.orgId, teamId: run.teamId, executionId: run.executionId, at, entries: [...entries] };
}

/** A message's entries one by one, in seq order, each with the message's ids and `at`. */
export function teamExecEventsOf(message: TeamExecEvents): TeamExecEvent[] {
  return message.entries.map((entry) => ({
    orgId: message.orgId,
    teamId: message.teamId,
    executionId: message.executionId,
    seq: entry.seq,
    at: message.at,
    event: entry.event,
  }));
}

/**
 * Requested on `nf.<orgId>.team.<teamId>.exec.<executionId>.cancel`: stop a running team execution
 * (its machine goes to CANCELLED and aborts every pending member call).
 */
export const teamExecCancelSchema = z.strictObject({
  type: z.literal("team.exec.cancel"),
  orgId: orgIdSchema,
  teamId: teamIdSchema,
  executionId: teamExecutionIdSchema,
});
export type TeamExecCancel = z.infer<typeof teamExecCancelSchema>;
