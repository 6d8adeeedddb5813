import type { SnapshotFrom } from "xstate";
import type { AgentStatusChanged, ExecutionProgress } from "../protocol/index.js";
import { agentStatusOf, outcomeStatus, type agentMachine, type AgentContext, type TaskOutcome } from "../machines/agent.machine.js";

/**
 * Agent status events: the one function that turns an inspected transition of an agent actor into
 * protocol events ({@link statusEvents}), and the per-agent buffer that publishes them once per tick
 * ({@link StatusCoalescer}).
 *
 * What the bus sees: events of one agent in the order they happened, published at the end of the
 * tick (`setImmediate`) that produced them. Within one tick a later event of the same agent drops
 * the pending ones it makes redundant: an ending or a RUNNING drops the last pending RUNNING of its
 * execution (a task that starts and ends in one tick — a model answering at once — publishes only
 * its ending), and any event at least as recent drops the last pending bare status change (it
 * carries the agent's status and queue length too). Endings are never dropped. Consumers
 * already accept an execution going from PENDING straight to its ending: the ledger
 * (control-plane/persistence/execution-ledger.ts) moves PENDING or RUNNING rows to a terminal
 * status and keeps the ending's `startedAt`, provider and model.
 */

export type AgentSnapshot = SnapshotFrom<typeof agentMachine>;

export interface StatusMeta {
  workerId: string;
  /** Milliseconds since the epoch (the host's injected clock). */
  now: number;
  /** When the host saw this execution start, ms since the epoch (durations of ended tasks span every retry). */
  startedAt: (executionId: string) => number | undefined;
}

/**
 * ISO 8601. A time with a fraction of a millisecond (two events of one worker within one
 * millisecond, see AgentActivations) keeps it, to the microsecond, so the ledger orders them.
 */
const iso = (ms: number) => {
  if (Number.isInteger(ms)) return new Date(ms).toISOString();
  const whole = Math.floor(ms);
  const micros = Math.min(999, Math.round((ms - whole) * 1000));
  return `${new Date(whole).toISOString().slice(0, -1)}${String(micros).padStart(3, "0")}Z`;
};

function finished(last: TaskOutcome, ended: AgentContext["current"], meta: StatusMeta, at: string): ExecutionProgress {
  const started = meta.startedAt(last.executionId) ?? meta.now;
  // Object literals of one shape per status (no spreads): this runs once per task.
  const startedAt = started === meta.now ? at : iso(started);
  const durationMs = Math.max(0, Math.round(meta.now - started));
  // A task cancelled in the mailbox never made a call: no attempt to report.
  const attempt = last.attempts > 0 ? last.attempts : undefined;
  if (last.ok) {
    const answer = last.answer;
    return {
      executionId: last.executionId,
      status: "COMPLETED",
      startedAt,
      completedAt: at,
      durationMs,
      attempt,
      output: answer.text,
      usage: answer.usage,
      costMicroUsd: answer.costMicroUsd,
      provider: answer.provider,
      model: answer.model,
    };
  }
  // The model that was called, as its RUNNING said: that event may have been coalesced away.
  const called = attempt !== undefined && ended?.executionId === last.executionId ? ended.agent.modelConfig : undefined;
  return {
    executionId: last.executionId,
    status: outcomeStatus(last),
    startedAt,
    completedAt: at,
    durationMs,
    attempt,
    error: last.error,
    provider: called?.provider,
    model: called?.model,
  };
}

/**
 * Protocol events of one transition of an agent actor: a finished task (COMPLETED, FAILED — TIMEOUT
 * among its errors — or CANCELLED, also for a task taken out of the mailbox), a started model call
 * (RUNNING with `attempt`, repeated for each retry), or a bare status change. Returns them in the
 * order they happened; an unchanged snapshot gives none and allocates nothing. Pure and total: it
 * never throws.
 */
