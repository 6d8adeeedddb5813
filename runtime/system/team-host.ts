import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import {
  decodeJson,
  encodeJson,
  NeuroflowError,
  parseTeamSubject,
  subjects,
  teamExecCancelSchema,
  teamIssues,
  teamRunRequestSchema,
  type CancelReply,
  type TeamRunReply,
  type TeamRunRequest,
} from "../protocol/index.js";
import type { CallHere } from "../actors/ask-member.actor.js";
import { RUNTIME_QUEUE } from "./agent-host.js";
import { startTeamExecution, type RunningTeam } from "./team-execution.js";

export interface TeamHostDeps {
  nc: NatsConnection;
  /** Asks members hosted on this worker in process (AgentHost.callHere). */
  callHere?: CallHere;
  workerId: string;
  logger: Logger;
  /** Injected clock (ms since epoch). */
  now?: () => number;
}

interface HostedRun {
  run: RunningTeam;
  /** Settles once the reply has been sent. */
  replied: Promise<void>;
}

/**
 * Runs team executions on this worker. A `team.run` request arrives on
 * `nf.<org>.team.<team>.exec.<execution>.run` (queue group "nf-runtime": one worker takes it); the
 * worker runs the structure's team machine (team-execution.ts), whose members are asked through
 * agent calls and so run wherever their shard is hosted (in process when that is here), publishes every coordination step on
 * `….event`, and replies with a TeamRunReply once the run has ended. A malformed request, one whose
 * ids disagree with its subject, a team whose members break the structure's rules, or a run this
 * worker already has gets a typed error reply (INVALID_SUBJECT / INVALID_MESSAGE / CONFLICT) and
 * never affects other runs; a request reaching a stopping worker gets UNAVAILABLE (retryable).
 *
 * Cancels arrive on `….cancel` at every worker (no queue group); only the one running the execution
 * answers (`found: true`), and the run's reply then carries CANCELLED. Every worker answers a
 * malformed cancel with the same typed error.
 *
 * Lifecycle: `start()`; `stop(graceMs)` takes no more runs, lets the running ones finish for up to
 * `graceMs`, then cancels the rest (their requesters get a CANCELLED reply) and stops listening.
 */
export class TeamHost {
  readonly #deps: TeamHostDeps;
  readonly #runs = new Map<string, HostedRun>();
  #runSubscription: Subscription | undefined;
  #cancelSubscription: Subscription | undefined;
  #stopping = false;

  constructor(deps: TeamHostDeps) {
    this.#deps = deps;
  }

  /** Team executions running here. */
  get size(): number {
    return this.#runs.size;
  }

  /** Subscribes; resolves once the server has the subscriptions. */
  async start(): Promise<void> {
    const { nc, logger } = this.#deps;
    const listen = (subject: string, handle: (msg: Msg) => void, queue?: string) =>
      nc.subscribe(subject, {
        ...(queue ? { queue } : {}),
        callback: (error, msg) => {
          if (error) logger.error({ err: error, subject }, "subscription failed");
          else handle(msg);
        },
      });
    this.#runSubscription = listen(subjects.anyTeamExecRun, (msg) => this.#onRun(msg), RUNTIME_QUEUE);
    this.#cancelSubscription = listen(subjects.anyTeamExecCancel, (msg) => this.#onCancel(msg));
    await nc.flush();
    logger.info("taking team runs");
  }

