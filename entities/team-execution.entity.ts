import { defineEntity, type InferEntity } from "@mikro-orm/core";
import type { WireError } from "../runtime/protocol/index.js";
import { AgentTeam } from "./agent-team.entity.js";
import { executionStatuses, teamStructures } from "./enums.js";
import { Organization } from "./organization.entity.js";
import { timestamps, uuidPrimaryKey } from "./timestamps.js";

/**
 * One run of a team. The structure and coordination in force are copied at start, so a later
 * edit of the team never rewrites history; `log` holds every coordination step (delegations,
 * contributions, ballots, tallies) as an auditable record.
 */
export const TeamExecution = defineEntity({
  name: "TeamExecution",
  tableName: "neuroflow_team_executions",
  indexes: [
    { properties: ["organization", "status"] },
    { properties: ["organization", "createdAt"] },
    { properties: ["team", "createdAt"] },
  ],
  properties: (p) => ({
    id: uuidPrimaryKey(),
    organization: () => p.manyToOne(Organization).deleteRule("cascade"),
    team: () => p.manyToOne(AgentTeam).deleteRule("cascade"),
    structure: p.enum([...teamStructures]),
    coordination: p.json<Record<string, unknown>>(),
    status: p.enum([...executionStatuses]).default("PENDING"),
    input: p.json<Record<string, unknown>>(),
    output: p.json<Record<string, unknown>>().nullable(),
    error: p.json<WireError>().nullable(),
    agentParticipation: p.json<unknown[]>(),
    results: p.json<unknown[]>(),
    log: p.json<unknown[]>(),
    tokensUsed: p.integer().default(0),
    cost: p.float().columnType("double precision").default(0),
    startedAt: p.datetime().columnType("timestamptz").nullable(),
    completedAt: p.datetime().columnType("timestamptz").nullable(),
    duration: p.integer().nullable(),
    ...timestamps(),
  }),
});
export type ITeamExecution = InferEntity<typeof TeamExecution>;
