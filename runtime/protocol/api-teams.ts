import { z } from "zod";
import { votingRuleSchema } from "./voting-rule.js";
import { agentIdSchema, orgIdSchema } from "./ids.js";
import { answerKeySchema } from "./messages.js";
import { executionStatusSchema } from "./status.js";

/**
 * HTTP bodies and views of agent teams, their members, team executions and integrations. How a
 * team coordinates is data: a discriminated union on `structure`, so a new structure or a switch
 * between them needs no code outside this schema and the team actors.
 */

/** Team, member, team-execution and integration ids are UUIDs, like every other id. */
export const teamIdSchema = z.uuid();
export const teamMemberIdSchema = z.uuid();
export const teamExecutionIdSchema = z.uuid();

// The one source of these values: entities/enums.ts (and so the database CHECK constraints) derive from them.
export const teamStructureSchema = z.enum(["HIERARCHICAL", "COLLABORATIVE", "PIPELINE", "DEMOCRATIC"]);
export type TeamStructure = z.infer<typeof teamStructureSchema>;
export const teamRoleSchema = z.enum(["LEADER", "WORKER", "COORDINATOR", "SPECIALIST"]);
export type TeamRole = z.infer<typeof teamRoleSchema>;

/** A leader that breaks the goal into subtasks for its workers and (optionally) reviews their results. */
export const hierarchicalCoordinationSchema = z.strictObject({
  maxSubtasks: z.int().min(1).max(20).default(5),
  /** A worker may hand a subtask back to the leader to give to someone else. */
  allowRedelegation: z.boolean().default(true),
  reviewResults: z.boolean().default(true),
  /** Only `false`: a leader that answers the goal itself skips the team, so it must delegate. */
  leaderMayAnswer: z.literal(false).default(false),
});

/**
 * Every member contributes each round, seeing the others' last contributions, until they converge
 * or `maxRounds` is reached. `similarity`: stop when consecutive rounds' contributions are at least
 * `threshold` similar on average; `unchanged`: stop when at least `threshold` of the members left
 * theirs unchanged. The synthesiser writes the final answer from the last round.
 */
export const collaborativeCoordinationSchema = z.strictObject({
  maxRounds: z.int().min(1).max(20).default(3),
  convergence: z
    .strictObject({ method: z.enum(["similarity", "unchanged"]), threshold: z.number().min(0).max(1) })
    .default({ method: "similarity", threshold: 0.9 }),
  synthesiser: z.enum(["coordinator", "highest-priority"]).default("highest-priority"),
});

/**
 * Members run one after another in ascending `priority`, each taking the previous one's output.
 * On a failed stage: `stop` fails the run, `skip` passes the previous output on, `retry` tries the
 * stage up to `maxRetries` more times and then stops.
 */
export const pipelineCoordinationSchema = z
  .strictObject({
    onStageFailure: z.enum(["stop", "skip", "retry"]).default("stop"),
    maxRetries: z.int().min(0).max(5).default(1),
  })
  .refine((config) => config.onStageFailure !== "retry" || config.maxRetries >= 1, {
    path: ["maxRetries"],
    message: 'onStageFailure "retry" needs maxRetries of at least 1',
  });

/**
 * Members answer, optionally debate for `debateRounds`, then vote by `rule` (see
 * runtime/teams/voting). `minVoters` is an absolute floor of counted ballots on top of the rule's
 * fractional quorum; a member silent for `memberTimeoutMs` counts as not voting.
 */
export const democraticCoordinationSchema = z.strictObject({
  rule: votingRuleSchema,
  debateRounds: z.int().min(0).max(5).default(0),
  memberTimeoutMs: z.int().min(1_000).max(600_000).default(60_000),
  minVoters: z.int().min(1).max(100).optional(),
});

const hierarchicalTeam = z.strictObject({ structure: z.literal("HIERARCHICAL"), coordination: hierarchicalCoordinationSchema });
const collaborativeTeam = z.strictObject({ structure: z.literal("COLLABORATIVE"), coordination: collaborativeCoordinationSchema });
const pipelineTeam = z.strictObject({ structure: z.literal("PIPELINE"), coordination: pipelineCoordinationSchema });
const democraticTeam = z.strictObject({ structure: z.literal("DEMOCRATIC"), coordination: democraticCoordinationSchema });

