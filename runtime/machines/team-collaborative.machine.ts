import { assign, setup } from "xstate";
import { NeuroflowError, type TeamEvent } from "../protocol/index.js";
import { finalAnswer } from "../teams/answer-format.js";
import { pickSynthesiser } from "../teams/assignment.js";
import { convergenceScore } from "../teams/convergence.js";
import { contributePrompt, synthesisePrompt, type Shown } from "../teams/team-prompts.js";
import {
  appendLog,
  failedBecause,
  failureEvents,
  finishRun,
  invalidTeam,
  membersUnavailable,
  openAsks,
  runOutput,
  settledAsks,
  startRun,
  type TeamRunContext,
} from "../teams/team-run.js";
import { askingState, askMemberNotProvided, endStates, startingState, teamRunActions, teamRunGuards, teamRunHandlers, type TeamRunEvent } from "./team-base.js";
import type { TeamRunInput, TeamRunOutput } from "./team.js";

/**
 * COLLABORATIVE: a blackboard. Each round every member contributes in parallel (purpose
 * "contribute"), seeing the latest contribution of everyone; from round 2 the round is compared
 * with the one before (convergence.ts) and the rounds stop once the score reaches the threshold, at
 * `maxRounds`, or when nobody contributed. The synthesiser — the COORDINATOR when `synthesiser` is
 * "coordinator" and there is one, else the highest priority — writes the answer (purpose
 * "synthesise"). A member failing a round keeps its earlier contribution on the board; the run
 * fails when nobody ever contributed or the synthesiser fails.
 *
 * `results`: the final board, one {@link BoardEntry} per member who contributed, in member order.
 */

type CollaborativeConfig = Extract<TeamRunInput["coordination"], { structure: "COLLABORATIVE" }>["coordination"];

export interface BoardEntry {
  agentId: string;
  round: number;
  text: string;
}

interface CollaborativeContext extends TeamRunContext {
  config: CollaborativeConfig;
  round: number;
  /** Each member's latest contribution. */
  board: Record<string, BoardEntry>;
  /** The contributions of the last round that had any (agent id → text), for convergence. */
  lastRound: Record<string, string>;
  roundsOver: boolean;
}

function initialContext(input: TeamRunInput): CollaborativeContext {
  const config = input.coordination.structure === "COLLABORATIVE" ? input.coordination.coordination : null;
  const problem =
    config === null
      ? invalidTeam(`the collaborative machine cannot run a ${input.coordination.structure} team`)
      : input.members.length === 0
        ? invalidTeam("COLLABORATIVE needs at least one member")
        : null;
  return {
    ...startRun(input, "COLLABORATIVE", problem),
    config: config ?? { maxRounds: 1, convergence: { method: "similarity", threshold: 1 }, synthesiser: "highest-priority" },
    round: 1,
    board: {},
    lastRound: {},
    roundsOver: false,
  };
}

const nameOf = (context: CollaborativeContext, agentId: string): string =>
  context.run.members.find((member) => member.agentId === agentId)?.name ?? agentId;

function boardShown(context: CollaborativeContext, except?: string): Shown[] {
  return context.run.members.flatMap((member) => {
    const entry = context.board[member.agentId];
    return entry === undefined || member.agentId === except ? [] : [{ name: member.name, text: entry.text }];
  });
}

