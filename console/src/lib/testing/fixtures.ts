import {
  agentStatusChangedSchema,
  agentViewSchema,
  cellResultSchema,
  executionViewSchema,
  experimentSpecSchema,
  experimentViewSchema,
  type AgentStatusChanged,
  type AgentView,
  type CellResult,
  type ExecutionView,
  type ExperimentView,
} from "../../../../runtime/protocol/index.js";

/**
 * Test data built through the protocol schemas, so a fixture that drifts from the wire contract
 * fails loudly instead of testing something the server can never send.
 */

export const ORG_ID = "0b6f3c1e-6c1a-4a8e-9f3e-3f2a1b0c9d01";
export const OTHER_ORG_ID = "7d4e2a90-1f3b-4c5d-8e6f-0a1b2c3d4e5f";
export const AGENT_ID = "5a1c9e7b-2d3f-4b6a-8c0e-1f2a3b4c5d6e";
export const EXECUTION_ID = "c3d2e1f0-a9b8-4c7d-9e6f-5a4b3c2d1e0f";
export const OTHER_EXECUTION_ID = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b";
export const EXPERIMENT_ID = "4f3e2d1c-0b9a-4887-a665-544332211000";

export function agentView(overrides: Partial<AgentView> = {}): AgentView {
  return agentViewSchema.parse({
    id: AGENT_ID,
    orgId: ORG_ID,
    name: "Research Assistant",
    description: "Finds and summarises sources.",
    status: "IDLE",
    personality: { tone: "precise" },
    modelConfig: { provider: "simulated", model: "echo-1" },
    capabilities: ["research"],
    isActive: true,
    totalExecutions: 3,
    successRate: 1,
    avgResponseTime: 120,
    lastActiveAt: null,
    ...overrides,
  });
}

export function executionView(overrides: Partial<ExecutionView> = {}): ExecutionView {
  return executionViewSchema.parse({
    id: EXECUTION_ID,
    orgId: ORG_ID,
    agentId: AGENT_ID,
    task: "Summarise the report",
    status: "COMPLETED",
    output: "Here is the summary.",
    error: null,
    provider: "simulated",
    model: "echo-1",
    promptTokens: 12,
    completionTokens: 30,
    tokensUsed: 42,
    duration: 840,
    createdAt: "2025-01-01T10:00:00.000Z",
    startedAt: "2025-01-01T10:00:00.100Z",
    completedAt: "2025-01-01T10:00:00.940Z",
    ...overrides,
  });
}

export function statusEvent(overrides: Partial<AgentStatusChanged> = {}): AgentStatusChanged {
  return agentStatusChangedSchema.parse({
    type: "agent.status.changed",
    orgId: ORG_ID,
    agentId: AGENT_ID,
    status: "BUSY",
    workerId: "worker-1",
    at: "2025-01-01T12:00:00.000Z",
    queued: 0,
    ...overrides,
  });
}

/** The status event a worker publishes when an execution finishes with an answer. */
export function completedEvent(output: string, at = "2025-01-01T12:00:02.000Z"): AgentStatusChanged {
  return statusEvent({
    status: "IDLE",
    at,
    execution: {
      executionId: EXECUTION_ID,
      status: "COMPLETED",
      startedAt: "2025-01-01T12:00:00.000Z",
      completedAt: at,
      durationMs: 2000,
      output,
      provider: "simulated",
      model: "echo-1",
      usage: { promptTokens: 10, completionTokens: 25 },
    },
  });
}

/** One DEMOCRATIC majority cell of `teamSize` members with the given score out of `trials`. */
export function cellResult(teamSize: number, correct: number, trials: number, ci95: { low: number; high: number }): CellResult {
  return cellResultSchema.parse({
    cell: {
      id: `DEMOCRATIC/majority/n${teamSize}/d0`,
      structure: "DEMOCRATIC",
      rule: { kind: "majority", quorum: 0, tieBreak: "random", abstentionsCount: false },
      teamSize,
      debateRounds: 0,
      latencyMs: 0,
      members: Array.from({ length: teamSize }, () => ({ accuracy: 0.7, weight: 1, priority: 0, role: "WORKER" })),
    },
    trials,
    correct,
    accuracy: correct / trials,
    ci95,
    tokens: { prompt: 1_200 * teamSize, completion: 300 * teamSize, total: 1_500 * teamSize },
    costMicroUsd: 0,
    latencyMs: { p50: 4.2, p95: 31 },
    failures: trials - correct > 3 ? 1 : 0,
  });
}

/** An experiment as GET /experiments/:id returns it; COMPLETED with three cells unless overridden. */
export function experimentView(overrides: Partial<ExperimentView> = {}): ExperimentView {
  const spec = experimentSpecSchema.parse({
    name: "majority sizes",
    seed: 7,
    trials: 40,
    tasks: { kind: "binary-questions", count: 40 },
    grid: { structures: ["DEMOCRATIC"], rules: [{ kind: "majority", tieBreak: "random" }], teamSizes: [3, 5, 7] },
  });
  return experimentViewSchema.parse({
    id: EXPERIMENT_ID,
    orgId: ORG_ID,
    name: spec.name,
    status: "COMPLETED",
    progress: { done: 120, total: 120 },
    error: null,
    createdBy: null,
    createdAt: "2025-01-01T10:00:00.000Z",
    updatedAt: "2025-01-01T10:00:09.000Z",
    startedAt: "2025-01-01T10:00:00.100Z",
    completedAt: "2025-01-01T10:00:09.000Z",
    spec,
    results: {
      name: spec.name,
      seed: spec.seed,
      trialsPerCell: 40,
      taskCount: 40,
      cells: [cellResult(3, 30, 40, { low: 0.598, high: 0.858 }), cellResult(5, 34, 40, { low: 0.709, high: 0.929 }), cellResult(7, 40, 40, { low: 0.912, high: 1 })],
      skipped: [],
    },
    ...overrides,
  });
}
