import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { createActor, type AnyActorRef } from "xstate";
import { createAskMember, type CallHere } from "../actors/ask-member.actor.js";
import { askMemberActorBy, teamMachineFor, type AskMember, type TeamMachine, type TeamRunInput, type TeamRunOutput } from "../machines/team.js";
import { NeuroflowError, subjects, type TeamLogEntry, type TeamRunReply, type TeamRunRequest, type TeamStructure } from "../protocol/index.js";
import { teamEventBatches, type TeamEventBatch } from "./team-event-batches.js";

export interface TeamExecutionDeps {
  nc: NatsConnection;
  /** Asks members hosted on this worker in process (AgentHost.callHere). */
  callHere?: CallHere;
  workerId: string;
  logger: Logger;
  /** Injected clock (ms since epoch): stamps events and the run's times. */
  now?: () => number;
}

/** One team execution running on this worker. */
export interface RunningTeam {
  readonly orgId: string;
  readonly teamId: string;
  readonly executionId: string;
  /** Sends `team.cancel`: pending member calls are aborted (and cancelled) and the run ends CANCELLED. No-op once ended. */
  cancel(): void;
  /**
   * The reply for the run's requester once it has ended: `ok` with the output (COMPLETED, FAILED or
   * CANCELLED — a failed team is an outcome), or `ok: false` INTERNAL if the machine itself broke.
   * Never rejects.
   */
  readonly done: Promise<TeamRunReply>;
}

/** What the team machine reads: the request without the member profiles (they go to the calls). */
export function teamRunInput(request: TeamRunRequest): TeamRunInput {
  return {
    orgId: request.orgId,
    teamId: request.teamId,
    executionId: request.executionId,
    task: { prompt: request.task.prompt, ...(request.task.answerKey ? { answerKey: request.task.answerKey } : {}) },
    members: request.members.map(({ profile: _profile, ...member }) => member),
    coordination: request.coordination,
    seed: request.seed,
  };
}

/** Each running team's `askMember` function, by the actor system of its run. */
const runAsks = new WeakMap<AnyActorRef["system"], AskMember>();
/** Each structure's machine with `askMember` provided, built once: providing rebuilds the machine, which cost more than the rest of a vote round. */
const providedMachines = new Map<TeamStructure, TeamMachine>();

function providedMachine(structure: TeamStructure): TeamMachine {
  let machine = providedMachines.get(structure);
  if (machine === undefined) {
    machine = teamMachineFor(structure).provide({ actors: { askMember: askMemberActorBy((system) => runAsks.get(system)) } });
    providedMachines.set(structure, machine);
  }
  return machine;
}

/**
 * Starts the structure's team machine for a validated run request, with `askMember` provided by
 * agent calls (runtime/actors/ask-member.actor.ts): in process to members this worker hosts, over
 * the bus to the others. The entries the machine appends to its log in one step are published
 * together as soon as the step is taken, in one TeamExecEvents message on
 * `nf.<org>.team.<team>.exec.<execution>.event` stamped with one `at` (several messages when the
 * step appended more than 64 entries or 256 KiB; team-event-batches.ts): in `seq` order and each
 * exactly once; the last one (team.completed / team.failed / team.cancelled) goes out before `done`
 * resolves, so a requester that gets the reply has been sent the whole log. The reply's log
 * carries each entry's `at` as published. A failed publish is logged; the reply still carries the
 * whole log.
 */
export function startTeamExecution(deps: TeamExecutionDeps, request: TeamRunRequest): RunningTeam {
  const now = deps.now ?? Date.now;
  const startedAt = now();
  const run = { orgId: request.orgId, teamId: request.teamId, executionId: request.executionId };
  let runLogger: Logger | undefined;
  // Bound on first use: most runs log nothing at their level, and binding costs more than the rest of a run's logging.
  const logger = () => (runLogger ??= deps.logger.child(run));
  const subject = subjects.teamExecEvents(run.orgId, run.teamId, run.executionId);
  const ask = createAskMember({
    nc: deps.nc,
    ...(deps.callHere ? { callHere: deps.callHere } : {}),
    orgId: request.orgId,
    profiles: new Map(request.members.map((member) => [member.agentId, member.profile])),
    ...(request.memberTimeoutMs !== undefined ? { memberTimeoutMs: request.memberTimeoutMs } : {}),
    logger,
    now,
  });
  const actor = createActor(providedMachine(request.coordination.structure), { input: teamRunInput(request) });
  runAsks.set(actor.system, ask);

  /** When each entry was published, by seq: the reply's log carries the same `at` as the events. */
  const publishedAt = new Map<number, string>();
  let publishedSeq = 0;
  const publishNew = (log: readonly TeamLogEntry[]) => {
    const last = log[log.length - 1];
    if (last === undefined || last.seq <= publishedSeq) return;
    // Entries appended by one step go out together, with one time.
    const at = new Date(now()).toISOString();
    const entries = log.slice(log.length - (last.seq - publishedSeq));
    for (const entry of entries) publishedAt.set(entry.seq, at);
    publishedSeq = last.seq;
    // On failure the reply still carries the whole log, so the record can be completed from it.
    let batches: TeamEventBatch[];
    try {
      batches = teamEventBatches(run, entries, at);
    } catch (error) {
      logger().warn({ err: error, seqs: [entries[0]?.seq, last.seq] }, "could not encode team events");
      return;
    }
    for (const batch of batches) {
      try {
        deps.nc.publish(subject, batch.data);
      } catch (error) {
        logger().warn({ err: error, seqs: [batch.entries[0]?.seq, batch.entries.at(-1)?.seq] }, "could not publish team events");
      }
    }
  };

  const done = new Promise<TeamRunReply>((resolve) => {
    const finish = (output: TeamRunOutput) => {
      publishNew(output.log);
      const completedAt = now();
      const wire = {
        ...output,
        log: output.log.map((entry) => ({ ...entry, at: publishedAt.get(entry.seq) })),
        startedAt: new Date(startedAt).toISOString(),
        completedAt: new Date(completedAt).toISOString(),
        durationMs: Math.max(0, completedAt - startedAt),
        workerId: deps.workerId,
      };
      if (output.status === "FAILED") logger().warn({ error: output.error }, "team execution failed");
      else if (deps.logger.isLevelEnabled("debug")) logger().debug({ status: output.status, costMicroUsd: output.costMicroUsd }, "team execution ended");
      resolve({ ok: true, output: wire });
    };
    actor.subscribe({
      next: (snapshot) => {
        publishNew(snapshot.context.log);
        if (snapshot.status === "done") finish(snapshot.output);
      },
      error: (error) => {
        logger().error({ err: error }, "team machine failed");
        resolve({ ok: false, error: NeuroflowError.toWire(error) });
      },
    });
  });
  if (deps.logger.isLevelEnabled("debug")) logger().debug({ structure: request.coordination.structure, members: request.members.length }, "team execution started");
  actor.start();
  publishNew(actor.getSnapshot().context.log);

  return {
    ...run,
    cancel: () => {
      if (actor.getSnapshot().status === "active") actor.send({ type: "team.cancel" });
    },
    done,
  };
}
