import { defineEntity, type InferEntity } from "@mikro-orm/core";
import { teamStructures } from "./enums.js";
import { Organization } from "./organization.entity.js";
import { timestamps, uuidPrimaryKey } from "./timestamps.js";
import { User } from "./user.entity.js";

/** A team of agents with a coordination structure; `coordination` is validated per structure at the API. */
export const AgentTeam = defineEntity({
  name: "AgentTeam",
  tableName: "neuroflow_agent_teams",
  indexes: [{ properties: ["organization", "createdAt"] }, { properties: ["organization", "structure"] }],
  properties: (p) => ({
    id: uuidPrimaryKey(),
    organization: () => p.manyToOne(Organization).deleteRule("cascade"),
    name: p.string().length(200),
    description: p.text().nullable(),
    structure: p.enum([...teamStructures]),
    coordination: p.json<Record<string, unknown>>(),
    isActive: p.boolean().default(true),
    createdBy: () => p.manyToOne(User).nullable().deleteRule("set null").index(),
    totalExecutions: p.integer().default(0),
    successRate: p.float().columnType("double precision").default(0),
    ...timestamps(),
  }),
});
export type IAgentTeam = InferEntity<typeof AgentTeam>;
