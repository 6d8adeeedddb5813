import { defineEntity, type InferEntity } from "@mikro-orm/core";
import { AgentTeam } from "./agent-team.entity.js";
import { AiAgent } from "./ai-agent.entity.js";
import { teamRoles } from "./enums.js";
import { Organization } from "./organization.entity.js";
import { timestamps, uuidPrimaryKey } from "./timestamps.js";

/**
 * An agent's place in a team; (team, agent) is unique. Carries `organization_id` itself so row
 * level security needs no join.
 */
export const TeamMember = defineEntity({
  name: "TeamMember",
  tableName: "neuroflow_team_members",
  uniques: [{ properties: ["team", "agent"] }],
  properties: (p) => ({
    id: uuidPrimaryKey(),
    organization: () => p.manyToOne(Organization).deleteRule("cascade"),
    team: () => p.manyToOne(AgentTeam).deleteRule("cascade"),
    agent: () => p.manyToOne(AiAgent).deleteRule("cascade").index(),
    role: p.enum([...teamRoles]).default("WORKER"),
    /** Lower runs first in pipelines; higher weighs more where priority is a weight. */
    priority: p.integer().default(0),
    ...timestamps(),
  }),
});
export type ITeamMember = InferEntity<typeof TeamMember>;
