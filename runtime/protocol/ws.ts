import { z } from "zod";
import { orgIdSchema } from "./ids.js";
import { agentStatusChangedSchema } from "./status.js";
import { teamExecEventSchema } from "./team-events.js";

/**
 * One coordination log entry of a team execution (a TeamExecEvent, see team-events.ts) as relayed
 * to the org's sockets. Frames may repeat or, across a reconnect, miss an entry: order and
 * de-duplicate by `seq`, and read the execution over HTTP for the whole log. One frame per entry,
 * though the bus carries a step's entries in one TeamExecEvents message.
 */
export const teamEventFrameSchema = teamExecEventSchema.extend({ type: z.literal("team.event") });
export type TeamEventFrame = z.infer<typeof teamEventFrameSchema>;

/** Frames the control plane sends on `/ws`. A connection is scoped to one organization. */
export const serverFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("hello"), orgId: orgIdSchema }),
  agentStatusChangedSchema,
  teamEventFrameSchema,
  z.object({ type: z.literal("pong"), id: z.string().max(100) }),
]);
export type ServerFrame = z.infer<typeof serverFrameSchema>;

/** Frames a client may send. Anything else closes the socket with WS_CLOSE.invalidFrame. */
export const clientFrameSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("ping"), id: z.string().max(100) }),
]);
export type ClientFrame = z.infer<typeof clientFrameSchema>;

/** WebSocket close codes (4000–4999 is the application range). */
export const WS_CLOSE = {
  normal: 1000,
  goingAway: 1001,
  invalidFrame: 4400,
  unauthenticated: 4401,
  forbidden: 4403,
} as const;