/** Logs the round, updates the board and decides whether another round follows. */
function afterRound(context: CollaborativeContext): Partial<CollaborativeContext> {
  const asks = settledAsks(context.batch);
  const current = new Map<string, string>();
  const events: TeamEvent[] = [];
  for (const ask of asks) {
    if (!ask.result.ok) continue;
    current.set(ask.input.agentId, ask.result.answer.text);
    events.push({ type: "team.contribution", round: context.round, agentId: ask.input.agentId, text: ask.result.answer.text });
  }
  events.push(...failureEvents(asks));
  const board = { ...context.board };
  for (const [agentId, text] of current) board[agentId] = { agentId, round: context.round, text };
  let converged = false;
  if (context.round > 1 && current.size > 0) {
    const { method, threshold } = context.config.convergence;
    const score = convergenceScore(method, new Map(Object.entries(context.lastRound)), current);
    converged = score >= threshold;
    events.push({ type: "team.convergence", round: context.round, method, score, threshold, converged });
  }
  const log = appendLog(context.log, ...events);
  if (Object.keys(board).length === 0) {
    const error = membersUnavailable(`no member contributed in round 1 (${asks.length} asked, all failed)`);
    return finishRun({ ...context, log }, { status: "FAILED", error });
  }
  const roundsOver = converged || current.size === 0 || context.round >= context.config.maxRounds;
  return {
    log,
    board,
    lastRound: current.size > 0 ? Object.fromEntries(current) : context.lastRound,
    roundsOver,
    round: roundsOver ? context.round : context.round + 1,
  };
}

function afterSynthesis(context: CollaborativeContext): Partial<CollaborativeContext> {
  const [ask] = settledAsks(context.batch);
  const results = context.run.members.flatMap((member) => context.board[member.agentId] ?? []);
  if (ask === undefined) return finishRun(context, { status: "FAILED", error: new NeuroflowError("INTERNAL", "synthesis ended without a result").toWire() });
  if (!ask.result.ok) {
    const error = failedBecause(`synthesiser ${nameOf(context, ask.input.agentId)} failed`, ask.result.error);
    return { results, ...finishRun({ ...context, log: appendLog(context.log, ...failureEvents([ask])) }, { status: "FAILED", error }) };
  }
  const text = ask.result.answer.text;
  const log = appendLog(context.log, { type: "team.synthesis", agentId: ask.input.agentId, text });
  return { results, ...finishRun({ ...context, log }, { status: "COMPLETED", answer: finalAnswer(text, context.run.task.answerKey?.options) }) };
}

export const collaborativeTeamMachine = setup({
  types: {
    context: {} as CollaborativeContext,
    events: {} as TeamRunEvent,
    input: {} as TeamRunInput,
    output: {} as TeamRunOutput,
  },
  actors: { askMember: askMemberNotProvided },
  actions: {
    ...teamRunActions<CollaborativeContext>(),
    askRound: assign(({ context }) => {
      const { answerKey } = context.run.task;
      return openAsks(
        context,
        context.run.members.map((member) => ({
          key: member.agentId,
          input: {
            agentId: member.agentId,
            purpose: "contribute" as const,
            prompt: contributePrompt(context.run.task, context.round, context.board[member.agentId]?.text ?? null, boardShown(context, member.agentId)),
            ...(answerKey ? { answerKey } : {}),
          },
        })),
      );
    }),
    askSynthesis: assign(({ context }) => {
      const synthesiser = pickSynthesiser(context.run.members, context.config.synthesiser);
      const { answerKey } = context.run.task;
      const prompt = synthesisePrompt(context.run.task, boardShown(context));
      return openAsks(context, [
        { key: "synthesis", input: { agentId: synthesiser?.agentId ?? "", purpose: "synthesise", prompt, ...(answerKey ? { answerKey } : {}) } },
      ]);
    }),
  },
  guards: {
    ...teamRunGuards,
    roundsOver: ({ context }) => context.roundsOver,
  },
}).createMachine({
  id: "team-collaborative",
  context: ({ input }) => initialContext(input),
  initial: "starting",
  on: teamRunHandlers,
  states: {
    starting: startingState("contributing"),
    /** One round's contributions in flight. */
    contributing: askingState("askRound", "judging"),
    /** Transient: another round, synthesis, or failure. */
    judging: {
      entry: assign(({ context }) => afterRound(context)),
      always: [{ guard: "failed", target: "failed" }, { guard: "roundsOver", target: "synthesising" }, { target: "contributing" }],
    },
    synthesising: askingState("askSynthesis", "concluding"),
    concluding: {
      entry: assign(({ context }) => afterSynthesis(context)),
      always: [{ guard: "completed", target: "completed" }, { target: "failed" }],
    },
    ...endStates,
  },
  output: ({ context }) => runOutput(context),
});
