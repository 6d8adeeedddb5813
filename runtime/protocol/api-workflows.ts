import { z } from "zod";
import { NeuroflowError } from "./errors.js";
import { orgIdSchema } from "./ids.js";
import { executionStatusSchema } from "./status.js";

/**
 * HTTP bodies of workflows, workflow executions and templates. A workflow's graph is React Flow
 * JSON: the fields the executor will read are checked, the rest of what React Flow stores on a
 * node or edge (`measured`, `selected`, `style`…) round-trips untouched; the body size limit
 * bounds it. Create bodies are strict (an unknown key is a 400), update bodies are partial.
 */

/** Workflow, workflow execution and template ids are UUIDs; routes answer NOT_FOUND for one that doesn't parse. */
export const workflowIdSchema = z.uuid();
export const workflowExecutionIdSchema = z.uuid();
export const templateIdSchema = z.uuid();

/** Size limits of a graph and its tags; past them a body fails with a `too_big` issue. */
export const MAX_WORKFLOW_NODES = 500;
export const MAX_WORKFLOW_EDGES = 2_000;
export const MAX_WORKFLOW_TAGS = 20;

/** The one source of these values: entities/enums.ts (and so the database CHECK constraints) derive from them. */
export const templateCategorySchema = z.enum([
  "SALES",
  "SUPPORT",
  "MARKETING",
  "DATA_PROCESSING",
  "AUTOMATION",
  "ANALYTICS",
  "CONTENT",
  "COMMUNICATION",
]);
export const difficultyLevelSchema = z.enum(["BEGINNER", "INTERMEDIATE", "ADVANCED", "EXPERT"]);

const graphId = z.string().min(1).max(200);
const jsonRecord = z.record(z.string(), z.unknown());

/** A React Flow node. Fails on a missing id, position or data; keeps keys it doesn't know. */
export const workflowNodeSchema = z.looseObject({
  id: graphId,
  type: z.string().max(100).optional(),
  position: z.object({ x: z.number(), y: z.number() }),
  data: jsonRecord,
});
export type WorkflowNode = z.infer<typeof workflowNodeSchema>;

/** A React Flow edge. Fails on a missing id, source or target; whether they name nodes is `graphIssues`' job. */
export const workflowEdgeSchema = z.looseObject({
  id: graphId,
  source: graphId,
  target: graphId,
  // React Flow writes null for "the node's only handle".
  sourceHandle: z.string().max(200).nullable().optional(),
  targetHandle: z.string().max(200).nullable().optional(),
  type: z.string().max(100).optional(),
  data: jsonRecord.optional(),
});
export type WorkflowEdge = z.infer<typeof workflowEdgeSchema>;

export const workflowNodesSchema = z.array(workflowNodeSchema).max(MAX_WORKFLOW_NODES);
export const workflowEdgesSchema = z.array(workflowEdgeSchema).max(MAX_WORKFLOW_EDGES);

/** One problem of a graph, with its path in the body (`["edges", 3, "source"]`). */
export interface GraphIssue {
  path: Array<string | number>;
  message: string;
}

// Enough to fix the first mistakes; a graph with 2000 bad edges shouldn't make a 2000-entry error.
const MAX_GRAPH_ISSUES = 20;

/**
 * What is wrong with a graph as a whole: duplicate node or edge ids, and edges whose source or
 * target is not a node id. Empty when it is sound. Never throws.
 */
export function graphIssues(
  nodes: ReadonlyArray<{ id: string }>,
  edges: ReadonlyArray<{ id: string; source: string; target: string }>,
): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const nodeIds = new Set<string>();
  nodes.forEach((node, index) => {
    if (nodeIds.has(node.id)) issues.push({ path: ["nodes", index, "id"], message: `duplicate node id "${node.id}"` });
    nodeIds.add(node.id);
  });
  const edgeIds = new Set<string>();
  edges.forEach((edge, index) => {
    if (edgeIds.has(edge.id)) issues.push({ path: ["edges", index, "id"], message: `duplicate edge id "${edge.id}"` });
    edgeIds.add(edge.id);
    for (const end of ["source", "target"] as const) {
      if (!nodeIds.has(edge[end])) {
        issues.push({ path: ["edges", index, end], message: `edge "${edge.id}" has ${end} "${edge[end]}", which is not the id of a node` });
      }
    }
  });
  return issues.slice(0, MAX_GRAPH_ISSUES);
}

