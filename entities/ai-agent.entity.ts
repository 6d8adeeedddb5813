import { defineEntity, type InferEntity } from "@mikro-orm/core";
import type { ModelConfig, Personality } from "../runtime/protocol/index.js";
import { agentStatuses } from "./enums.js";
import { Organization } from "./organization.entity.js";
import { timestamps, uuidPrimaryKey } from "./timestamps.js";
import { User } from "./user.entity.js";

/**
 * An AI agent's definition and its rolled-up metrics. `status` mirrors the live actor as last
 * reported on the bus; the actor itself lives in a runtime worker.
 */
export const AiAgent = defineEntity({
  name: "AiAgent",
  tableName: "neuroflow_ai_agents",
  indexes: [{ properties: ["organization", "createdAt"] }, { properties: ["organization", "status"] }],
  properties: (p) => ({
    id: uuidPrimaryKey(),
    organization: () => p.manyToOne(Organization).deleteRule("cascade"),
    name: p.string().length(200),
    description: p.text().nullable(),
    personality: p.json<Personality>(),
    modelConfig: p.json<ModelConfig>(),
    capabilities: p.json<string[]>(),
    memory: p.json<Record<string, unknown>>().onCreate(() => ({})),
    status: p.enum([...agentStatuses]).default("IDLE"),
    isActive: p.boolean().default(true),
    createdBy: () => p.manyToOne(User).nullable().deleteRule("set null").index(),
    totalExecutions: p.integer().default(0),
    successRate: p.float().columnType("double precision").default(0),
    /** Mean duration of finished executions, in milliseconds. */
    avgResponseTime: p.float().columnType("double precision").default(0),
    lastActiveAt: p.datetime().columnType("timestamptz").nullable(),
    ...timestamps(),
  }),
});
export type IAiAgent = InferEntity<typeof AiAgent>;
