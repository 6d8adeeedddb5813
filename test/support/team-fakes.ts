import { expect } from "vitest";
import { createActor, toPromise } from "xstate";
import {
  askMemberActor,
  type AskMemberInput,
  type AskMemberLogic,
  type MemberAnswer,
  type TeamMachine,
  type TeamMemberInfo,
  type TeamRunInput,
  type TeamRunOutput,
  type TeamTask,
} from "../../runtime/machines/team.js";
import {
  NeuroflowError,
  teamCoordinationSchema,
  teamLogEntrySchema,
  type TeamEvent,
  type TeamLogEntry,
} from "../../runtime/protocol/index.js";

/**
 * Fakes for the team machine tests: members with UUID ids, a scripted `askMember` that answers from
 * a function of the ask (deterministic, no timers), and checks every finished run must pass.
 */

export const ORG_ID = "7a0c0f3e-1b2c-4d5e-8f60-000000000001";
export const TEAM_ID = "7a0c0f3e-1b2c-4d5e-8f60-000000000002";
export const EXECUTION_ID = "7a0c0f3e-1b2c-4d5e-8f60-000000000003";

/** The agent id of member `n` (1-based). */
export const agent = (n: number): string => `5b1d2e3f-4a5b-4c6d-9e7f-${String(n).padStart(12, "0")}`;

export function member(n: number, overrides: Partial<TeamMemberInfo> = {}): TeamMemberInfo {
  return { agentId: agent(n), name: `member-${n}`, role: "WORKER", priority: 0, capabilities: [], ...overrides };
}

/** A run input; `coordination` is parsed like the control plane does, so defaults are filled in. */
export function runInput(coordination: unknown, members: TeamMemberInfo[], task: TeamTask = { prompt: "What is the capital of France?" }, seed = 7): TeamRunInput {
  return { orgId: ORG_ID, teamId: TEAM_ID, executionId: EXECUTION_ID, task, members, coordination: teamCoordinationSchema.parse(coordination), seed };
}

/** Every successful answer costs this much, so participation sums are easy to check. */
export const USAGE_PER_ANSWER = { promptTokens: 10, completionTokens: 4 };
export const COST_PER_ANSWER = 3;

/** A reply: text, or an error to reject with (the member failed). */
export type Reply = string | NeuroflowError;

export interface ScriptedAsk {
  actor: AskMemberLogic;
  calls: AskMemberInput[];
}

/** An askMember that replies `reply(input, n)` where n counts this member's asks from 1. */
export function scriptedAsk(reply: (input: AskMemberInput, n: number) => Reply): ScriptedAsk {
  const calls: AskMemberInput[] = [];
  const perMember = new Map<string, number>();
  const actor = askMemberActor(async (input): Promise<MemberAnswer> => {
    calls.push(input);
    const n = (perMember.get(input.agentId) ?? 0) + 1;
    perMember.set(input.agentId, n);
    const answer = reply(input, n);
    if (answer instanceof NeuroflowError) throw answer;
    return { text: answer, usage: { ...USAGE_PER_ANSWER }, costMicroUsd: COST_PER_ANSWER, durationMs: 1 };
  });
  return { actor, calls };
}

export const fail = (code: "TIMEOUT" | "PROVIDER_ERROR" | "UNAVAILABLE" = "PROVIDER_ERROR", message = "member failed"): NeuroflowError =>
  new NeuroflowError(code, message);

/** Runs a team to its end with the scripted asks and checks the invariants of every run. */
export async function runTeam(machine: TeamMachine, input: TeamRunInput, ask: ScriptedAsk): Promise<TeamRunOutput> {
  const actor = createActor(machine.provide({ actors: { askMember: ask.actor } }), { input });
  actor.start();
  const output = await toPromise(actor);
  expectConsistent(output, ask.calls);
  return output;
}

/** The events of a log, without their seq. */
export const events = (log: readonly TeamLogEntry[]): TeamEvent[] => log.map((entry) => entry.event);

/** The events of one type, narrowed. */
export function eventsOf<T extends TeamEvent["type"]>(log: readonly TeamLogEntry[], type: T): Extract<TeamEvent, { type: T }>[] {
  return events(log).filter((event): event is Extract<TeamEvent, { type: T }> => event.type === type);
}

/**
 * What holds for every finished run: the log parses, is numbered 1, 2, 3, … and ends with the
 * outcome; participation counts every ask, tokens and cost sum over the successful ones.
 */
export function expectConsistent(output: TeamRunOutput, calls: readonly AskMemberInput[]): void {
  output.log.forEach((entry, index) => {
    expect(teamLogEntrySchema.parse(entry)).toEqual(entry);
    expect(entry.seq).toBe(index + 1);
  });
  expect(output.log[0]?.event.type).toBe("team.started");
  const last = output.log[output.log.length - 1]?.event.type;
  expect(last).toBe({ COMPLETED: "team.completed", FAILED: "team.failed", CANCELLED: "team.cancelled" }[output.status]);
  const failures = eventsOf(output.log, "team.member.failed");
  for (const entry of output.participation) {
    const mine = calls.filter((call) => call.agentId === entry.agentId).length;
    const failed = failures.filter((event) => event.agentId === entry.agentId).length;
    expect(entry.calls).toBe(mine);
    expect(entry.failures).toBe(failed);
    if (output.status !== "CANCELLED") {
      const answered = entry.calls - entry.failures;
      expect(entry.tokens).toEqual({ promptTokens: answered * USAGE_PER_ANSWER.promptTokens, completionTokens: answered * USAGE_PER_ANSWER.completionTokens });
      expect(entry.costMicroUsd).toBe(answered * COST_PER_ANSWER);
    }
  }
  const sum = (pick: (entry: TeamRunOutput["participation"][number]) => number) => output.participation.reduce((total, entry) => total + pick(entry), 0);
  expect(output.usage).toEqual({ promptTokens: sum((entry) => entry.tokens.promptTokens), completionTokens: sum((entry) => entry.tokens.completionTokens) });
  expect(output.costMicroUsd).toBe(sum((entry) => entry.costMicroUsd));
  if (output.status === "COMPLETED") expect(output.answer).toEqual(expect.any(String));
  else expect(output.error?.code).toEqual(expect.any(String));
}

/** `Answer: <option>` as a member writes it. */
export const says = (option: string): string => `I thought about it.\nAnswer: ${option}`;

/** The agent-number of an ask (member(n) ↔ n), for scripts keyed by member. */
export const memberNumber = (input: { agentId: string }): number => Number(input.agentId.slice(-12));
