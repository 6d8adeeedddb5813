import { defineEntity, type InferEntity } from "@mikro-orm/core";
import { difficultyLevels, templateCategories } from "./enums.js";
import { Organization } from "./organization.entity.js";
import { timestamps, uuidPrimaryKey } from "./timestamps.js";
import { User } from "./user.entity.js";

/**
 * A reusable workflow. `organization` is null for system and public templates, which every org
 * can read and none can write through the app role.
 */
export const WorkflowTemplate = defineEntity({
  name: "WorkflowTemplate",
  tableName: "neuroflow_workflow_templates",
  indexes: [
    { properties: ["isPublic", "category"] },
    { properties: ["isFeatured", "usageCount"] },
  ],
  properties: (p) => ({
    id: uuidPrimaryKey(),
    organization: () => p.manyToOne(Organization).nullable().deleteRule("cascade").index(),
    name: p.string().length(200),
    description: p.text().nullable(),
    category: p.enum([...templateCategories]),
    difficulty: p.enum([...difficultyLevels]).default("BEGINNER"),
    nodes: p.json<unknown[]>(),
    edges: p.json<unknown[]>(),
    tags: p.json<string[]>(),
    isPublic: p.boolean().default(false),
    isSystem: p.boolean().default(false),
    isFeatured: p.boolean().default(false),
    usageCount: p.integer().default(0),
    rating: p.float().columnType("double precision").default(0),
    ratingCount: p.integer().default(0),
    createdBy: () => p.manyToOne(User).nullable().deleteRule("set null").index(),
    ...timestamps(),
  }),
});
export type IWorkflowTemplate = InferEntity<typeof WorkflowTemplate>;
