import type { Logger } from "pino";
import { createActor, type Actor, type Snapshot } from "xstate";
import { createCallModel } from "../actors/call-model.actor.js";
import { agentMachine } from "../machines/agent.machine.js";
import { NeuroflowError, shardOf, type AgentStatusChanged } from "../protocol/index.js";
import type { PriceTable } from "../providers/prices.js";
import type { ProviderRegistry } from "../providers/provider.js";
import type { SnapshotStore } from "./snapshot-store.js";
import { statusEvents, type AgentSnapshot } from "./status-events.js";

/** One agent actor living in this worker. */
export interface HostedAgent {
  readonly orgId: string;
  readonly agentId: string;
  readonly shard: number;
  readonly actor: Actor<typeof agentMachine>;
  /** When each running execution started here (durations span retries). */
  readonly startedAt: Map<string, Date>;
  /** Revision of the stored snapshot this actor continues from (0: none yet). */
  revision: number;
  /** Something worth persisting happened since the last save (a task ended). */
  dirty: boolean;
  lastActiveAt: number;
  saving: Promise<void> | undefined;
  /** A save scheduled after the last finished task (see `snapshotDelayMs`). */
  saveTimer: NodeJS.Timeout | undefined;
}

export interface ActivationsDeps {
  workerId: string;
  providers: ProviderRegistry;
  prices: PriceTable;
  snapshots: SnapshotStore;
  logger: Logger;
  now: () => number;
  /** Status events of an actor's transition, in order (the host publishes them). */
  onEvents: (hosted: HostedAgent, events: AgentStatusChanged[]) => void;
  /** Whether this worker may still write the agent's state (it holds the agent's shard). */
  mayWrite: (shard: number) => boolean;
  /**
   * How long after a finished task its snapshot is saved; tasks finishing meanwhile share the save.
   * Passivation and shard handover save at once. A SIGKILL loses at most this much of an agent's
   * memory — never a task: those are in the queue and the outcome store. Default 1000 ms.
   */
  snapshotDelayMs?: number;
  /** An actor is being stopped without finishing its work (lost shard, stale snapshot): hand its tasks back. */
  onDrop?: (hosted: HostedAgent) => void;
}

/**
 * The agent actors of one worker: activated on demand — restored from their persisted snapshot
 * when there is one — persisted after every finished task, and passivated (saved, stopped,
 * dropped from memory) after staying idle. Activation of one agent happens once even when several
 * tasks for it arrive together.
 */
export class AgentActivations {
  readonly #deps: ActivationsDeps;
  readonly #hosted = new Map<string, HostedAgent>();
  readonly #activating = new Map<string, Promise<HostedAgent>>();
  readonly #machine: typeof agentMachine;

  constructor(deps: ActivationsDeps) {
    this.#deps = deps;
    this.#machine = agentMachine.provide({ actors: { callModel: createCallModel({ providers: deps.providers, prices: deps.prices }) } });
  }

  get size(): number {
    return this.#hosted.size;
  }

  /** The agent's actor if it is active here. */
  get(agentId: string): HostedAgent | undefined {
    return this.#hosted.get(agentId);
  }

