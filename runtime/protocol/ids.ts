import { z } from "zod";

/**
 * A subject token: letters, digits, `_` and `-`. It can never carry a `.` (token separator) or a
 * `*` / `>` (wildcards) into a subject, so an id can't widen what a subject matches.
 */
export const SUBJECT_TOKEN = /^[A-Za-z0-9_-]+$/;

/** Organization, agent and execution ids are UUIDs: valid subject tokens and Postgres `uuid`s. */
export const orgIdSchema = z.uuid();
export const agentIdSchema = z.uuid();
export const executionIdSchema = z.uuid();

export type OrgId = z.infer<typeof orgIdSchema>;
export type AgentId = z.infer<typeof agentIdSchema>;
export type ExecutionId = z.infer<typeof executionIdSchema>;
