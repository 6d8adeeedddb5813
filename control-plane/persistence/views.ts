import type { IAgentExecution, IAiAgent } from "../../entities/index.js";
import type { AgentView, ExecutionView, WireError } from "../../runtime/protocol/index.js";

/** Entity → API view. Fields are mapped one by one so nothing internal leaks by accident. */
export function agentView(agent: IAiAgent): AgentView {
  return {
    id: agent.id,
    orgId: agent.organization.id,
    name: agent.name,
    description: agent.description ?? null,
    status: agent.status,
    personality: agent.personality,
    modelConfig: agent.modelConfig,
    capabilities: agent.capabilities,
    isActive: agent.isActive,
    totalExecutions: agent.totalExecutions,
    successRate: agent.successRate,
    avgResponseTime: agent.avgResponseTime,
    lastActiveAt: agent.lastActiveAt?.toISOString() ?? null,
  };
}

export function executionView(execution: IAgentExecution): ExecutionView {
  const text = execution.output?.["text"];
  return {
    id: execution.id,
    orgId: execution.organization.id,
    agentId: execution.agent.id,
    task: execution.task,
    status: execution.status,
    output: typeof text === "string" ? text : null,
    error: execution.error ? { code: execution.error.code, message: execution.error.message } : null,
    provider: execution.provider ?? null,
    model: execution.model ?? null,
    promptTokens: execution.promptTokens,
    completionTokens: execution.completionTokens,
    tokensUsed: execution.tokensUsed,
    duration: execution.duration ?? null,
    createdAt: execution.createdAt.toISOString(),
    startedAt: execution.startedAt?.toISOString() ?? null,
    completedAt: execution.completedAt?.toISOString() ?? null,
  };
}

/** What a workflow or team execution has in common, ready for the API (`retryable` stays internal). */
export function runOutcomeView(execution: {
  output?: Record<string, unknown> | null;
  error?: WireError | null;
  tokensUsed: number;
  cost: number;
  duration?: number | null;
  createdAt: Date;
  startedAt?: Date | null;
  completedAt?: Date | null;
}) {
  return {
    output: execution.output ?? null,
    error: execution.error ? { code: execution.error.code, message: execution.error.message } : null,
    tokensUsed: execution.tokensUsed,
    cost: execution.cost,
    duration: execution.duration ?? null,
    createdAt: execution.createdAt.toISOString(),
    startedAt: execution.startedAt?.toISOString() ?? null,
    completedAt: execution.completedAt?.toISOString() ?? null,
  };
}