/** A structure with its coordination config, defaults filled in: what a team and a team execution store. */
export const teamCoordinationSchema = z.discriminatedUnion("structure", [hierarchicalTeam, collaborativeTeam, pipelineTeam, democraticTeam]);
export type TeamCoordination = z.infer<typeof teamCoordinationSchema>;

/** One member as written in a team body; role and priority default as in the database. */
export const teamMemberInputSchema = z.strictObject({
  agentId: agentIdSchema,
  role: teamRoleSchema.default("WORKER"),
  /** Lower runs first in a pipeline; higher weighs more where priority is a weight or picks the synthesiser. */
  priority: z.int().min(-1_000).max(1_000).default(0),
});
export type TeamMemberInput = z.infer<typeof teamMemberInputSchema>;
const membersSchema = z.array(teamMemberInputSchema).max(50);

/** A problem with a team as a whole: where (`path` into the body) and what, in words. */
export interface TeamIssue {
  path: (string | number)[];
  message: string;
}

function count(members: readonly TeamMemberInput[], ...roles: TeamRole[]): number {
  return members.filter((member) => roles.includes(member.role)).length;
}

/**
 * The cross-field rules of a team (its structure against its members); empty when it may run.
 * Never throws. Quorum is a fraction of the members, so any size meets it; only `minVoters` and
 * the need for a real vote (two voters) put a floor on a democratic team.
 */
export function teamIssues(team: TeamCoordination & { members: readonly TeamMemberInput[] }): TeamIssue[] {
  const issues: TeamIssue[] = [];
  const { members } = team;
  const seen = new Set<string>();
  members.forEach((member, index) => {
    if (seen.has(member.agentId)) issues.push({ path: ["members", index, "agentId"], message: `agent ${member.agentId} is listed more than once` });
    seen.add(member.agentId);
  });
  const need = (ok: boolean, message: string) => {
    if (!ok) issues.push({ path: ["members"], message });
  };
  switch (team.structure) {
    case "HIERARCHICAL": {
      const leaders = count(members, "LEADER");
      need(leaders === 1, `HIERARCHICAL needs exactly one LEADER (found ${leaders})`);
      need(count(members, "WORKER", "SPECIALIST") >= 1, "HIERARCHICAL needs at least one WORKER or SPECIALIST besides the LEADER to delegate to");
      break;
    }
    case "COLLABORATIVE": {
      need(members.length >= 1, "COLLABORATIVE needs at least one member");
      const coordinators = count(members, "COORDINATOR");
      if (team.coordination.synthesiser === "coordinator") {
        need(coordinators === 1, `synthesiser "coordinator" needs exactly one COORDINATOR member (found ${coordinators})`);
      }
      break;
    }
    case "PIPELINE": {
      need(members.length >= 1, "PIPELINE needs at least one member (a stage)");
      // Stages run in priority order, so two members on one priority would leave the order to chance.
      const byPriority = new Map<number, string>();
      for (const member of members) {
        const other = byPriority.get(member.priority);
        if (other !== undefined && other !== member.agentId) {
          need(false, `PIPELINE stages run in priority order: agents ${other} and ${member.agentId} share priority ${member.priority}`);
        }
        byPriority.set(member.priority, member.agentId);
      }
      break;
    }
    case "DEMOCRATIC": {
      const floor = Math.max(2, team.coordination.minVoters ?? 0);
      need(members.length >= floor, `DEMOCRATIC needs at least ${floor} members to vote (found ${members.length})`);
      if (team.coordination.rule.tieBreak === "leader") {
        const leaders = count(members, "LEADER");
        need(leaders === 1, `tieBreak "leader" needs exactly one LEADER member to cast the deciding vote (found ${leaders})`);
      }
      break;
    }
  }
  return issues;
}

// zod runs this only on a team whose shape already parsed (unknown keys aside), so the rules may trust the types.
function withTeamRules(team: TeamCoordination & { members: readonly TeamMemberInput[] }, context: z.RefinementCtx): void {
  for (const issue of teamIssues(team)) context.addIssue({ code: "custom", path: issue.path, message: issue.message });
}

/**
 * Structure, coordination and members, checked together: a team that may run. The routes parse
 * the team that would result from an update or a member change with it.
 */
