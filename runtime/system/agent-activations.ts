import type { Logger } from "pino";
import type { Actor } from "xstate";
import { createCallModel, modelCallActions } from "../actors/call-model.actor.js";
import { agentMachine } from "../machines/agent.machine.js";
import { NeuroflowError, type AgentStatusChanged } from "../protocol/index.js";
import type { PriceTable } from "../providers/prices.js";
import type { ProviderRegistry } from "../providers/provider.js";
import { RestingAgents } from "./resting-agents.js";
import type { SnapshotStore } from "../../common/snapshot-store.js";
import { STORE_DEADLINE_MS, withDeadline } from "./store-deadline.js";
import { atRest, startHostedAgent, type HostedAgent, type HostedAgentHooks } from "./hosted-agent.js";

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
 * The agents of one worker, in three tiers:
 *
 * - **live**: an actor, from activation until it rests; the only tier that holds tasks;
 * - **resting**: at rest and saved — the actor is stopped and its snapshot kept here as the JSON
 *   text just stored (resting-agents.ts). The next task or call brings it back from that text (`createActor` with the
 *   snapshot), without reading the store. An agent rests once the save after its last task lands
 *   with nothing changed since (`snapshotDelayMs` after the task), or at a `passivateIdle` sweep;
 * - **passivated**: only in the snapshot store, after `idleMs` without work (`passivateIdle`);
 *   activation reads it back.
 *
 * Activation of one agent happens once even when several tasks for it arrive together. Resting
 * agents are this worker's only while it holds their shard: `forgetShard` drops them when the
 * shard is lost or released, so a shard that comes back is read from the store again.
 */
export class AgentActivations {
  readonly #deps: ActivationsDeps;
  readonly #hosted = new Map<string, HostedAgent>();
  readonly #resting = new RestingAgents();
  readonly #activating = new Map<string, Promise<HostedAgent>>();
  readonly #machine: typeof agentMachine;
  #lastEventAt = 0;
  /** Aborts the running model call of an actor stopped from outside (exit actions do not run). */
  readonly #abortCall: (actor: Actor<typeof agentMachine>) => void;
  /** What each live agent's actor reports to (hosted-agent.ts). */
  readonly #hooks: HostedAgentHooks;
  #storeReads = 0;