const storedNodeSchema = z.object({ id: z.string() });
const storedEdgeSchema = z.object({ id: z.string(), source: z.string(), target: z.string() });

/**
 * Throws VALIDATION_FAILED (details shaped like a schema error's: `{ path, code, message }`) when a
 * change carrying only nodes or only edges leaves the graph unsound together with the stored
 * other half — e.g. nodes that drop one an edge still points at. A change with both halves was
 * checked by its schema; with neither there is nothing to check.
 */
export function assertSoundGraphChange(
  change: { nodes?: WorkflowNode[] | undefined; edges?: WorkflowEdge[] | undefined },
  stored: { nodes: unknown[]; edges: unknown[] },
): void {
  if ((change.nodes === undefined) === (change.edges === undefined)) return;
  // Stored rows were checked when written; one that no longer fits adds nothing to check against.
  const nodes = change.nodes ?? stored.nodes.flatMap((node) => storedNodeSchema.safeParse(node).data ?? []);
  const edges = change.edges ?? stored.edges.flatMap((edge) => storedEdgeSchema.safeParse(edge).data ?? []);
  const issues = graphIssues(nodes, edges);
  if (issues.length === 0) return;
  throw new NeuroflowError("VALIDATION_FAILED", `invalid body: ${issues[0]?.message ?? "unsound graph"}`, {
    details: issues.map((issue) => ({ path: `/${issue.path.join("/")}`, code: "custom", message: issue.message })),
  });
}

/** Checks the graph when the body carries both halves; a PATCH with one half is checked by the route against the stored other half. */
function refineGraph(body: { nodes?: WorkflowNode[] | undefined; edges?: WorkflowEdge[] | undefined }, ctx: z.RefinementCtx): void {
  if (!body.nodes || !body.edges) return;
  for (const issue of graphIssues(body.nodes, body.edges)) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
}

const nonEmpty = (body: object) => Object.keys(body).length > 0;
const NON_EMPTY_MESSAGE = "give at least one field to change";

const name = z.string().trim().min(1).max(200);
const description = z.string().max(2_000).nullable();
const tags = z.array(z.string().trim().min(1).max(50)).max(MAX_WORKFLOW_TAGS);

// ---------------------------------------------------------------------------------------------
// Workflows

/** A new workflow. Fails with the zod issues on a bad shape, an unknown key or an unsound graph. */
export const createWorkflowBodySchema = z
  .strictObject({
    name,
    description: description.optional(),
    nodes: workflowNodesSchema.default([]),
    edges: workflowEdgesSchema.default([]),
    settings: jsonRecord.default({}),
    isActive: z.boolean().default(true),
    tags: tags.default([]),
    /** A template the org can read that this workflow comes from; unknown or unreadable → 404. */
    templateId: templateIdSchema.optional(),
  })
  .superRefine(refineGraph);
export type CreateWorkflowBody = z.infer<typeof createWorkflowBodySchema>;

/** Changes to a workflow; `templateId: null` unlinks it from its template. Empty body → 400. */
export const updateWorkflowBodySchema = z
  .strictObject({
    name,
    description,
    nodes: workflowNodesSchema,
    edges: workflowEdgesSchema,
    settings: jsonRecord,
    isActive: z.boolean(),
    tags,
    templateId: templateIdSchema.nullable(),
  })
  .partial()
  .refine(nonEmpty, NON_EMPTY_MESSAGE)
  .superRefine(refineGraph);
export type UpdateWorkflowBody = z.infer<typeof updateWorkflowBodySchema>;