export const teamDefinitionSchema = z
  .discriminatedUnion("structure", [
    hierarchicalTeam.extend({ members: membersSchema }),
    collaborativeTeam.extend({ members: membersSchema }),
    pipelineTeam.extend({ members: membersSchema }),
    democraticTeam.extend({ members: membersSchema }),
  ])
  .superRefine(withTeamRules);
export type TeamDefinition = z.infer<typeof teamDefinitionSchema>;

const teamFields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2_000).nullable().optional(),
  members: membersSchema,
  isActive: z.boolean().default(true),
};

/** POST a team: unknown fields, a config that doesn't fit the structure and broken team rules are 400. */
export const createTeamBodySchema = z
  .discriminatedUnion("structure", [
    hierarchicalTeam.extend(teamFields),
    collaborativeTeam.extend(teamFields),
    pipelineTeam.extend(teamFields),
    democraticTeam.extend(teamFields),
  ])
  .superRefine(withTeamRules);
export type CreateTeamBody = z.infer<typeof createTeamBodySchema>;

/**
 * PATCH a team. `coordination` is checked against the resulting structure by the route, and a
 * change of `structure` must bring its `coordination`; `members` replaces the whole list.
 */
export const updateTeamBodySchema = z
  .strictObject({
    name: teamFields.name,
    description: z.string().max(2_000).nullable(),
    structure: teamStructureSchema,
    coordination: z.record(z.string(), z.unknown()),
    members: membersSchema,
    isActive: z.boolean(),
  })
  .partial()
  .refine((body) => Object.keys(body).length > 0, "give at least one field to change");
export type UpdateTeamBody = z.infer<typeof updateTeamBodySchema>;

/** PATCH a member: its role and/or priority; the route re-checks the team's rules with the change. */
export const updateTeamMemberBodySchema = z
  .strictObject({ role: teamRoleSchema, priority: teamMemberInputSchema.shape.priority.unwrap() })
  .partial()
  .refine((body) => Object.keys(body).length > 0, "give at least one field to change");

export const teamMemberViewSchema = z.object({
  id: teamMemberIdSchema,
  teamId: teamIdSchema,
  agentId: agentIdSchema,
  role: teamRoleSchema,
  priority: z.int(),
  createdAt: z.iso.datetime(),
});
export type TeamMemberView = z.infer<typeof teamMemberViewSchema>;

/** `coordination` was checked against `structure` when written; parse both with `teamCoordinationSchema` to type it. */
export const teamViewSchema = z.object({
  id: teamIdSchema,
  orgId: orgIdSchema,
  name: z.string(),
  description: z.string().nullable(),
  structure: teamStructureSchema,
  coordination: z.record(z.string(), z.unknown()),
  isActive: z.boolean(),
  totalExecutions: z.int(),
  successRate: z.number(),
  /** In priority order (pipeline order), then oldest first. */
  members: z.array(teamMemberViewSchema),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type TeamView = z.infer<typeof teamViewSchema>;

/**
 * POST a team execution: the task for the team. `answerKey` (experiments) is handed to every
 * member ask so simulated members can be right or wrong, and the answer is parsed to one of its
 * options; `seed` makes a vote's `random` tie-break reproducible (absent: drawn at random, and
 * stored in the execution's `input`). Unknown fields are 400.
 */
export const runTeamBodySchema = z.strictObject({
  prompt: z.string().trim().min(1).max(20_000),
  answerKey: answerKeySchema.optional(),
  seed: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});
export type RunTeamBody = z.infer<typeof runTeamBodySchema>;

/** One run of a team, with the structure and coordination that were in force when it started. */
export const teamExecutionViewSchema = z.object({
  id: teamExecutionIdSchema,
  orgId: orgIdSchema,
  teamId: teamIdSchema,
  structure: teamStructureSchema,
  coordination: z.record(z.string(), z.unknown()),
  status: executionStatusSchema,
  input: z.record(z.string(), z.unknown()),
  output: z.record(z.string(), z.unknown()).nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  agentParticipation: z.array(z.unknown()),
  results: z.array(z.unknown()),
  log: z.array(z.unknown()),
  tokensUsed: z.int(),
  cost: z.number(),
  duration: z.int().nullable(),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  completedAt: z.iso.datetime().nullable(),
});
export type TeamExecutionView = z.infer<typeof teamExecutionViewSchema>;
