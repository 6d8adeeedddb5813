import { defineEntity, type InferEntity } from "@mikro-orm/core";
import { Organization } from "./organization.entity.js";
import { timestamps, uuidPrimaryKey } from "./timestamps.js";
import { User } from "./user.entity.js";
import { WorkflowTemplate } from "./workflow-template.entity.js";

/** A visual workflow: React Flow nodes and edges as JSON, versioned. */
export const Workflow = defineEntity({
  name: "Workflow",
  tableName: "neuroflow_workflows",
  indexes: [
    { properties: ["organization", "createdAt"] },
    { properties: ["organization", "isActive"] },
  ],
  properties: (p) => ({
    id: uuidPrimaryKey(),
    organization: () => p.manyToOne(Organization).deleteRule("cascade"),
    name: p.string().length(200),
    description: p.text().nullable(),
    nodes: p.json<unknown[]>(),
    edges: p.json<unknown[]>(),
    settings: p.json<Record<string, unknown>>(),
    isActive: p.boolean().default(true),
    version: p.integer().default(1),
    tags: p.json<string[]>(),
    template: () => p.manyToOne(WorkflowTemplate).nullable().deleteRule("set null").index(),
    createdBy: () => p.manyToOne(User).nullable().deleteRule("set null").index(),
    executionCount: p.integer().default(0),
    lastExecutedAt: p.datetime().columnType("timestamptz").nullable(),
    ...timestamps(),
  }),
});
export type IWorkflow = InferEntity<typeof Workflow>;
