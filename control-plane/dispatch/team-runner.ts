import { randomInt, randomUUID } from "node:crypto";
import { RequestError, TimeoutError, type NatsConnection } from "@nats-io/transport-node";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { Logger } from "pino";
import { TeamExecution, type ITeamExecution } from "../../entities/index.js";
import {
  decodeJson,
  encodeJson,
  NeuroflowError,
  subjects,
  teamExecutionIdSchema,
  teamIdSchema,
  teamIssues,
  teamRunReplySchema,
  teamRunRequestSchema,
  type RunTeamBody,
  type TeamExecCancel,
  type TeamRunReply,
  type TeamRunRequest,
  type WireError,
} from "../../runtime/protocol/index.js";
import { OrgBatchWriter, type BatchingOptions } from "../bus/org-batch-writer.js";
import type { ControlPlaneMetrics } from "../http/metrics.js";
import type { Database } from "../persistence/database.js";
import { isTerminal } from "../persistence/execution-ledger.js";
import { endTeamExecution, startTeamExecution, teamEndingOfError } from "../persistence/team-ledger.js";
import { recordTeamReplies, recordTeamReply, type TeamReply, type TeamReplyOutcome } from "../persistence/team-replies.js";
import { askHolderToCancel } from "./holder-cancel.js";
import { loadRunnableTeam } from "./runnable-team.js";
import type { OrgScope } from "./task-dispatcher.js";

export interface TeamRunnerDeps {
  nc: NatsConnection;
  db: Database;
  logger: Logger;
  /** How long a run may take before it is recorded FAILED (TIMEOUT) and cancelled. Default {@link DEFAULT_TEAM_RUN_TIMEOUT_MS}. */
  runTimeoutMs?: number;
  /** How long a cancel waits for the worker running the execution. Only that worker answers: keep it short. */
  cancelReplyTimeoutMs?: number;
  /** The `team-reply` stream of the ingest metrics. */
  metrics?: ControlPlaneMetrics | undefined;
  /** How replies are batched; defaults: OrgBatchWriter's. */
  batching?: BatchingOptions | undefined;
}

/** A team to run: the caller's org, and the team's id as the caller gave it (checked by `start`). */
export interface TeamRef {
  orgId: string;
  teamId: string;
}

/** The run whose request or reply this is. */
interface RunRef {
  orgId: string;
  teamId: string;
  executionId: string;
}

/** The result of a cancel: `forwarded` when a worker was running it (the run's reply records CANCELLED). */
export interface TeamCancelResult {
  execution: ITeamExecution;
  forwarded: boolean;
}

/** How long a run may take by default: 10 minutes. */
export const DEFAULT_TEAM_RUN_TIMEOUT_MS = 600_000;

/**
 * Starts and cancels team executions on the runtime pool. `start` records the execution (RUNNING,
 * with the team's structure, coordination and the task as input) in the caller's org, then sends
 * the `team.run` request in the background: one worker runs it and replies once it has ended,
 * and the reply ends the row (team-ledger.ts). Replies are recorded in batches, one transaction
 * per org per write cycle (OrgBatchWriter + recordTeamReplies, team-replies.ts): with many
 * runs in flight, per-transaction round trips rather than the statement itself were the cost.
 * A batch the database refuses for its data is recorded one reply at a time (recordTeamReply).
 * A request that fails ends it FAILED, one run at a time (rare): UNAVAILABLE when no worker takes
 * team runs, TIMEOUT past `runTimeoutMs` (the run is then cancelled), or the worker's typed
 * rejection. Log entries arrive separately (TeamEventSubscriber).
 *
 * Lifecycle: `stop()` marks the runner stopping and resolves once every request in flight has
 * settled and every reply received has been recorded (or dropped, logged, when the database gave
 * out); call it before draining the NATS connection (which ends those requests). Requests cut
 * off by the shutdown record nothing: their rows are ended from the run's final log entry by
 * whichever control plane still listens.
 */
export class TeamRunner {
  readonly #deps: TeamRunnerDeps;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #replies: OrgBatchWriter<TeamReply, TeamReplyOutcome>;
  #stopping = false;