/** A workflow as the API returns it. */
export const workflowViewSchema = z.object({
  id: workflowIdSchema,
  orgId: orgIdSchema,
  name: z.string(),
  description: z.string().nullable(),
  nodes: z.array(workflowNodeSchema),
  edges: z.array(workflowEdgeSchema),
  settings: jsonRecord,
  isActive: z.boolean(),
  /** Goes up by one whenever a change alters the nodes or edges. */
  version: z.int(),
  tags: z.array(z.string()),
  templateId: templateIdSchema.nullable(),
  createdBy: z.uuid().nullable(),
  executionCount: z.int(),
  lastExecutedAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type WorkflowView = z.infer<typeof workflowViewSchema>;

// ---------------------------------------------------------------------------------------------
// Workflow executions

/**
 * `POST …/workflows/:id/executions`: records a PENDING run with this input. Nothing executes it
 * yet — the workflow executor comes in a later issue and will pick PENDING runs up.
 */
export const createWorkflowExecutionBodySchema = z.strictObject({
  input: jsonRecord.default({}),
});
export type CreateWorkflowExecutionBody = z.infer<typeof createWorkflowExecutionBodySchema>;

/** One run of a workflow as the API returns it; `error` is null unless it FAILED. */
export const workflowExecutionViewSchema = z.object({
  id: workflowExecutionIdSchema,
  orgId: orgIdSchema,
  workflowId: workflowIdSchema,
  status: executionStatusSchema,
  input: jsonRecord,
  output: jsonRecord.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  logs: z.array(z.unknown()),
  /** A user id, `schedule`, `webhook`… — who or what started the run. */
  triggeredBy: z.string().nullable(),
  tokensUsed: z.int(),
  cost: z.number(),
  duration: z.int().nullable(),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  completedAt: z.iso.datetime().nullable(),
});
export type WorkflowExecutionView = z.infer<typeof workflowExecutionViewSchema>;

// ---------------------------------------------------------------------------------------------
// Templates

/**
 * A new template of the caller's org. `isPublic: true` publishes it: every org can then read and
 * instantiate it, only its own org can change it. `isFeatured`, `isSystem` and the usage and
 * rating counters are the system's: sending one is a 400 (unknown key).
 */
export const createTemplateBodySchema = z
  .strictObject({
    name,
    description: description.optional(),
    category: templateCategorySchema,
    difficulty: difficultyLevelSchema.default("BEGINNER"),
    nodes: workflowNodesSchema.default([]),
    edges: workflowEdgesSchema.default([]),
    tags: tags.default([]),
    isPublic: z.boolean().default(false),
  })
  .superRefine(refineGraph);
export type CreateTemplateBody = z.infer<typeof createTemplateBodySchema>;

/** Changes to one of the org's own templates. Empty body or a system-only key → 400. */
export const updateTemplateBodySchema = z
  .strictObject({
    name,
    description,
    category: templateCategorySchema,
    difficulty: difficultyLevelSchema,
    nodes: workflowNodesSchema,
    edges: workflowEdgesSchema,
    tags,
    isPublic: z.boolean(),
  })
  .partial()
  .refine(nonEmpty, NON_EMPTY_MESSAGE)
  .superRefine(refineGraph);
export type UpdateTemplateBody = z.infer<typeof updateTemplateBodySchema>;

/** A template as the API returns it; the flags and counters are read-only to orgs. */
export const templateViewSchema = z.object({
  id: templateIdSchema,
  /** null for a system template. */
  orgId: orgIdSchema.nullable(),
  name: z.string(),
  description: z.string().nullable(),
  category: templateCategorySchema,
  difficulty: difficultyLevelSchema,
  nodes: z.array(workflowNodeSchema),
  edges: z.array(workflowEdgeSchema),
  tags: z.array(z.string()),
  isPublic: z.boolean(),
  isSystem: z.boolean(),
  isFeatured: z.boolean(),
  usageCount: z.int(),
  /** Mean of all ratings (0 before the first). */
  rating: z.number(),
  ratingCount: z.int(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type TemplateView = z.infer<typeof templateViewSchema>;

/** `POST …/templates/:id/rate`: one to five stars, folded into the running mean. */
export const rateTemplateBodySchema = z.strictObject({
  rating: z.int().min(1).max(5),
});
export type RateTemplateBody = z.infer<typeof rateTemplateBodySchema>;

/** `POST …/templates/:id/instantiate`: the new workflow's name and description, by default the template's. */
export const instantiateTemplateBodySchema = z
  .strictObject({
    name: name.optional(),
    description: description.optional(),
  })
  .default({});
export type InstantiateTemplateBody = z.infer<typeof instantiateTemplateBodySchema>;