export function statusEvents(prev: AgentSnapshot | undefined, next: AgentSnapshot, meta: StatusMeta): AgentStatusChanged[] {
  const context = next.context;
  const status = agentStatusOf(next.value);
  const last = context.last;
  const current = context.current;
  const attempt = context.attempt;
  const ended = last !== null && last !== prev?.context.last;
  const started = current !== null && attempt > 0 && (current !== prev?.context.current || attempt !== prev.context.attempt);
  const changed = !prev || agentStatusOf(prev.value) !== status || prev.context.mailbox.length !== context.mailbox.length;
  if (!ended && !started && !changed) return [];

  const at = iso(meta.now);
  const queued = context.mailbox.length;
  const event = (execution: ExecutionProgress | undefined): AgentStatusChanged => ({
    type: "agent.status.changed",
    orgId: context.orgId,
    agentId: context.agentId,
    status,
    workerId: meta.workerId,
    at,
    queued,
    execution,
  });
  const events: AgentStatusChanged[] = [];
  if (ended) events.push(event(finished(last, prev?.context.current ?? null, meta, at)));
  if (started) {
    // A retry keeps the task's start, so the duration covers every attempt.
    const startedAt = meta.startedAt(current.executionId);
    events.push(
      event({
        executionId: current.executionId,
        status: "RUNNING",
        startedAt: startedAt === undefined ? at : iso(startedAt),
        provider: current.agent.modelConfig.provider,
        model: current.agent.modelConfig.model,
        attempt,
      }),
    );
  }
  if (events.length === 0) events.push(event(undefined));
  return events;
}

/** One agent's events of this tick, with where the ones a later event may supersede are. */
interface Pending {
  events: Array<AgentStatusChanged | undefined>;
  /** Index of the last RUNNING event (a later RUNNING or ending of its execution supersedes it), or -1. */
  running: number;
  /** Index of the last bare status change (any later event at or after its time supersedes it), or -1. */
  bare: number;
}

/**
 * Publishes agent status events once per tick and agent, dropping those a later event of the same
 * tick supersedes (see the file header); order per agent is kept and endings are never dropped.
 * `flush()` publishes what is pending at once. `publish` errors propagate out of the flush.
 */
export class StatusCoalescer {
  readonly #publish: (event: AgentStatusChanged) => void;
  readonly #defer: (flush: () => void) => void;
  /** Pending events by agent, in order (undefined: superseded); Map iteration keeps agents in first-event order. */
  #pending = new Map<string, Pending>();
  #scheduled = false;

  constructor(publish: (event: AgentStatusChanged) => void, defer: (flush: () => void) => void = (flush) => void setImmediate(flush)) {
    this.#publish = publish;
    this.#defer = defer;
  }

  /** Events waiting for the end of the tick. */
  get pending(): number {
    let count = 0;
    for (const { events } of this.#pending.values()) for (const event of events) if (event) count++;
    return count;
  }

  /** Queues `event` for the end of the tick; constant time. */
  push(event: AgentStatusChanged): void {
    // Agent ids are UUIDs: unique across organizations.
    let pending = this.#pending.get(event.agentId);
    if (!pending) this.#pending.set(event.agentId, (pending = { events: [], running: -1, bare: -1 }));
    const { events } = pending;
    const execution = event.execution;
    if (pending.bare >= 0 && Date.parse(event.at) >= Date.parse(events[pending.bare]!.at)) {
      events[pending.bare] = undefined;
      pending.bare = -1;
    }
    if (pending.running >= 0 && execution && events[pending.running]!.execution!.executionId === execution.executionId) {
      events[pending.running] = undefined;
      pending.running = -1;
    }
    if (!execution) pending.bare = events.length;
    else if (execution.status === "RUNNING") pending.running = events.length;
    events.push(event);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#defer(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    if (pending.size === 0) return;
    this.#pending = new Map();
    for (const { events } of pending.values()) for (const event of events) if (event) this.#publish(event);
  }
}