  constructor(deps: TeamRunnerDeps) {
    this.#deps = deps;
    const { logger } = deps;
    this.#replies = new OrgBatchWriter<TeamReply, TeamReplyOutcome>({
      stream: "team-reply",
      db: deps.db,
      logger,
      metrics: deps.metrics,
      applyBatch: recordTeamReplies,
      applyOne: async (em, reply) => ({ ended: await recordTeamReply(em, reply, reply.output) }),
      stored: (reply, outcome) => {
        logger
          .child(runOf(reply))
          .info({ status: reply.output.status, workerId: reply.output.workerId, changed: outcome.ended }, "team execution ended");
      },
      // The writer logs it, with describe()'s ids.
      dropped: () => undefined,
      describe: (reply) => ({ ...runOf(reply) }),
      ...deps.batching,
    });
  }

  /**
   * Records a run of the team `team.teamId` of the caller's org (NOT_FOUND, "team not found", for
   * a malformed id or a team the caller can't see) and sends it to the pool. Throws CONFLICT for a
   * deactivated team, one without members or with a deactivated member agent, or one whose stored
   * configuration no longer validates.
   */
  async start(scope: OrgScope, team: TeamRef, body: RunTeamBody): Promise<ITeamExecution> {
    const { execution, request } = await scope(async (em) => {
      const found = await loadRunnableTeam(em, team);
      if (!found.isActive) throw new NeuroflowError("CONFLICT", "this team is deactivated");
      const { members } = found;
      if (members.length === 0) throw new NeuroflowError("CONFLICT", "this team has no members");
      const inactive = members.find((member) => !member.isActive);
      if (inactive) throw new NeuroflowError("CONFLICT", `member agent ${inactive.agentId} is deactivated`, { details: { agentId: inactive.agentId } });
      const seed = body.seed ?? randomInt(0, 2 ** 47);
      const task = { prompt: body.prompt, ...(body.answerKey ? { answerKey: body.answerKey } : {}) };
      // Parsed like any message: the stored team and agents must make a request a worker accepts.
      const parsed = teamRunRequestSchema.safeParse({
        type: "team.run",
        orgId: found.orgId,
        teamId: found.id,
        executionId: randomUUID(),
        task,
        members: members.map((member) => ({
          agentId: member.agentId,
          name: member.name,
          role: member.role,
          priority: member.priority,
          capabilities: member.capabilities,
          ...(member.totalExecutions > 0 ? { successRate: member.successRate } : {}),
          profile: { name: member.name, personality: member.personality, modelConfig: member.modelConfig, capabilities: member.capabilities },
        })),
        coordination: { structure: found.structure, coordination: found.coordination },
        seed,
      });
      const problems = parsed.success
        ? teamIssues({ ...parsed.data.coordination, members: parsed.data.members }).map((issue) => issue.message)
        : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
      if (!parsed.success || problems.length > 0) {
        throw new NeuroflowError("CONFLICT", `this team cannot run as configured: ${problems.slice(0, 3).join("; ")}`, { details: problems });
      }
      const execution = await startTeamExecution(em, {
        orgId: parsed.data.orgId,
        teamId: parsed.data.teamId,
        executionId: parsed.data.executionId,
        structure: parsed.data.coordination.structure,
        coordination: parsed.data.coordination.coordination,
        input: { ...task, seed },
        startedAt: new Date(),
      });
      return { execution, request: parsed.data };
    });
    this.#track(this.#send(request));
    return execution;
  }

  /**
   * Cancels a team execution of the caller's org. Every worker hears the cancel and only the one
   * running it answers; its run then ends CANCELLED and its reply records that (`forwarded`). When
   * no worker answers and the row is still open, no worker is running it (it never reached one, or
   * its worker died): it is recorded CANCELLED here, saying so. Throws NOT_FOUND for an execution
   * the caller can't see (malformed id, another org or team), CONFLICT once it has ended,
   * UNAVAILABLE when NATS fails otherwise, and a worker's typed rejection as is.
   */
  async cancel(scope: OrgScope, run: RunRef): Promise<TeamCancelResult> {
    const load = async (em: EntityManager) => {
      const found = teamExecutionIdSchema.safeParse(run.executionId).success && teamIdSchema.safeParse(run.teamId).success
        ? await em.findOne(TeamExecution, { id: run.executionId, organization: run.orgId, team: run.teamId })
        : null;
      if (!found) throw new NeuroflowError("NOT_FOUND", "team execution not found");
      return found;
    };
    const ended = (status: string) => new NeuroflowError("CONFLICT", `team execution already ended: ${status}`);
    const before = await scope(load);
    if (isTerminal(before.status)) throw ended(before.status);
    const logger = this.#deps.logger.child(run);

    const request: TeamExecCancel = { type: "team.exec.cancel", ...run };
    const forwarded = await askHolderToCancel(
      this.#deps.nc,
      subjects.teamExecCancel(run.orgId, run.teamId, run.executionId),
      request,
      this.#deps.cancelReplyTimeoutMs ?? 1_000,
    );
    if (forwarded) {
      logger.info("a runtime worker is cancelling the team execution");
      return { execution: await scope(load), forwarded: true };
    }
    return scope(async (em) => {
      const error: WireError = { code: "CANCELLED", message: "cancelled on request; no runtime worker was running it", retryable: false };
      const changed = await endTeamExecution(em, teamEndingOfError(run, "CANCELLED", error));
      // Loaded after the raw update, in the same transaction: it reads the new row.
      const execution = await load(em);
      if (changed) {
        logger.warn("cancelled a team execution no worker was running");
        return { execution, forwarded: false };
      }
      throw ended(execution.status);
    });
  }

  /** Marks the runner stopping; resolves once every request in flight has settled and its reply is recorded (see the class doc). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all([...this.#inFlight]);
    // Every reply received is queued by now; the writer takes no more.
    await this.#replies.close();
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  /** Sends the run and records its reply (or why there is none). Never rejects. */
  async #send(request: TeamRunRequest): Promise<void> {
    const run: RunRef = { orgId: request.orgId, teamId: request.teamId, executionId: request.executionId };
    const logger = this.#deps.logger.child(run);
    const timeoutMs = this.#deps.runTimeoutMs ?? DEFAULT_TEAM_RUN_TIMEOUT_MS;
    let reply: TeamRunReply;
    try {
      const msg = await this.#deps.nc.request(subjects.teamExecRun(run.orgId, run.teamId, run.executionId), encodeJson(request), { timeout: timeoutMs });
      reply = decodeJson(teamRunReplySchema, msg.data, "team run reply");
    } catch (cause) {
      if (this.#stopping) {
        logger.info("control plane stopping: the run's outcome will be recorded from its log");
        return;
      }
      reply = { ok: false, error: this.#failure(cause, run, timeoutMs) };
    }
    try {
      if (reply.ok) {
        const { output } = reply;
        try {
          this.#replies.push({ ...run, output });
          return;
        } catch {
          // Closed: a run started after stop(). Its reply is recorded alone.
        }
        const changed = await this.#deps.db.asSystem(run.orgId, (em) => recordTeamReply(em, run, output));
        logger.info({ status: output.status, workerId: output.workerId, changed }, "team execution ended");
        return;
      }
      const { error } = reply;
      await this.#deps.db.asSystem(run.orgId, (em) => endTeamExecution(em, teamEndingOfError(run, "FAILED", error)));
      logger.warn({ error }, "team execution could not run");
    } catch (error) {
      logger.error({ err: error }, "could not record a team execution's outcome");
    }
  }

  /** What a failed run request means; a timed-out run is cancelled so it does not go on unrecorded. */
  #failure(cause: unknown, run: RunRef, timeoutMs: number): WireError {
    if (cause instanceof NeuroflowError) return cause.toWire();
    if (cause instanceof TimeoutError) {
      const cancel: TeamExecCancel = { type: "team.exec.cancel", ...run };
      try {
        this.#deps.nc.publish(subjects.teamExecCancel(run.orgId, run.teamId, run.executionId), encodeJson(cancel));
      } catch {
        // The connection is gone; the worker's run ends on its own.
      }
      return { code: "TIMEOUT", message: `the team execution did not end within ${timeoutMs} ms`, retryable: true };
    }
    if (cause instanceof RequestError && cause.isNoResponders()) {
      return { code: "UNAVAILABLE", message: "no runtime worker is taking team runs", retryable: true };
    }
    return { code: "UNAVAILABLE", message: "could not reach the runtime workers", retryable: true };
  }
}

/** The run a reply is of: its ids, for log fields and for the ledger (never the output). */
function runOf(reply: TeamReply): RunRef {
  return { orgId: reply.orgId, teamId: reply.teamId, executionId: reply.executionId };
}
