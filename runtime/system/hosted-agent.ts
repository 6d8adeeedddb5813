import type { Logger } from "pino";
import { createActor, type Actor, type Snapshot } from "xstate";
import type { agentMachine } from "../machines/agent.machine.js";
import { shardOf, type AgentStatusChanged } from "../protocol/index.js";
import { statusEvents, type AgentSnapshot, type StatusMeta } from "./status-events.js";

/** One agent with a live actor in this worker. */
export interface HostedAgent {
  readonly orgId: string;
  readonly agentId: string;
  readonly shard: number;
  readonly actor: Actor<typeof agentMachine>;
  /** When each running execution started here, ms since the epoch (durations span retries). */
  readonly startedAt: Map<string, number>;
  /** Revision of the stored snapshot this actor continues from (0: none yet). */
  revision: number;
  /** Something worth persisting happened since the last save (a task ended). */
  dirty: boolean;
  lastActiveAt: number;
  /**
   * Bumped by every activation (a caller is about to send a task) and every ended task: a rest or
   * passivation decided before the bump would stop an actor someone is about to use.
   */
  activity: number;
  saving: Promise<void> | undefined;
  /** A save scheduled after the last finished task (see `snapshotDelayMs`). */
  saveTimer: NodeJS.Timeout | undefined;
}

/** What {@link startHostedAgent} reports to, and asks of, the agents' owner (AgentActivations). */
export interface HostedAgentHooks {
  workerId: string;
  logger: Logger;
  /** The time of a status event (AgentActivations keeps a worker's events apart by at least a microsecond). */
  eventTime: () => number;
  /** Status events of an actor's transition, in order. */
  onEvents: (hosted: HostedAgent, events: AgentStatusChanged[]) => void;
  /** A task ended: the agent has something new to save. */
  onTaskEnded: (hosted: HostedAgent) => void;
  /** Makes the agent live with its owner; called before the actor starts. */
  register: (hosted: HostedAgent) => void;
}

/**
 * Starts an agent's actor from `snapshot` (undefined: a fresh agent) as a HostedAgent: its
 * transitions become status events (status-events.ts), each ended task marks it dirty and bumps
 * its activity, and a task restored mid-way is resumed (XState does not re-arm `after` timers on
 * restore, nor does a snapshot hold a running call). A snapshot that does not restore is logged
 * and the agent starts afresh.
 */
export function startHostedAgent(
  machine: typeof agentMachine,
  start: { orgId: string; agentId: string; snapshot: unknown; revision: number; lastActiveAt: number },
  deps: HostedAgentHooks,
): HostedAgent {
  const { orgId, agentId, snapshot, revision, lastActiveAt } = start;
  let actor: Actor<typeof agentMachine>;
  try {
    actor = createActor(machine, {
      input: { orgId, agentId },
      ...(snapshot !== undefined ? { snapshot: runnable(snapshot) } : {}),
    });
  } catch (error) {
    deps.logger.error({ err: error, orgId, agentId }, "stored snapshot does not restore; starting the agent afresh");
    actor = createActor(machine, { input: { orgId, agentId } });
  }
  const hosted: HostedAgent = {
    orgId,
    agentId,
    shard: shardOf(agentId),
    actor,
    startedAt: new Map(),
    revision,
    dirty: false,
    lastActiveAt,
    activity: 1,
    saving: undefined,
    saveTimer: undefined,
  };
  const meta: StatusMeta = { workerId: deps.workerId, now: 0, startedAt: (id) => hosted.startedAt.get(id) };
  // A restored agent reports changes from where it was; a new one announces itself.
  let prev: AgentSnapshot | undefined = snapshot !== undefined ? actor.getSnapshot() : undefined;
  actor.subscribe({
    next: (next) => {
      meta.now = deps.eventTime();
      const events = statusEvents(prev, next, meta);
      // A task ended (a new agent's first snapshot, with no outcome yet, has nothing to save).
      if (next.context.last !== (prev ? prev.context.last : null)) {
        hosted.dirty = true;
        hosted.activity++;
        hosted.lastActiveAt = meta.now;
        deps.onTaskEnded(hosted);
      }
      prev = next;
      if (events.length === 0) return;
      for (const event of events) {
        const execution = event.execution;
        if (!execution) continue;
        // A retry repeats RUNNING: keep the first start, so durations cover every attempt.
        if (execution.status !== "RUNNING") hosted.startedAt.delete(execution.executionId);
        else if (!hosted.startedAt.has(execution.executionId)) hosted.startedAt.set(execution.executionId, meta.now);
      }
      deps.onEvents(hosted, events);
    },
    error: (error) => deps.logger.error({ err: error, orgId, agentId }, "agent actor crashed"),
  });
  deps.register(hosted);
  actor.start();
  // XState does not re-arm `after` timers on restore, nor does a snapshot hold a running call:
  // a task restored mid-way starts over.
  if (snapshot !== undefined && actor.getSnapshot().matches("working")) {
    deps.logger.info({ orgId, agentId, executionId: actor.getSnapshot().context.current?.executionId }, "resuming a task from the agent's snapshot");
    actor.send({ type: "agent.resume" });
  }
  return hosted;
}

/** No task running or waiting. */
export function atRest(hosted: HostedAgent): boolean {
  const snapshot = hosted.actor.getSnapshot();
  return snapshot.context.current === null && snapshot.context.mailbox.length === 0 && !snapshot.matches("working");
}

/**
 * A stored snapshot, made to restore as a running actor. One saved from a stopped actor (by a
 * version before `save` refused those) says `status: "stopped"`: XState would restore it as an
 * actor that ignores every event while its mailbox holds tasks.
 */
function runnable(stored: unknown): Snapshot<unknown> {
  const snapshot = stored as Snapshot<unknown>;
  return snapshot.status === "active" ? snapshot : ({ ...snapshot, status: "active" } as Snapshot<unknown>);
}
