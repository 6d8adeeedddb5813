import { runOutcomeView } from "./views.js";
import { z } from "zod";
import type { IWorkflow, IWorkflowExecution, IWorkflowTemplate } from "../../entities/index.js";
import {
  workflowEdgeSchema,
  workflowNodeSchema,
  type TemplateView,
  type WorkflowExecutionView,
  type WorkflowView,
} from "../../runtime/protocol/index.js";

/**
 * Entity → API view for workflows, their executions and templates, field by field so nothing
 * internal leaks by accident.
 */

// The graph columns are `unknown[]` in the entity; every write goes through the API schemas, so
// parsing here only gives them their type back. A row written around the API that doesn't fit
// throws (a 500 the log explains) rather than reaching the console malformed.
const nodesSchema = z.array(workflowNodeSchema);
const edgesSchema = z.array(workflowEdgeSchema);

/** Throws a ZodError when the stored nodes or edges are not React Flow JSON. */
export function workflowView(workflow: IWorkflow): WorkflowView {
  return {
    id: workflow.id,
    orgId: workflow.organization.id,
    name: workflow.name,
    description: workflow.description ?? null,
    nodes: nodesSchema.parse(workflow.nodes),
    edges: edgesSchema.parse(workflow.edges),
    settings: workflow.settings,
    isActive: workflow.isActive,
    version: workflow.version,
    tags: workflow.tags,
    templateId: workflow.template?.id ?? null,
    createdBy: workflow.createdBy?.id ?? null,
    executionCount: workflow.executionCount,
    lastExecutedAt: workflow.lastExecutedAt?.toISOString() ?? null,
    createdAt: workflow.createdAt.toISOString(),
    updatedAt: workflow.updatedAt.toISOString(),
  };
}

/** Never throws: every column has a view field of its own type. */
export function workflowExecutionView(execution: IWorkflowExecution): WorkflowExecutionView {
  return {
    id: execution.id,
    orgId: execution.organization.id,
    workflowId: execution.workflow.id,
    status: execution.status,
    input: execution.input,
    logs: execution.logs,
    triggeredBy: execution.triggeredBy ?? null,
    ...runOutcomeView(execution),
  };
}

/** Throws a ZodError when the stored nodes or edges are not React Flow JSON. */
export function templateView(template: IWorkflowTemplate): TemplateView {
  return {
    id: template.id,
    orgId: template.organization?.id ?? null,
    name: template.name,
    description: template.description ?? null,
    category: template.category,
    difficulty: template.difficulty,
    nodes: nodesSchema.parse(template.nodes),
    edges: edgesSchema.parse(template.edges),
    tags: template.tags,
    isPublic: template.isPublic,
    isSystem: template.isSystem,
    isFeatured: template.isFeatured,
    usageCount: template.usageCount,
    rating: template.rating,
    ratingCount: template.ratingCount,
    createdAt: template.createdAt.toISOString(),
    updatedAt: template.updatedAt.toISOString(),
  };
}
