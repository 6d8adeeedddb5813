import type {
  AgentStatus,
  AgentStatusChanged,
  AgentView,
  ExecutionProgress,
  ExecutionStatus,
  ExecutionView,
  TokenUsage,
} from "../../../runtime/protocol/index.js";

/**
 * What the console knows about one agent beyond its HTTP view, and the pure functions that fold
 * status events and HTTP snapshots into it. No I/O and no runes: connection.svelte.ts stores the
 * results in `$state`, and the tests call these directly.
 */

/** How many status transitions a card keeps. */
export const TIMELINE_LIMIT = 8;

/** Status names as people read them. */
const STATUS_LABELS: Record<AgentStatus, string> = {
  IDLE: "idle",
  BUSY: "working",
  ERROR: "error",
  OFFLINE: "offline",
};

/** The label shown for an agent status (IDLE → "idle", BUSY → "working", …). Never fails. */
export function statusLabel(status: AgentStatus): string {
  return STATUS_LABELS[status];
}

export interface TimelineEntry {
  status: AgentStatus;
  at: string;
}

/** The most recent execution of an agent, from a status event or the executions endpoint. */
export interface RunInfo {
  executionId: string;
  status: ExecutionStatus;
  /** The latest time known for this run; orders runs that come from different sources. */
  at: string;
  durationMs: number | null;
  usage: TokenUsage | null;
  error: { code: string; message: string } | null;
}

/** The output of the agent's latest COMPLETED execution. */
export interface Answer {
  executionId: string;
  text: string;
  at: string;
}

export interface AgentLive {
  status: AgentStatus;
  /** `at` of the last applied status event; null while the status comes from an HTTP snapshot. */
  statusAt: string | null;
  queued: number;
  timeline: TimelineEntry[];
  run: RunInfo | null;
  answer: Answer | null;
  /**
   * Executions seen finishing over the socket since the last snapshot. Added to the snapshot's
   * `totalExecutions` so the count moves without refetching the agent list.
   */
  finishedSinceSnapshot: number;
}

const TERMINAL: ReadonlySet<ExecutionStatus> = new Set(["COMPLETED", "FAILED", "CANCELLED"]);

/** Whether an execution status is final (COMPLETED, FAILED or CANCELLED). */
export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL.has(status);
}

function time(iso: string): number {
  return Date.parse(iso);
}

function emptyLive(status: AgentStatus): AgentLive {
  return { status, statusAt: null, queued: 0, timeline: [], run: null, answer: null, finishedSinceSnapshot: 0 };
}

function runFromProgress(progress: ExecutionProgress, previous: RunInfo | null, at: string): RunInfo {
  // A later event for the same execution may omit what an earlier one carried; keep it.
  const same = previous?.executionId === progress.executionId ? previous : null;
  return {
    executionId: progress.executionId,
    status: progress.status,
    at,
    durationMs: progress.durationMs ?? same?.durationMs ?? null,
    usage: progress.usage ?? same?.usage ?? null,
    error: progress.error ? { code: progress.error.code, message: progress.error.message } : (same?.error ?? null),
  };
}

function runFromExecution(execution: ExecutionView): RunInfo {
  return {
    executionId: execution.id,
    status: execution.status,
    at: execution.completedAt ?? execution.startedAt ?? execution.createdAt,
    durationMs: execution.duration,
    usage: { promptTokens: execution.promptTokens, completionTokens: execution.completionTokens },
    error: execution.error,
  };
}

/**
 * Folds one `agent.status.changed` event into an agent's state (creating it when the event comes
 * before the agent list). Consecutive events with the same status add one timeline entry, since
 * the timeline shows transitions. The caller checks the event's org. Never fails.
 */
export function applyStatusEvent(live: AgentLive | undefined, event: AgentStatusChanged): AgentLive {
  const current = live ?? emptyLive(event.status);
  const last = current.timeline.at(-1);
  const timeline =
    last?.status === event.status
      ? current.timeline
      : [...current.timeline, { status: event.status, at: event.at }].slice(-TIMELINE_LIMIT);

  let { run, answer, finishedSinceSnapshot } = current;
  const progress = event.execution;
  if (progress) {
    const wasTerminal = run?.executionId === progress.executionId && isTerminal(run.status);
    run = runFromProgress(progress, run, progress.completedAt ?? event.at);
    // Count each execution once, even if its final event is delivered twice.
    if (isTerminal(progress.status) && !wasTerminal) finishedSinceSnapshot += 1;
    if (progress.status === "COMPLETED" && progress.output !== undefined) {
      answer = { executionId: progress.executionId, text: progress.output, at: run.at };
    }
  }
  return { ...current, status: event.status, statusAt: event.at, queued: event.queued, timeline, run, answer, finishedSinceSnapshot };
}

function newerRun(live: RunInfo | null, server: RunInfo | null): RunInfo | null {
  if (!live || !server) return live ?? server;
  if (live.executionId === server.executionId) {
    // The same run: the side that saw it finish knows more.
    if (isTerminal(server.status) !== isTerminal(live.status)) return isTerminal(server.status) ? server : live;
  }
  return time(server.at) > time(live.at) ? server : live;
}

function newerAnswer(live: Answer | null, server: Answer | null): Answer | null {
  if (!live || !server) return live ?? server;
  return time(server.at) > time(live.at) ? server : live;
}

/**
 * Merges an HTTP snapshot (the agent view and its executions, newest first) into what the socket
 * has already delivered. Whichever side is newer wins, so a snapshot loaded after a reconnect
 * fills in what was missed, and one that lands after a live event does not roll it back.
 * Never fails.
 */
export function applySnapshot(live: AgentLive | undefined, agent: AgentView, executions: readonly ExecutionView[]): AgentLive {
  const current = live ?? emptyLive(agent.status);
  const statusFromServer =
    current.statusAt === null ||
    (agent.lastActiveAt !== null && time(agent.lastActiveAt) > time(current.statusAt));

  const latest = executions[0];
  const completed = executions.find((e) => e.status === "COMPLETED" && e.output !== null);
  const serverAnswer =
    completed?.output != null
      ? { executionId: completed.id, text: completed.output, at: completed.completedAt ?? completed.createdAt }
      : null;

  return {
    ...current,
    status: statusFromServer ? agent.status : current.status,
    statusAt: statusFromServer ? null : current.statusAt,
    run: newerRun(current.run, latest ? runFromExecution(latest) : null),
    answer: newerAnswer(current.answer, serverAnswer),
    finishedSinceSnapshot: 0,
  };
}

/**
 * Records an execution the console just submitted (PENDING) as the agent's latest run, unless a
 * status event for it already arrived — events can beat the HTTP response. Never fails.
 */
export function applySubmitted(live: AgentLive | undefined, agent: AgentView, execution: ExecutionView): AgentLive {
  const current = live ?? emptyLive(agent.status);
  if (current.run?.executionId === execution.id) return current;
  return { ...current, run: runFromExecution(execution) };
}
