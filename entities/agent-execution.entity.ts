import { defineEntity, type InferEntity } from "@mikro-orm/core";
import type { WireError } from "../runtime/protocol/index.js";
import { AiAgent } from "./ai-agent.entity.js";
import { executionStatuses } from "./enums.js";
import { Organization } from "./organization.entity.js";
import { timestamps, uuidPrimaryKey } from "./timestamps.js";
import { WorkflowExecution } from "./workflow-execution.entity.js";

/**
 * One task given to one agent. The row exists (PENDING) before the task is published, so the
 * database is the ledger of work and the bus only delivers it.
 */
export const AgentExecution = defineEntity({
  name: "AgentExecution",
  tableName: "neuroflow_agent_executions",
  indexes: [
    { properties: ["organization", "status"] },
    { properties: ["organization", "createdAt"] },
    { properties: ["agent", "createdAt"] },
  ],
  properties: (p) => ({
    id: uuidPrimaryKey(),
    organization: () => p.manyToOne(Organization).deleteRule("cascade"),
    agent: () => p.manyToOne(AiAgent).deleteRule("cascade"),
    /** The workflow run this task belongs to; kept (set null) when that run is deleted. */
    workflowExecution: () => p.manyToOne(WorkflowExecution).nullable().deleteRule("set null").index(),
    /** The task description as given. */
    task: p.text(),
    status: p.enum([...executionStatuses]).default("PENDING"),
    input: p.json<Record<string, unknown>>(),
    output: p.json<Record<string, unknown>>().nullable(),
    error: p.json<WireError>().nullable(),
    promptTokens: p.integer().default(0),
    completionTokens: p.integer().default(0),
    tokensUsed: p.integer().default(0),
    cost: p.float().columnType("double precision").default(0),
    provider: p.string().length(50).nullable(),
    model: p.string().length(200).nullable(),
    workerId: p.string().length(200).nullable(),
    startedAt: p.datetime().columnType("timestamptz").nullable(),
    completedAt: p.datetime().columnType("timestamptz").nullable(),
    /** Milliseconds from start to completion. */
    duration: p.integer().nullable(),
    ...timestamps(),
  }),
});
export type IAgentExecution = InferEntity<typeof AgentExecution>;