  constructor(deps: ActivationsDeps) {
    this.#deps = deps;
    // One object for every agent: each live agent's observer keeps it (a kilobyte per agent if made per agent).
    this.#hooks = {
      workerId: deps.workerId,
      logger: deps.logger,
      eventTime: () => this.#eventTime(),
      onEvents: deps.onEvents,
      onTaskEnded: (hosted) => this.#scheduleSave(hosted),
      // Registered before the actor starts: its first events find it hosted.
      register: (hosted) => this.#hosted.set(hosted.agentId, hosted),
    };
    const modelCall = modelCallActions(createCallModel({ providers: deps.providers, prices: deps.prices }));
    this.#machine = agentMachine.provide({ actions: modelCall.actions });
    this.#abortCall = modelCall.abort;
  }

  /**
   * The time of a status event: the clock, but never at or before this worker's previous event —
   * two events in one millisecond are a microsecond apart. Every control-plane replica applies
   * every event, in whatever order it gets them; an agent's status follows its latest event by
   * time, so a late RUNNING must never tie with the ending that followed it.
   */
  #eventTime(): number {
    const now = this.#deps.now();
    this.#lastEventAt = now > this.#lastEventAt ? now : this.#lastEventAt + 0.001;
    return this.#lastEventAt;
  }

  /** Agents this worker holds and serves without a store read: live and resting. */
  get size(): number {
    return this.#hosted.size + this.#resting.size;
  }

  /** Agents with a live actor. */
  get liveCount(): number {
    return this.#hosted.size;
  }

  /** Agents at rest, kept as their snapshot text. */
  get restingCount(): number {
    return this.#resting.size;
  }

  /** Snapshot store reads made by activations so far (bringing back a resting agent makes none). */
  get storeReads(): number {
    return this.#storeReads;
  }

  /** The agent's live actor, if it has one here (a resting agent has none, and no tasks). */
  get(agentId: string): HostedAgent | undefined {
    return this.#hosted.get(agentId);
  }

  /** The live agents (a resting agent has no tasks to wait for, save or hand back). */
  all(): HostedAgent[] {
    return [...this.#hosted.values()];
  }

  /**
   * The agent's live actor, bringing it back from rest if it is resting here, or undefined when
   * it is neither (activate it). Synchronous: what a call to an agent this worker holds costs.
   * Counts as activity, so the actor is not put to rest before the caller sends it its task.
   */
  wake(agentId: string): HostedAgent | undefined {
    const hosted = this.#hosted.get(agentId);
    if (hosted) {
      hosted.activity++;
      return hosted;
    }
    const resting = this.#resting.take(agentId);
    if (!resting) return undefined;
    let snapshot: unknown;
    try {
      snapshot = resting.json === undefined ? undefined : JSON.parse(resting.json);
    } catch (error) {
      // Text this worker wrote itself: not expected to fail, but a fresh start beats a stuck agent.
      this.#deps.logger.error({ err: error, orgId: resting.orgId, agentId }, "a resting agent's snapshot does not parse; starting it afresh");
    }
    return this.#start(resting.orgId, agentId, snapshot, resting.revision, resting.lastActiveAt);
  }

  /** The agent's actor, activating it (from rest, else from its stored snapshot, else fresh) if needed. */
  activate(orgId: string, agentId: string): Promise<HostedAgent> {
    const hosted = this.wake(agentId);
    if (hosted) return Promise.resolve(hosted);
    const pending = this.#activating.get(agentId);
    if (pending) {
      return pending.then((activated) => {
        activated.activity++;
        return activated;
      });
    }
    const activation = this.#restore(orgId, agentId).finally(() => this.#activating.delete(agentId));
    // A request lost across a NATS reconnect must not leave every later task of the agent waiting.
    void activation.catch(() => undefined);
    this.#activating.set(agentId, activation);
    return activation;
  }

  async #restore(orgId: string, agentId: string): Promise<HostedAgent> {
    this.#storeReads++;
    const stored = await withDeadline(this.#deps.snapshots.load(orgId, agentId), STORE_DEADLINE_MS, "loading the agent's snapshot");
    return this.#start(orgId, agentId, stored?.snapshot, stored?.revision ?? 0, this.#deps.now());
  }

  /** Starts the agent's actor from `snapshot` (none: fresh) and makes it live here. */
  #start(orgId: string, agentId: string, snapshot: unknown, revision: number, lastActiveAt: number): HostedAgent {
    return startHostedAgent(this.#machine, { orgId, agentId, snapshot, revision, lastActiveAt }, this.#hooks);
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
   * Persists the agent's snapshot now if something changed, coalescing overlapping calls, and puts
   * the agent to rest when nothing happened to it meanwhile. A CONFLICT (another worker saved
   * since we read — we lost the agent's shard — or the agent was deleted) stops the actor here.
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
    const taken = hosted.actor.getSnapshot();
    const activity = hosted.activity;
    const json = JSON.stringify(hosted.actor.getPersistedSnapshot());
    hosted.saving = withDeadline(this.#deps.snapshots.saveJson(hosted.orgId, hosted.agentId, json, hosted.revision), STORE_DEADLINE_MS, "saving a snapshot")
      .then((revision) => {
        hosted.revision = revision;
        if (hosted.actor.getSnapshot() === taken && hosted.activity === activity) this.#rest(hosted, json);
      })
      .catch((error: unknown) => {
        const logger = this.#deps.logger.child({ orgId: hosted.orgId, agentId: hosted.agentId });
        if (error instanceof NeuroflowError && error.code === "CONFLICT") {
          logger.warn("another worker owns this agent now, or it was deleted; stopping its actor here");
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

  /**
   * Stops a live agent whose stored snapshot (`json`, at `hosted.revision`) is its current state
   * and keeps that text instead. Does nothing to an agent with work or unsaved changes.
   */
  #rest(hosted: HostedAgent, json: string | undefined): boolean {
    if (this.#hosted.get(hosted.agentId) !== hosted || hosted.dirty || hosted.saveTimer || !atRest(hosted)) return false;
    this.#hosted.delete(hosted.agentId);
    hosted.actor.stop();
    this.#resting.put(hosted.agentId, { orgId: hosted.orgId, json, revision: hosted.revision, lastActiveAt: hosted.lastActiveAt });
    return true;
  }

  /** Stops an actor without saving (its state is stale or no longer ours). */
  drop(hosted: HostedAgent): void {
    if (this.#hosted.get(hosted.agentId) !== hosted) return;
    this.#deps.onDrop?.(hosted);
    clearTimeout(hosted.saveTimer);
    this.#hosted.delete(hosted.agentId);
    hosted.actor.stop();
    this.#abortCall(hosted.actor);
  }

  /**
   * Forgets the resting agents of a shard this worker lost or released: their next holder may
   * change them, so coming back here they must be read from the store. (Live ones are the
   * caller's to save, hand back and drop.) Returns how many.
   */
  forgetShard(shard: number): number {
    return this.#resting.forgetShard(shard);
  }

  /** Saves and stops an actor that is at rest. Returns false (and keeps it) when it has work. */
  async passivate(hosted: HostedAgent): Promise<boolean> {
    if (!atRest(hosted)) return false;
    const activity = hosted.activity;
    await this.save(hosted);
    if (this.#hosted.get(hosted.agentId) !== hosted) {
      // The save put it to rest (its snapshot is stored): forget that too, unless it was woken since.
      return !this.#hosted.has(hosted.agentId) && this.#resting.take(hosted.agentId) !== undefined;
    }
    if (!atRest(hosted) || hosted.dirty || hosted.activity !== activity) return false;
    this.#hosted.delete(hosted.agentId);
    hosted.actor.stop();
    return true;
  }

  /**
   * The periodic sweep: agents idle for at least `idleMs` leave memory (resting ones are forgotten,
   * live ones at rest saved and stopped), and live agents at rest with nothing to save rest.
   * Returns how many left memory.
   */
  async passivateIdle(idleMs: number): Promise<number> {
    const cutoff = this.#deps.now() - idleMs;
    const count = this.#resting.forgetIdle(cutoff);
    const idle: HostedAgent[] = [];
    for (const hosted of this.#hosted.values()) {
      if (!atRest(hosted)) continue;
      if (hosted.lastActiveAt <= cutoff) idle.push(hosted);
      else if (!hosted.dirty && !hosted.saving && !hosted.saveTimer) {
        // Nothing new since the last save (or nothing ever to save): its stored state is current.
        this.#rest(hosted, hosted.revision === 0 ? undefined : JSON.stringify(hosted.actor.getPersistedSnapshot()));
      }
    }
    const results = await Promise.all(idle.map((hosted) => this.passivate(hosted)));
    return count + results.filter(Boolean).length;
  }
}
