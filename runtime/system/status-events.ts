import type { SnapshotFrom } from "xstate";
import type { AgentStatusChanged, ExecutionProgress } from "../protocol/index.js";
import { agentStatusOf, outcomeStatus, type agentMachine, type TaskOutcome } from "../machines/agent.machine.js";

export type AgentSnapshot = SnapshotFrom<typeof agentMachine>;

export interface StatusMeta {
  workerId: string;
  now: Date;
  /** When the host saw this execution start (for durations of failed and finished tasks). */
  startedAt: (executionId: string) => Date | undefined;
}

function finished(last: TaskOutcome, meta: StatusMeta): ExecutionProgress {
  const startedAt = meta.startedAt(last.executionId) ?? meta.now;
  const common = {
    executionId: last.executionId,
    startedAt: startedAt.toISOString(),
    completedAt: meta.now.toISOString(),
    durationMs: Math.max(0, meta.now.getTime() - startedAt.getTime()),
    // A task cancelled in the mailbox never made a call: no attempt to report.
    ...(last.attempts > 0 ? { attempt: last.attempts } : {}),
  };
  if (last.ok) {
    return {
      ...common,
      status: "COMPLETED",
      output: last.answer.text,
      usage: last.answer.usage,
      costMicroUsd: last.answer.costMicroUsd,
      provider: last.answer.provider,
      model: last.answer.model,
    };
  }
  return { ...common, status: outcomeStatus(last), error: last.error };
}

/**
 * The one function that turns an inspected transition of an agent actor into protocol events:
 * a finished task (COMPLETED, FAILED — TIMEOUT among its errors — or CANCELLED, also for a task
 * taken out of the mailbox), a started model call (RUNNING with `attempt`, repeated for each
 * retry), or a bare status change. Returns them in the order they happened; an unchanged snapshot
 * gives none. Pure and total: it never throws.
 */
export function statusEvents(prev: AgentSnapshot | undefined, next: AgentSnapshot, meta: StatusMeta): AgentStatusChanged[] {
  const status = agentStatusOf(next.value);
  const base = {
    type: "agent.status.changed" as const,
    orgId: next.context.orgId,
    agentId: next.context.agentId,
    status,
    workerId: meta.workerId,
    at: meta.now.toISOString(),
    queued: next.context.mailbox.length,
  };
  const events: AgentStatusChanged[] = [];

  const last = next.context.last;
  if (last && last !== prev?.context.last) events.push({ ...base, execution: finished(last, meta) });

  const current = next.context.current;
  const attempt = next.context.attempt;
  if (current && attempt > 0 && (current !== prev?.context.current || attempt !== prev.context.attempt)) {
    events.push({
      ...base,
      execution: {
        executionId: current.executionId,
        status: "RUNNING",
        // A retry keeps the task's start, so the duration covers every attempt.
        startedAt: (meta.startedAt(current.executionId) ?? meta.now).toISOString(),
        provider: current.agent.modelConfig.provider,
        model: current.agent.modelConfig.model,
        attempt,
      },
    });
  }

  if (events.length === 0 && (!prev || agentStatusOf(prev.value) !== status || prev.context.mailbox.length !== base.queued)) {
    events.push(base);
  }
  return events;
}
