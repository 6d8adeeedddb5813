import type {
  AnswerKey,
  AskPurpose,
  TeamCoordination,
  TeamLogEntry,
  TeamParticipation,
  TeamRole,
  TeamStructure,
  TokenUsage,
  WireError,
} from "../protocol/index.js";
import { collaborativeTeamMachine } from "./team-collaborative.machine.js";
import { democraticTeamMachine } from "./team-democratic.machine.js";
import { hierarchicalTeamMachine } from "./team-hierarchical.machine.js";
import { pipelineTeamMachine } from "./team-pipeline.machine.js";

/**
 * The contract shared by the four team machines (one per team structure): what a run gets, the one
 * effect it asks for (`askMember`), the one event it takes and what it ends with. Every machine is
 * pure — member calls are the `askMember` actor, provided at the wiring layer — and every failure,
 * whether a member's or the team's, ends as state (FAILED with a wire error), never as a throw.
 */

export type { AskPurpose } from "../protocol/index.js";

/** One member as the team machine sees it: who, in which role, and what it is good at. */
export interface TeamMemberInfo {
  agentId: string;
  name: string;
  role: TeamRole;
  /** Lower runs first in a pipeline; higher picks leaders and synthesisers and weighs more. */
  priority: number;
  capabilities: string[];
  /** The agent's success rate, for the `successRate` voting weight (absent: 0). */
  successRate?: number;
  /** The explicit voting weight, for the `explicit` weight source (absent: 1). */
  weight?: number;
}

/** The task a team runs: a prompt and, for experiments, its known answer. */
export interface TeamTask {
  prompt: string;
  answerKey?: AnswerKey;
}

/** Everything one team run needs; the machine reads nothing else (no clock, no randomness). */
export interface TeamRunInput {
  orgId: string;
  teamId: string;
  executionId: string;
  task: TeamTask;
  members: TeamMemberInfo[];
  /** Parsed with `teamCoordinationSchema`; its `structure` must be the machine's. */
  coordination: TeamCoordination;
  /** Safe integer; seeds the `random` tie-break of a vote. */
  seed: number;
}

/** One question to one member. */
export interface AskMemberInput {
  agentId: string;
  purpose: AskPurpose;
  prompt: string;
  /** Passed on where the reply should name an option, so a simulated member can be right or wrong. */
  answerKey?: AnswerKey;
  /** The member's deadline, where the structure has one (DEMOCRATIC: `memberTimeoutMs`). */
  timeoutMs?: number;
}

/** A member's reply and what it cost. */
export interface MemberAnswer {
  text: string;
  usage: TokenUsage;
  costMicroUsd: number;
  durationMs: number;
}

/**
 * The effect: ask one member and resolve with its answer. Rejecting (with a NeuroflowError, whose
 * `code` is read through `NeuroflowError.toWire`; anything else counts as INTERNAL) means that
 * member failed or timed out on this ask. The signal is aborted when the team stops waiting
 * (cancel, deadline); the wiring should then cancel the member's task.
 */
export type AskMember = (input: AskMemberInput, signal: AbortSignal) => Promise<MemberAnswer>;

export { askMemberActor, askMemberActorBy, type AskMemberLogic } from "./team-base.js";

/** The only event from outside: stop all member work and end CANCELLED. */
export type TeamCancelEvent = { type: "team.cancel" };

export type TeamRunStatus = "COMPLETED" | "FAILED" | "CANCELLED";

/**
 * How a run ended. `answer` on COMPLETED (parsed to an answer-key option when the task has one);
 * `error` on FAILED and CANCELLED. Tokens and cost are sums over every member answer; `results`
 * holds the structure's intermediate results (see each machine); `log` is the whole coordination log.
 */
export interface TeamRunOutput {
  status: TeamRunStatus;
  answer?: string;
  error?: WireError;
  participation: TeamParticipation[];
  usage: TokenUsage;
  costMicroUsd: number;
  results: unknown[];
  log: TeamLogEntry[];
}

/** Any of the four team machines; all take a TeamRunInput and a TeamCancelEvent and output a TeamRunOutput. */
export type TeamMachine = typeof hierarchicalTeamMachine | typeof collaborativeTeamMachine | typeof pipelineTeamMachine | typeof democraticTeamMachine;

/**
 * The machine of a structure. The wiring provides `askMember` and starts it:
 * `createActor(teamMachineFor(s).provide({ actors: { askMember: askMemberActor(ask) } }), { input }).start()`.
 * A host running many teams provides each machine once, with `askMemberActorBy` (see team-base.ts).
 */
export function teamMachineFor(structure: TeamStructure): TeamMachine {
  switch (structure) {
    case "HIERARCHICAL":
      return hierarchicalTeamMachine;
    case "COLLABORATIVE":
      return collaborativeTeamMachine;
    case "PIPELINE":
      return pipelineTeamMachine;
    case "DEMOCRATIC":
      return democraticTeamMachine;
  }
}
