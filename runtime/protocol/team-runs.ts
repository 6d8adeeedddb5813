import { z } from "zod";
import { wireErrorSchema } from "./errors.js";
import { agentIdSchema, orgIdSchema } from "./ids.js";
import { agentProfileSchema, answerKeySchema } from "./messages.js";
import { teamCoordinationSchema, teamExecutionIdSchema, teamIdSchema, teamRoleSchema } from "./api-teams.js";
import { tokenUsageSchema } from "./status.js";
import { teamLogEntrySchema, teamParticipationSchema } from "./team-events.js";

/**
 * Running a team on the runtime pool: the control plane (or an experiment) sends a `team.run`
 * request on `nf.<orgId>.team.<teamId>.exec.<executionId>.run` (runtime workers, queue group); the
 * worker that takes it runs the structure's team machine, asks the members through agent calls
 * (`nf.<orgId>.agent.<agentId>.call`, so each member runs on the worker hosting it), publishes
 * every coordination step on `….event` (one TeamExecEvents message per step), and replies with a {@link TeamRunReply} when the run ends.
 * `….cancel` stops it.
 */

/** A member of the run: who it is in the team, and the profile its agent calls carry. */
export const teamRunMemberSchema = z.strictObject({
  agentId: agentIdSchema,
  name: z.string().min(1).max(200),
  role: teamRoleSchema,
  priority: z.int().min(-1_000).max(1_000),
  capabilities: z.array(z.string().max(100)).max(100),
  successRate: z.number().min(0).max(1).optional(),
  weight: z.number().positive().max(1_000_000).optional(),
  profile: agentProfileSchema,
});
export type TeamRunMember = z.infer<typeof teamRunMemberSchema>;

export const teamRunRequestSchema = z.strictObject({
  type: z.literal("team.run"),
  orgId: orgIdSchema,
  teamId: teamIdSchema,
  executionId: teamExecutionIdSchema,
  task: z.strictObject({ prompt: z.string().min(1).max(20_000), answerKey: answerKeySchema.optional() }),
  members: z.array(teamRunMemberSchema).min(1).max(100),
  coordination: teamCoordinationSchema,
  /** Seeds the run's randomness (the `random` tie-break); safe integer. */
  seed: z.int(),
  /** Deadline of each member call (DEMOCRATIC uses its own `memberTimeoutMs`). */
  memberTimeoutMs: z.int().min(100).max(3_600_000).optional(),
});
export type TeamRunRequest = z.infer<typeof teamRunRequestSchema>;

/** How a run ended (the team machine's output), as it crosses the bus. */
export const teamRunOutputSchema = z.object({
  status: z.enum(["COMPLETED", "FAILED", "CANCELLED"]),
  answer: z.string().optional(),
  error: wireErrorSchema.optional(),
  participation: z.array(teamParticipationSchema),
  usage: tokenUsageSchema,
  costMicroUsd: z.int().nonnegative(),
  results: z.array(z.unknown()),
  /**
   * The whole coordination log; each entry with `at`, the time it was published (in a TeamExecEvents message),
   * so a consumer that missed events can store exactly what it would have stored from them.
   */
  log: z.array(teamLogEntrySchema.extend({ at: z.iso.datetime().optional() })),
  startedAt: z.iso.datetime(),
  completedAt: z.iso.datetime(),
  durationMs: z.int().nonnegative(),
  workerId: z.string(),
});
export type TeamRunOutputWire = z.infer<typeof teamRunOutputSchema>;

export const teamRunReplySchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), output: teamRunOutputSchema }),
  z.object({ ok: z.literal(false), error: wireErrorSchema }),
]);
export type TeamRunReply = z.infer<typeof teamRunReplySchema>;
