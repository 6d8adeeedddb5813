import {
  teamCoordinationSchema,
  teamIssues,
  type ExperimentCell,
  type ExperimentMember,
  type ExperimentSpec,
  type SkippedCombination,
  type TeamCoordination,
  type TeamMemberInput,
  type TeamStructure,
  type VotingRule,
} from "../protocol/index.js";

/** The cells that run, in grid order, and the combinations that do not, with the reason. */
export interface GridExpansion {
  cells: ExperimentCell[];
  skipped: SkippedCombination[];
}

/**
 * The members of a `size`-member team of `structure`: member i takes profile i, the rest the
 * defaults (see experimentMemberProfileSchema). Member 0 is the LEADER of a HIERARCHICAL team unless
 * a profile names one.
 */
export function membersOf(spec: ExperimentSpec, structure: TeamStructure, size: number): ExperimentMember[] {
  const profiles = spec.members.profiles.slice(0, size);
  const namedLeader = profiles.some((profile) => profile.role === "LEADER");
  return Array.from({ length: size }, (_, i) => {
    const profile = profiles[i] ?? {};
    const defaultRole = structure === "HIERARCHICAL" && i === 0 && !namedLeader ? "LEADER" : "WORKER";
    return {
      accuracy: profile.accuracy ?? spec.members.accuracy,
      weight: profile.weight ?? 1,
      priority: profile.priority ?? (structure === "PIPELINE" ? i : 0),
      role: profile.role ?? defaultRole,
    };
  });
}

/**
 * The team coordination a cell stands for, every default filled in (DEMOCRATIC: its rule and debate
 * rounds; the other structures: their defaults). What the executor configures the team with.
 * Throws a ZodError only for a cell that did not come from {@link expandGrid}.
 */
export function coordinationOf(cell: Pick<ExperimentCell, "structure" | "rule" | "debateRounds">): TeamCoordination {
  const coordination = cell.structure === "DEMOCRATIC" ? { rule: cell.rule, debateRounds: cell.debateRounds } : {};
  return teamCoordinationSchema.parse({ structure: cell.structure, coordination });
}

function ruleLabels(rules: readonly VotingRule[]): string[] {
  const base = rules.map((rule) => (rule.kind === "weighted" ? `weighted-${rule.weightSource}` : rule.kind));
  // Two rules of one kind (say majority with two tie-breaks) are told apart by their place in the list.
  return base.map((label, index) => (base.filter((other) => other === label).length > 1 ? `${label}-${index + 1}` : label));
}

/** Why a combination cannot run, or undefined when it can. */
function skipReason(structure: TeamStructure, rule: VotingRule | undefined, debateRounds: number, members: ExperimentMember[]): string | undefined {
  if (structure !== "DEMOCRATIC" && rule !== undefined) {
    return `voting rules apply only to DEMOCRATIC teams (the ${structure} cell runs without one)`;
  }
  if (structure !== "DEMOCRATIC" && debateRounds > 0) return "debate rounds apply only to DEMOCRATIC teams";
  if (rule?.kind === "weighted" && rule.weightSource === "successRate") {
    return 'weightSource "successRate" needs a history of past tasks, which fresh experiment agents do not have; use "explicit" or "priority"';
  }
  const team: TeamMemberInput[] = members.map((member, i) => ({ agentId: `member-${i}`, role: member.role, priority: member.priority }));
  const issues = teamIssues({ ...coordinationOf({ structure, rule, debateRounds }), members: team });
  return issues.length > 0 ? issues.map((issue) => issue.message).join("; ") : undefined;
}

/**
 * The cartesian product structures × rules × team sizes × debate rounds, as cells. Rules and debate
 * rounds belong to DEMOCRATIC teams: the other structures get one rule-less, debate-less cell per
 * team size, and their combinations with a rule or with debate rounds are listed as skipped. A
 * combination the team rules refuse (runtime/protocol/api-teams.ts `teamIssues`, e.g. a DEMOCRATIC
 * team of one, two pipeline stages on one priority) is skipped with those rules' message. Never throws
 * for a parsed spec.
 */
export function expandGrid(spec: ExperimentSpec): GridExpansion {
  const { grid } = spec;
  const labels = ruleLabels(grid.rules);
  const cells: ExperimentCell[] = [];
  const skipped: SkippedCombination[] = [];
  for (const structure of grid.structures) {
    const democratic = structure === "DEMOCRATIC";
    const ruleChoices: (number | undefined)[] = democratic ? grid.rules.map((_, i) => i) : [undefined, ...grid.rules.map((_, i) => i)];
    for (const ruleIndex of ruleChoices) {
      const rule = ruleIndex === undefined ? undefined : grid.rules[ruleIndex];
      for (const teamSize of grid.teamSizes) {
        // A non-DEMOCRATIC structure always runs its one debate-less cell, even if 0 is not on the axis.
        const rounds = democratic ? grid.debateRounds : [...new Set([0, ...grid.debateRounds])];
        for (const debateRounds of rounds) {
          const members = membersOf(spec, structure, teamSize);
          const reason = skipReason(structure, rule, debateRounds, members);
          if (reason !== undefined) {
            skipped.push({ combination: { structure, ...(rule ? { rule } : {}), teamSize, debateRounds }, reason });
            continue;
          }
          const ruleLabel = ruleIndex === undefined ? undefined : labels[ruleIndex];
          cells.push({
            id: ruleLabel === undefined ? `${structure}/n${teamSize}` : `${structure}/${ruleLabel}/n${teamSize}/d${debateRounds}`,
            structure,
            ...(rule ? { rule } : {}),
            teamSize,
            debateRounds,
            latencyMs: spec.members.latencyMs,
            members,
          });
        }
      }
    }
  }
  return { cells, skipped };
}
