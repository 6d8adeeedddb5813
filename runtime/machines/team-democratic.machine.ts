import { assign, setup } from "xstate";
import { NeuroflowError, type AnswerKey, type TeamEvent } from "../protocol/index.js";
import { parseAnswer } from "../teams/answer-format.js";
import {
  choiceBallot,
  decideVote,
  isRanked,
  rankingBallot,
  revoteBallot,
  soleOptionBallot,
  voteContext,
  voteOptions,
  type CastBallot,
  type Stance,
} from "../teams/democratic-vote.js";
import { answerPrompt, debatePrompt, rankPrompt, revotePrompt } from "../teams/team-prompts.js";
import {
  appendLog,
  failureEvents,
  finishRun,
  invalidTeam,
  openAsks,
  runOutput,
  settledAsks,
  startRun,
  timeOutPending,
  type AskRequest,
  type TeamRunContext,
} from "../teams/team-run.js";
import type { AskMemberInput, TeamRunInput, TeamRunOutput } from "./team.js";
import { askingState, askMemberNotProvided, endStates, startingState, teamRunActions, teamRunGuards, teamRunHandlers, type TeamRunEvent } from "./team-base.js";

/**
 * DEMOCRATIC: every member answers in parallel (purpose "answer"); for `debateRounds` rounds each
 * sees the others' answers and may revise (purpose "debate"); then the team votes by `rule`
 * (democratic-vote.ts, runtime/teams/voting). Single-choice rules count each member's final answer
 * as its ballot; ranked rules ask for a ranking (purpose "rank"). Members who failed or stayed
 * silent for `memberTimeoutMs` (enforced here too, as a backstop) do not vote; a debate failure
 * keeps the member's earlier answer. A tie under the `revote` tie-break gets one more ballot round
 * on the tied options; every other outcome that is not `decided` fails the run.
 *
 * `results`: each member's final {@link Stance}, in member order.
 */

type DemocraticConfig = Extract<TeamRunInput["coordination"], { structure: "DEMOCRATIC" }>["coordination"];

interface DemocraticContext extends TeamRunContext {
  config: DemocraticConfig;
  /** Members with an answer, in member order. */
  stances: Stance[];
  debateRound: number;
  voteRound: number;
  /** The options of the current vote round. */
  options: string[];
  revote: boolean;
}

function initialContext(input: TeamRunInput): DemocraticContext {
  const config = input.coordination.structure === "DEMOCRATIC" ? input.coordination.coordination : null;
  const problem =
    config === null
      ? invalidTeam(`the democratic machine cannot run a ${input.coordination.structure} team`)
      : input.members.length === 0
        ? invalidTeam("DEMOCRATIC needs members to vote")
        : null;
  return {
    ...startRun(input, "DEMOCRATIC", problem),
    config: config ?? { rule: { kind: "plurality", quorum: 0, tieBreak: "revote" }, debateRounds: 0, memberTimeoutMs: 60_000 },
    stances: [],
    debateRound: 0,
    voteRound: 1,
    options: [],
    revote: false,
  };
}

const keyOptions = (context: DemocraticContext) => context.run.task.answerKey?.options;

function ask(context: DemocraticContext, agentId: string, purpose: AskMemberInput["purpose"], prompt: string, answerKey: AnswerKey | undefined): AskRequest {
  return { key: agentId, input: { agentId, purpose, prompt, timeoutMs: context.config.memberTimeoutMs, ...(answerKey ? { answerKey } : {}) } };
}

function afterAnswers(context: DemocraticContext): Partial<DemocraticContext> {
  const asks = settledAsks(context.batch);
  const events: TeamEvent[] = [];
  const stances: Stance[] = [];
  for (const settled of asks) {
    if (!settled.result.ok) continue;
    const { text } = settled.result.answer;
    const stance = { agentId: settled.input.agentId, text, answer: parseAnswer(text, keyOptions(context)) };
    stances.push(stance);
    events.push({ type: "team.answer", round: 1, ...stance });
  }
  return { stances, results: stances, log: appendLog(context.log, ...events, ...failureEvents(asks)) };
}

function afterDebate(context: DemocraticContext): Partial<DemocraticContext> {
  const asks = settledAsks(context.batch);
  const events: TeamEvent[] = [];
  const stances = context.stances.map((stance) => {
    const settled = asks.find((candidate) => candidate.input.agentId === stance.agentId);
    if (settled === undefined || !settled.result.ok) return stance;
    const { text } = settled.result.answer;
    const revised = { agentId: stance.agentId, text, answer: parseAnswer(text, keyOptions(context)) };
    events.push({ type: "team.revision", round: context.debateRound, ...revised, changed: revised.answer !== stance.answer });
    return revised;
  });
  return { stances, results: stances, log: appendLog(context.log, ...events, ...failureEvents(asks)) };
}

/** Whether this vote round's ballots come from calls: ranked rules with a real choice, and every re-vote. */
const ballotsNeedCalls = (context: DemocraticContext): boolean => context.voteRound > 1 || (isRanked(context.config.rule) && context.options.length > 1);

/** The answer key narrowed to a re-vote's options, or none when its correct option is not among them. */
function keyFor(context: DemocraticContext): AnswerKey | undefined {
  const key = context.run.task.answerKey;
  if (key === undefined || context.voteRound === 1) return key;
  return context.options.includes(key.correct) ? { options: context.options, correct: key.correct } : undefined;
}

