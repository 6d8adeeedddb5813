import type { TeamMemberInfo } from "../machines/team.js";
import { normalizeAnswer } from "./answer-format.js";
import { byPriorityDesc } from "./team-run.js";

/**
 * Who does what in a team, as pure functions: the leader, the synthesiser, the pipeline order, how
 * a leader's breakdown is read, and which worker gets which subtask. Deterministic: ties always
 * fall to the lower agent id.
 */

/** The member with role LEADER (the first listed, if several), else the highest priority. Null without members. */
export function pickLeader(members: readonly TeamMemberInfo[]): TeamMemberInfo | null {
  return members.find((member) => member.role === "LEADER") ?? byPriorityDesc(members)[0] ?? null;
}

/**
 * The member who writes a collaborative team's answer: its COORDINATOR when `synthesiser` is
 * "coordinator" and there is one, else the highest priority. Null without members.
 */
export function pickSynthesiser(members: readonly TeamMemberInfo[], synthesiser: "coordinator" | "highest-priority"): TeamMemberInfo | null {
  const coordinator = synthesiser === "coordinator" ? members.find((member) => member.role === "COORDINATOR") : undefined;
  return coordinator ?? byPriorityDesc(members)[0] ?? null;
}

/** Pipeline stages: ascending priority, ties by agent id. */
export function pipelineOrder(members: readonly TeamMemberInfo[]): TeamMemberInfo[] {
  return [...members].sort((a, b) => a.priority - b.priority || (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
}

const LIST_ITEM = /^\s*(?:\d{1,3}[.):]|[-*•+])\s+(.+?)\s*$/;

/** The numbered or bulleted lines of a leader's reply, in order, without blanks and repeats. */
export function parseSubtasks(text: string): string[] {
  const subtasks: string[] = [];
  for (const line of text.split("\n")) {
    const item = LIST_ITEM.exec(line)?.[1]?.trim();
    if (item && !subtasks.some((known) => normalizeAnswer(known) === normalizeAnswer(item))) subtasks.push(item);
  }
  return subtasks;
}

/**
 * The subtasks a leader's reply gives, at most `maxSubtasks`. A reply with no list, or one that only
 * restates the task, falls back to one subtask — the whole task — so a worker, never the leader,
 * answers it (`fallback: true`).
 */
export function decompose(text: string, task: string, maxSubtasks: number): { subtasks: string[]; fallback: boolean } {
  const subtasks = parseSubtasks(text).slice(0, Math.max(1, maxSubtasks));
  const restates = subtasks.length === 1 && normalizeAnswer(subtasks[0] ?? "") === normalizeAnswer(task);
  if (subtasks.length === 0 || restates) return { subtasks: [task], fallback: true };
  return { subtasks, fallback: false };
}

/** A leader's review: APPROVE at the start wins; else "REDO" anywhere (any case) asks for a redo; else approve. */
export function parseReview(text: string): "approve" | "redo" {
  if (/^\W*approve/i.test(text.trim())) return "approve";
  return /\bredo\b/i.test(text) ? "redo" : "approve";
}

const words = (text: string): string[] => text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((word) => word !== "");

/**
 * How many of a member's capabilities a subtask mentions: a capability counts when all its words
 * (`data-analysis` → data, analysis) appear among the subtask's words.
 */
export function capabilityOverlap(subtask: string, capabilities: readonly string[]): number {
  const present = new Set(words(subtask));
  return capabilities.filter((capability) => {
    const needed = words(capability);
    return needed.length > 0 && needed.every((word) => present.has(word));
  }).length;
}

/**
 * The best worker for a subtask among `candidates`: most capability overlap, then highest priority,
 * then fewest subtasks already given (`load`), then lowest agent id. Null when there is none.
 */
export function bestWorker(subtask: string, candidates: readonly TeamMemberInfo[], load: ReadonlyMap<string, number>): TeamMemberInfo | null {
  let best: { member: TeamMemberInfo; key: number[] } | null = null;
  for (const member of candidates) {
    const key = [capabilityOverlap(subtask, member.capabilities), member.priority, -(load.get(member.agentId) ?? 0)];
    if (best === null || compareKeys(key, best.key) > 0 || (compareKeys(key, best.key) === 0 && member.agentId < best.member.agentId)) {
      best = { member, key };
    }
  }
  return best?.member ?? null;
}

function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** The members a leader may delegate to: everyone but the leader. */
export function workersOf(members: readonly TeamMemberInfo[], leaderId: string): TeamMemberInfo[] {
  return members.filter((member) => member.agentId !== leaderId);
}

/**
 * Assigns each subtask, in order, to the best worker ({@link bestWorker}), counting load as it
 * goes. Returns agent ids, one per subtask; empty when there are no workers. Never the leader.
 */
export function assignSubtasks(subtasks: readonly string[], members: readonly TeamMemberInfo[], leaderId: string): string[] {
  const workers = workersOf(members, leaderId);
  const load = new Map<string, number>();
  const assigned: string[] = [];
  for (const subtask of subtasks) {
    const worker = bestWorker(subtask, workers, load);
    if (worker === null) return [];
    assigned.push(worker.agentId);
    load.set(worker.agentId, (load.get(worker.agentId) ?? 0) + 1);
  }
  return assigned;
}

/**
 * Who a subtask goes to next time (after a REDO or a failure): the best worker other than the
 * leader and `exclude`, weighing the current `assigned` load. Null when no other worker exists.
 */
export function reassign(subtask: string, members: readonly TeamMemberInfo[], leaderId: string, exclude: readonly string[], assigned: readonly string[]): string | null {
  const load = new Map<string, number>();
  for (const agentId of assigned) load.set(agentId, (load.get(agentId) ?? 0) + 1);
  const candidates = workersOf(members, leaderId).filter((member) => !exclude.includes(member.agentId));
  return bestWorker(subtask, candidates, load)?.agentId ?? null;
}
