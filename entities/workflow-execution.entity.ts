import { defineEntity, type InferEntity } from "@mikro-orm/core";
import type { WireError } from "../runtime/protocol/index.js";
import { executionStatuses } from "./enums.js";
import { Organization } from "./organization.entity.js";
import { timestamps, uuidPrimaryKey } from "./timestamps.js";
import { Workflow } from "./workflow.entity.js";

/** One run of a workflow; its agent executions link to it (set null if it is deleted). */
export const WorkflowExecution = defineEntity({
  name: "WorkflowExecution",
  tableName: "neuroflow_workflow_executions",
  indexes: [
    { properties: ["organization", "status"] },
    { properties: ["organization", "createdAt"] },
    { properties: ["workflow", "createdAt"] },
  ],
  properties: (p) => ({
    id: uuidPrimaryKey(),
    organization: () => p.manyToOne(Organization).deleteRule("cascade"),
    workflow: () => p.manyToOne(Workflow).deleteRule("cascade"),
    status: p.enum([...executionStatuses]).default("PENDING"),
    input: p.json<Record<string, unknown>>(),
    output: p.json<Record<string, unknown>>().nullable(),
    error: p.json<WireError>().nullable(),
    logs: p.json<unknown[]>(),
    startedAt: p.datetime().columnType("timestamptz").nullable(),
    completedAt: p.datetime().columnType("timestamptz").nullable(),
    duration: p.integer().nullable(),
    tokensUsed: p.integer().default(0),
    cost: p.float().columnType("double precision").default(0),
    /** Who or what started it: a user id, `schedule`, `webhook`, `api-key:<id>`. */
    triggeredBy: p.string().length(200).nullable(),
    ...timestamps(),
  }),
});
export type IWorkflowExecution = InferEntity<typeof WorkflowExecution>;
