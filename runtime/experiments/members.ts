import type { AgentProfile, ExperimentCell, TeamRunMember } from "../protocol/index.js";
import { deriveSeed } from "./seeds.js";

/**
 * The agents of an experiment team, shared by the in-process and the networked executor so both
 * run the same members: same names (and so the same system prompts), same simulated seeds, same
 * roles, priorities and weights.
 */

/** The model every experiment member uses: the simulated provider, which honours answer keys. */
export const EXPERIMENT_MODEL = { provider: "simulated", model: "sim-1" } as const;

/**
 * A UUID (version 4 layout) derived from a seed and a path of labels, e.g.
 * `seededUuid(trialSeed, "agent", 2)`: the same inputs always give the same id. For ids that only
 * need to be unique within one run and reproducible, never for anything secret.
 */
export function seededUuid(seed: number, ...parts: readonly (string | number)[]): string {
  const hex = [0, 1, 2, 3].map((word) => deriveSeed(seed, ...parts, word).toString(16).padStart(8, "0")).join("");
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The simulated seed of member `index` in the trial seeded with `trialSeed`. */
export function memberSeed(trialSeed: number, index: number): number {
  return deriveSeed(trialSeed, "member", index);
}

/**
 * The profile member `index` of `cell` runs with in the trial seeded with `trialSeed`: the
 * simulated model with the member's accuracy, its own seed and the cell's simulated latency.
 */
export function memberProfile(cell: ExperimentCell, index: number, trialSeed: number): AgentProfile {
  const member = cell.members[index];
  return {
    name: `member-${index + 1}`,
    personality: {},
    modelConfig: {
      ...EXPERIMENT_MODEL,
      simulated: { accuracy: member?.accuracy ?? 1, seed: memberSeed(trialSeed, index), latencyMs: cell.latencyMs },
    },
    capabilities: [],
  };
}

/**
 * The members of `cell`'s team for one trial, with the given agent ids (one per member, in member
 * order). Throws a RangeError when the number of ids is not the team size.
 */
export function teamMembersFor(cell: ExperimentCell, trialSeed: number, agentIds: readonly string[]): TeamRunMember[] {
  if (agentIds.length !== cell.members.length) {
    throw new RangeError(`cell ${cell.id} has ${cell.members.length} members, got ${agentIds.length} agent ids`);
  }
  return cell.members.map((member, index) => ({
    agentId: agentIds[index] ?? "",
    name: `member-${index + 1}`,
    role: member.role,
    priority: member.priority,
    capabilities: [],
    weight: member.weight,
    profile: memberProfile(cell, index, trialSeed),
  }));
}
