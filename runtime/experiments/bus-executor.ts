import { randomUUID } from "node:crypto";
import { RequestError, TimeoutError, type NatsConnection } from "@nats-io/transport-node";
import {
  decodeJson,
  encodeJson,
  NeuroflowError,
  subjects,
  teamRunReplySchema,
  teamRunRequestSchema,
  type ExperimentCell,
  type ExperimentTask,
  type TeamExecCancel,
  type TeamRunRequest,
  type TrialOutcome,
} from "../protocol/index.js";
import { describeSpecIssues } from "./spec.js";
import { coordinationOf } from "./grid.js";
import { teamMembersFor } from "./members.js";
import type { TrialExecutor } from "./runner.js";

/**
 * The networked runtime of experiments: every trial is one `team.run` request to the runtime pool
 * (runtime/protocol/team-runs.ts), whose team host runs the team machine and asks the members as
 * agent calls on the workers hosting them. Same members and profiles as the in-process executor
 * (members.ts), so both runtimes run the same experiment.
 */

export interface BusExecutorOptions {
  /** A connection allowed to request on `nf.<orgId>.team.…` (a service or that org's user). */
  nc: NatsConnection;
  orgId: string;
  /** How long to wait for a run's reply; generous, as a run asks its members several times. Default 10 minutes. */
  replyTimeoutMs?: number;
  /** Deadline of each member call, sent with the request (absent: the team host's default). */
  memberTimeoutMs?: number;
  /** Source of team, execution and agent ids; default `crypto.randomUUID`. */
  newId?: () => string;
  /** Monotonic milliseconds, for the latency of a cancelled trial; default `performance.now`. */
  now?: () => number;
  /**
   * Told the agent ids of each cell once they are made (before its first trial runs), so the caller
   * can forget the agents — their snapshots on the workers — when the experiment is over.
   */
  onAgents?: (agentIds: readonly string[]) => void;
}

/** Ids of one trial's run. */
export interface TeamRunIds {
  teamId: string;
  executionId: string;
  /** One per member of the cell, in member order. */
  agentIds: readonly string[];
}

/**
 * The `team.run` request of one trial, validated against the wire schema. Throws VALIDATION_FAILED
 * (zod issues in `details`) when the cell cannot be expressed as one — e.g. a member weight of 0,
 * which a team run does not accept (weights there are positive).
 */
export function teamRunRequestFor(orgId: string, cell: ExperimentCell, task: ExperimentTask, trialSeed: number, ids: TeamRunIds): TeamRunRequest {
  const parsed = teamRunRequestSchema.safeParse({
    type: "team.run",
    orgId,
    teamId: ids.teamId,
    executionId: ids.executionId,
    task: { prompt: task.prompt, answerKey: task.answerKey },
    members: teamMembersFor(cell, trialSeed, ids.agentIds),
    coordination: coordinationOf(cell),
    seed: trialSeed,
  });
  if (!parsed.success) {
    const lines = describeSpecIssues(parsed.error.issues);
    throw new NeuroflowError("VALIDATION_FAILED", `cell ${cell.id} cannot run as a team run: ${lines.join("; ")}`, { details: parsed.error.issues });
  }
  return parsed.data;
}

const DEFAULT_REPLY_TIMEOUT_MS = 10 * 60_000;

/**
 * A TrialExecutor over NATS. Each cell gets fresh agent ids on first use and keeps them for all its
 * trials, so its members stay warm on the workers; each trial gets a fresh team and execution id.
 * The reply's outcome (COMPLETED, FAILED or CANCELLED with its usage, cost and run duration) is the
 * trial's. Rejects — a FAILED trial for the runner — with the pool's typed error when it refused
 * the run, UNAVAILABLE when no worker takes team runs, TIMEOUT when no reply came in time, and
 * VALIDATION_FAILED for a cell a team run cannot express. Aborting the trial's signal sends the
 * run a cancel and resolves CANCELLED at once.
 */
export function createBusExecutor(options: BusExecutorOptions): TrialExecutor {
  const { nc, orgId } = options;
  const newId = options.newId ?? randomUUID;
  const now = options.now ?? (() => performance.now());
  const replyTimeoutMs = options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS;
  const agentIdsByCell = new Map<string, string[]>();
  const agentIdsOf = (cell: ExperimentCell) => {
    let ids = agentIdsByCell.get(cell.id);
    if (!ids) {
      ids = cell.members.map(() => newId());
      agentIdsByCell.set(cell.id, ids);
      options.onAgents?.(ids);
    }
    return ids;
  };

  return async (cell, task, trialSeed, { signal }) => {
    const ids = { teamId: newId(), executionId: newId(), agentIds: agentIdsOf(cell) };
    const request = teamRunRequestFor(orgId, cell, task, trialSeed, ids);
    const payload = options.memberTimeoutMs !== undefined ? { ...request, memberTimeoutMs: options.memberTimeoutMs } : request;
    const started = now();
    const cancelled = (): TrialOutcome => ({ status: "CANCELLED", usage: { promptTokens: 0, completionTokens: 0 }, costMicroUsd: 0, latencyMs: Math.max(0, now() - started) });
    if (signal.aborted) return cancelled();

    const reply = nc.request(subjects.teamExecRun(orgId, ids.teamId, ids.executionId), encodeJson(payload), { timeout: replyTimeoutMs });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<"aborted">((resolve) => {
      onAbort = () => resolve("aborted");
      signal.addEventListener("abort", onAbort, { once: true });
    });
    const settled = await Promise.race([reply.then((msg) => ({ msg }), (error: unknown) => ({ error })), aborted]);
    if (onAbort) signal.removeEventListener("abort", onAbort);

    if (settled === "aborted") {
      // The run stops on the worker; its late reply (CANCELLED) has no one to tell.
      void reply.catch(() => undefined);
      const cancel: TeamExecCancel = { type: "team.exec.cancel", orgId, teamId: ids.teamId, executionId: ids.executionId };
      try {
        nc.publish(subjects.teamExecCancel(orgId, ids.teamId, ids.executionId), encodeJson(cancel));
      } catch {
        // The connection is closing: the worker's run ends when its own deadline passes.
      }
      return cancelled();
    }
    if ("error" in settled) {
      const cause = settled.error;
      if (cause instanceof TimeoutError) {
        throw new NeuroflowError("TIMEOUT", `team run ${ids.executionId} sent no reply within ${replyTimeoutMs} ms`, { cause, retryable: true });
      }
      if (cause instanceof RequestError && cause.isNoResponders()) {
        throw new NeuroflowError("UNAVAILABLE", "no runtime worker is taking team runs", { cause, retryable: true });
      }
      throw new NeuroflowError("UNAVAILABLE", "could not reach the runtime workers", { cause, retryable: true });
    }
    const answer = decodeJson(teamRunReplySchema, settled.msg.data, "team run reply");
    if (!answer.ok) throw NeuroflowError.fromWire(answer.error);
    const { output } = answer;
    return {
      ...(output.answer !== undefined ? { answer: output.answer } : {}),
      status: output.status,
      usage: output.usage,
      costMicroUsd: output.costMicroUsd,
      latencyMs: output.durationMs,
    };
  };
}