  all(): HostedAgent[] {
    return [...this.#hosted.values()];
  }

  /** The agent's actor, activating it (from its snapshot when one is stored) if needed. */
  activate(orgId: string, agentId: string): Promise<HostedAgent> {
    const hosted = this.#hosted.get(agentId);
    if (hosted) return Promise.resolve(hosted);
    const pending = this.#activating.get(agentId);
    if (pending) return pending;
    const activation = this.#restore(orgId, agentId).finally(() => this.#activating.delete(agentId));
    // A request lost across a NATS reconnect must not leave every later task of the agent waiting.
    void activation.catch(() => undefined);
    this.#activating.set(agentId, activation);
    return activation;
  }

  async #restore(orgId: string, agentId: string): Promise<HostedAgent> {
    const logger = this.#deps.logger.child({ orgId, agentId });
    const stored = await withDeadline(this.#deps.snapshots.load(orgId, agentId), STORE_DEADLINE_MS, "loading the agent's snapshot");
    let actor: Actor<typeof agentMachine>;
    try {
      actor = createActor(this.#machine, {
        input: { orgId, agentId },
        ...(stored ? { snapshot: runnable(stored.snapshot) } : {}),
      });
    } catch (error) {
      logger.error({ err: error }, "stored snapshot does not restore; starting the agent afresh");
      actor = createActor(this.#machine, { input: { orgId, agentId } });
    }
    const hosted: HostedAgent = {
      orgId,
      agentId,
      shard: shardOf(agentId),
      actor,
      startedAt: new Map(),
      revision: stored?.revision ?? 0,
      dirty: false,
      lastActiveAt: this.#deps.now(),
      saving: undefined,
      saveTimer: undefined,
    };
    let prev: AgentSnapshot | undefined = stored ? actor.getSnapshot() : undefined;
    actor.subscribe({
      next: (snapshot) => {
        const events = statusEvents(prev, snapshot, {
          workerId: this.#deps.workerId,
          now: new Date(this.#deps.now()),
          startedAt: (id) => hosted.startedAt.get(id),
        });
        if (snapshot.context.last !== prev?.context.last) {
          hosted.dirty = true;
          hosted.lastActiveAt = this.#deps.now();
          this.#scheduleSave(hosted);
        }
        prev = snapshot;
        if (events.length > 0) this.#deps.onEvents(hosted, events);
      },
      error: (error) => logger.error({ err: error }, "agent actor crashed"),
    });
    this.#hosted.set(agentId, hosted);
    actor.start();
    // XState does not re-arm `after` timers on restore: a task restored mid-way starts over.
    if (stored && actor.getSnapshot().matches("working")) {
      logger.info({ executionId: actor.getSnapshot().context.current?.executionId }, "resuming a task from the agent's snapshot");
      actor.send({ type: "agent.resume" });
    }
    return hosted;
  }

  #scheduleSave(hosted: HostedAgent): void {
    if (hosted.saveTimer) return;
    hosted.saveTimer = setTimeout(() => {
      hosted.saveTimer = undefined;
      void this.save(hosted);
    }, this.#deps.snapshotDelayMs ?? 1_000);
    hosted.saveTimer.unref();
  }

  /**
   * Persists the agent's snapshot now if something changed, coalescing overlapping calls. A CONFLICT
   * (another worker saved since we read: we lost the agent's shard) stops the actor here.
   */
  save(hosted: HostedAgent): Promise<void> {
    if (hosted.saveTimer) {
      clearTimeout(hosted.saveTimer);
      hosted.saveTimer = undefined;
    }
    if (hosted.saving) return hosted.saving.then(() => (hosted.dirty ? this.save(hosted) : undefined));
    if (!hosted.dirty || !this.#deps.mayWrite(hosted.shard)) return Promise.resolve();
    // A stopped actor's snapshot says "stopped" and would restore as an actor that silently drops
    // every event while its mailbox holds tasks: only the live, hosted actor is ever saved.
    if (this.#hosted.get(hosted.agentId) !== hosted || hosted.actor.getSnapshot().status !== "active") return Promise.resolve();
    hosted.dirty = false;
    const snapshot = hosted.actor.getPersistedSnapshot();
    hosted.saving = withDeadline(this.#deps.snapshots.save(hosted.orgId, hosted.agentId, snapshot, hosted.revision), STORE_DEADLINE_MS, "saving a snapshot")
      .then((revision) => {
        hosted.revision = revision;
      })
      .catch((error: unknown) => {
        const logger = this.#deps.logger.child({ orgId: hosted.orgId, agentId: hosted.agentId });
        if (error instanceof NeuroflowError && error.code === "CONFLICT") {
          logger.warn("another worker owns this agent now; stopping its actor here");
          this.drop(hosted);
        } else {
          hosted.dirty = true;
          logger.error({ err: error }, "could not persist the agent's snapshot");
        }
      })
      .finally(() => {
        hosted.saving = undefined;
      });
    return hosted.saving;
  }

  /** Stops an actor without saving (its state is stale or no longer ours). */
  drop(hosted: HostedAgent): void {
    if (this.#hosted.get(hosted.agentId) !== hosted) return;
    this.#deps.onDrop?.(hosted);
    clearTimeout(hosted.saveTimer);
    this.#hosted.delete(hosted.agentId);
    hosted.actor.stop();
  }

  /** Saves and stops an actor that is at rest. Returns false (and keeps it) when it has work. */
  async passivate(hosted: HostedAgent): Promise<boolean> {
    if (!atRest(hosted)) return false;
    await this.save(hosted);
    if (!atRest(hosted) || hosted.dirty || this.#hosted.get(hosted.agentId) !== hosted) return false;
    this.#hosted.delete(hosted.agentId);
    hosted.actor.stop();
    return true;
  }

  /** Passivates every agent idle for at least `idleMs`; returns how many. */
  async passivateIdle(idleMs: number): Promise<number> {
    const cutoff = this.#deps.now() - idleMs;
    const idle = this.all().filter((hosted) => hosted.lastActiveAt <= cutoff && atRest(hosted));
    const results = await Promise.all(idle.map((hosted) => this.passivate(hosted)));
    return results.filter(Boolean).length;
  }
}

/** How long a store request may take before the work that needs it gives up and is retried. */
export const STORE_DEADLINE_MS = 5_000;

/** `promise`, or a retryable UNAVAILABLE after `ms`: a JetStream request must never hang the caller. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NeuroflowError("UNAVAILABLE", `${what} took longer than ${ms} ms`, { retryable: true })), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
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
