import type { SnapshotFrom } from "xstate";
import type { AgentStatusChanged, ExecutionProgress } from "../protocol/index.js";
import { agentStatusOf, type agentMachine } from "../machines/agent.machine.js";

export type AgentSnapshot = SnapshotFrom<typeof agentMachine>;

export interface StatusMeta {
  workerId: string;
  now: Date;
  /** When the host saw this execution start (for durations of failed and finished tasks). */
  startedAt: (executionId: string) => Date | undefined;
}

/**
 * The one function that turns an inspected transition of an agent actor into protocol events:
 * a finished task (COMPLETED / FAILED), a started task (RUNNING), or a bare status change.
 * Returns them in the order they happened; an unchanged snapshot gives none.
 */
export function statusEvents(prev: AgentSnapshot | undefined, next: AgentSnapshot, meta: StatusMeta): AgentStatusChanged[] {
  const status = agentStatusOf(String(next.value));
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
  if (last && last !== prev?.context.last) {
    const startedAt = meta.startedAt(last.executionId) ?? meta.now;
    const common = {
      executionId: last.executionId,
      startedAt: startedAt.toISOString(),
      completedAt: meta.now.toISOString(),
      durationMs: Math.max(0, meta.now.getTime() - startedAt.getTime()),
    };
    const execution: ExecutionProgress = last.ok
      ? {
          ...common,
          status: "COMPLETED",
          output: last.answer.text,
          usage: last.answer.usage,
          costMicroUsd: last.answer.costMicroUsd,
          provider: last.answer.provider,
          model: last.answer.model,
        }
      : { ...common, status: "FAILED", error: last.error };
    events.push({ ...base, execution });
  }

  const current = next.context.current;
  if (current && current !== prev?.context.current) {
    events.push({
      ...base,
      execution: {
        executionId: current.executionId,
        status: "RUNNING",
        startedAt: meta.now.toISOString(),
        provider: current.agent.modelConfig.provider,
        model: current.agent.modelConfig.model,
      },
    });
  }

  if (events.length === 0 && (!prev || agentStatusOf(String(prev.value)) !== status || prev.context.mailbox.length !== base.queued)) {
    events.push(base);
  }
  return events;
}