function ballotRequests(context: DemocraticContext): AskRequest[] {
  if (!ballotsNeedCalls(context)) return [];
  const ranked = isRanked(context.config.rule);
  const key = keyFor(context);
  return context.stances.map((stance) =>
    ranked
      ? ask(context, stance.agentId, "rank", rankPrompt(context.run.task, context.options), key)
      : ask(context, stance.agentId, "answer", revotePrompt(context.run.task, context.options), key),
  );
}

function castBallots(context: DemocraticContext): { ballots: CastBallot[]; failures: TeamEvent[] } {
  const ranked = isRanked(context.config.rule);
  if (!ballotsNeedCalls(context)) {
    const ballots = context.stances.map((stance) => (ranked ? soleOptionBallot(stance.agentId, stance.answer) : choiceBallot(stance.agentId, stance.answer)));
    return { ballots, failures: [] };
  }
  const asks = settledAsks(context.batch);
  const ballots = asks.flatMap((settled): CastBallot[] => {
    if (!settled.result.ok) return [];
    const { agentId } = settled.input;
    const { text } = settled.result.answer;
    return [ranked ? rankingBallot(agentId, text, context.options) : revoteBallot(agentId, text, context.options)];
  });
  return { ballots, failures: failureEvents(asks) };
}

function afterBallots(context: DemocraticContext): Partial<DemocraticContext> {
  const { rule, minVoters } = context.config;
  const { ballots, failures } = castBallots(context);
  const { voteRound } = context;
  const tallyContext = voteContext(rule, context.run.members, context.options, context.run.seed);
  const decided = decideVote(rule, ballots.map((cast) => cast.ballot), tallyContext, minVoters, voteRound, voteRound === 1);
  const events: TeamEvent[] = [
    ...failures,
    ...ballots.map((cast): TeamEvent => ({ type: "team.ballot", voteRound, ...cast })),
    ...(decided.tally === null ? [] : [{ type: "team.tally" as const, voteRound, result: decided.tally }]),
    decided.event,
  ];
  const log = appendLog(context.log, ...events);
  const { next, winner } = decided.event;
  if (next === "complete" && winner !== null) return finishRun({ ...context, log }, { status: "COMPLETED", answer: winner });
  if (next === "revote" && decided.tally?.outcome === "tie") {
    return { log, revote: true, voteRound: voteRound + 1, options: decided.tally.tied };
  }
  const error = decided.error ?? new NeuroflowError("INTERNAL", decided.event.message).toWire();
  return finishRun({ ...context, log }, { status: "FAILED", error });
}

const memberDeadline = { memberTimeout: { actions: ["stopAsks", "timeOutAsks"] } } as const;

export const democraticTeamMachine = setup({
  types: {
    context: {} as DemocraticContext,
    events: {} as TeamRunEvent,
    input: {} as TeamRunInput,
    output: {} as TeamRunOutput,
  },
  actors: { askMember: askMemberNotProvided },
  delays: { memberTimeout: ({ context }) => context.config.memberTimeoutMs },
  actions: {
    ...teamRunActions<DemocraticContext>(),
    askAnswers: assign(({ context }) => openAsks(context, context.run.members.map((member) => ask(context, member.agentId, "answer", answerPrompt(context.run.task), context.run.task.answerKey)))),
    askDebate: assign(({ context }) => {
      const round = context.debateRound + 1;
      const nameOf = (agentId: string) => context.run.members.find((member) => member.agentId === agentId)?.name ?? agentId;
      const requests = context.stances.map((stance) => {
        const others = context.stances.filter((other) => other.agentId !== stance.agentId).map((other) => ({ name: nameOf(other.agentId), text: other.text }));
        return ask(context, stance.agentId, "debate", debatePrompt(context.run.task, round, stance.text, others), context.run.task.answerKey);
      });
      return { debateRound: round, ...openAsks(context, requests) };
    }),
    askBallots: assign(({ context }) => {
      const options = context.voteRound === 1 ? voteOptions(context.stances, keyOptions(context)) : context.options;
      const next = { ...context, options };
      return { options, revote: false, ...openAsks(next, ballotRequests(next)) };
    }),
    timeOutAsks: assign(({ context }) => timeOutPending(context, context.config.memberTimeoutMs)),
  },
  guards: {
    ...teamRunGuards,
    revote: ({ context }) => context.revote,
    debateLeft: ({ context }) => context.debateRound < context.config.debateRounds && context.stances.length > 1,
  },
}).createMachine({
  id: "team-democratic",
  context: ({ input }) => initialContext(input),
  initial: "starting",
  on: teamRunHandlers,
  states: {
    starting: startingState("answering"),
    /** Each asking state also gives up on silent members after `memberTimeoutMs`, as a backstop to the members' own deadline. */
    answering: { ...askingState("askAnswers", "answered"), after: memberDeadline },
    answered: { entry: assign(({ context }) => afterAnswers(context)), always: [{ guard: "debateLeft", target: "debating" }, { target: "balloting" }] },
    debating: { ...askingState("askDebate", "debated"), after: memberDeadline },
    debated: { entry: assign(({ context }) => afterDebate(context)), always: [{ guard: "debateLeft", target: "debating" }, { target: "balloting" }] },
    /** Ranking calls (ranked rules) or re-vote calls in flight; none for a first single-choice vote. */
    balloting: { ...askingState("askBallots", "counting"), after: memberDeadline },
    /** Transient: tally, then finish, fail or vote again. */
    counting: {
      entry: assign(({ context }) => afterBallots(context)),
      always: [{ guard: "completed", target: "completed" }, { guard: "revote", target: "balloting" }, { target: "failed" }],
    },
    ...endStates,
  },
  output: ({ context }) => runOutput(context),
});