  async stop(graceMs = 10_000): Promise<void> {
    // Runs already delivered while draining still start: they get the same grace as the others.
    await this.#runSubscription?.drain();
    this.#stopping = true;
    const hosted = [...this.#runs.values()];
    const replied = Promise.all(hosted.map((entry) => entry.replied));
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      replied.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!finished) {
      for (const { run } of this.#runs.values()) {
        this.#deps.logger.warn({ orgId: run.orgId, teamId: run.teamId, executionId: run.executionId }, "cancelling a team execution: worker stopping");
        run.cancel();
      }
      await replied;
    }
    if (this.#cancelSubscription && !this.#cancelSubscription.isClosed()) await this.#cancelSubscription.drain();
  }

  #onRun(msg: Msg): void {
    let request: TeamRunRequest;
    try {
      request = this.#accept(msg);
    } catch (error) {
      const wire = NeuroflowError.toWire(error);
      this.#deps.logger.warn({ subject: msg.subject, error: wire }, "rejected a team run");
      if (!(error instanceof NeuroflowError)) this.#deps.logger.error({ err: error }, "unexpected error handling a team run");
      respond(msg, { ok: false, error: wire } satisfies TeamRunReply);
      return;
    }
    const { nc, callHere, workerId, logger, now } = this.#deps;
    const run = startTeamExecution({ nc, workerId, logger, ...(callHere ? { callHere } : {}), ...(now ? { now } : {}) }, request);
    const replied = run.done.then((reply) => {
      this.#runs.delete(run.executionId);
      respond(msg, reply);
    });
    this.#runs.set(run.executionId, { run, replied });
  }

  /** The validated request of a run message; throws a NeuroflowError saying what is wrong. */
  #accept(msg: Msg): TeamRunRequest {
    const target = parseTeamSubject(msg.subject);
    if (target.kind !== "team.exec.run") throw new NeuroflowError("INVALID_SUBJECT", `not a team run subject: ${msg.subject}`);
    const request = decodeJson(teamRunRequestSchema, msg.data, "team run request");
    if (request.orgId !== target.orgId || request.teamId !== target.teamId || request.executionId !== target.executionId) {
      throw new NeuroflowError("INVALID_MESSAGE", "team run orgId/teamId/executionId do not match its subject");
    }
    const issues = teamIssues({ ...request.coordination, members: request.members });
    if (issues.length > 0) {
      const summary = issues.map((issue) => issue.message).join("; ");
      throw new NeuroflowError("INVALID_MESSAGE", `team run cannot run this team: ${summary}`, { details: issues });
    }
    if (this.#stopping) throw new NeuroflowError("UNAVAILABLE", "this worker is stopping; send the run again", { retryable: true });
    if (this.#runs.has(request.executionId)) throw new NeuroflowError("CONFLICT", `team execution ${request.executionId} is already running here`);
    return request;
  }

  #onCancel(msg: Msg): void {
    let reply: CancelReply | undefined;
    try {
      const target = parseTeamSubject(msg.subject);
      if (target.kind !== "team.exec.cancel") throw new NeuroflowError("INVALID_SUBJECT", `not a team cancel subject: ${msg.subject}`);
      const cancel = decodeJson(teamExecCancelSchema, msg.data, "team cancel request");
      if (cancel.orgId !== target.orgId || cancel.teamId !== target.teamId || cancel.executionId !== target.executionId) {
        throw new NeuroflowError("INVALID_MESSAGE", "team cancel orgId/teamId/executionId do not match its subject");
      }
      const run = this.#runs.get(cancel.executionId)?.run;
      if (run && run.orgId === cancel.orgId && run.teamId === cancel.teamId) {
        // Synchronous: the run has ended CANCELLED (its reply on its way) before this answer goes out.
        run.cancel();
        this.#deps.logger.info({ orgId: run.orgId, teamId: run.teamId, executionId: run.executionId }, "cancelled a team execution");
        reply = { ok: true, executionId: cancel.executionId, found: true, workerId: this.#deps.workerId };
      }
    } catch (error) {
      // Every worker sees the same malformed message and gives the same answer.
      const wire = NeuroflowError.toWire(error);
      this.#deps.logger.warn({ subject: msg.subject, error: wire }, "rejected a team cancel message");
      reply = { ok: false, error: wire };
    }
    if (reply) respond(msg, reply);
  }
}

function respond(msg: Msg, reply: TeamRunReply | CancelReply): void {
  if (!msg.reply) return;
  try {
    msg.respond(encodeJson(reply));
  } catch {
    // The connection is closing: the requester hears nothing and times out, as if this worker died.
  }
}
