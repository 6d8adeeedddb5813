import { assign, setup } from "xstate";
import { NeuroflowError, type TeamEvent, type WireError } from "../protocol/index.js";
import { finalAnswer } from "../teams/answer-format.js";
import { assignSubtasks, decompose, parseReview, pickLeader, reassign, workersOf } from "../teams/assignment.js";
import { decomposePrompt, reviewPrompt, synthesisePrompt, workPrompt } from "../teams/team-prompts.js";
import {
  appendLog,
  failedBecause,
  failureEvents,
  finishRun,
  invalidTeam,
  openAsks,
  runOutput,
  settledAsks,
  startRun,
  type AskRequest,
  type TeamRunContext,
} from "../teams/team-run.js";
import { askingState, askMemberNotProvided, endStates, startingState, teamRunActions, teamRunGuards, teamRunHandlers, type TeamRunEvent } from "./team-base.js";
import type { TeamRunInput, TeamRunOutput } from "./team.js";

/**
 * HIERARCHICAL: the leader (role LEADER, else the highest priority) breaks the task into at most
 * `maxSubtasks` subtasks (purpose "decompose") — never answering it: a reply without a usable list
 * makes the whole task one subtask. Each subtask goes to a worker other than the leader
 * (assignment.ts) and the workers run in parallel (purpose "work"). With `reviewResults` the leader
 * reviews each result (purpose "review"): REDO sends the subtask once to a different worker when
 * `allowRedelegation`; a failed subtask is re-delegated the same way. A subtask that still has no
 * result fails the run (a redo that fails keeps the first result). The leader then synthesises the
 * answer (purpose "synthesise"). Work and synthesis carry the task's answer key.
 *
 * `results`: one {@link SubtaskResult} per subtask, in order.
 */

type HierarchicalConfig = Extract<TeamRunInput["coordination"], { structure: "HIERARCHICAL" }>["coordination"];

export interface SubtaskResult {
  subtask: number;
  text: string;
  /** Who holds the subtask now (the last delegation). */
  agentId: string;
  /** Every worker it was delegated to, in order. */
  delegatedTo: string[];
  status: "pending" | "done" | "failed";
  result: string | null;
  review: "approve" | "redo" | null;
  error: WireError | null;
}

interface HierarchicalContext extends TeamRunContext {
  config: HierarchicalConfig;
  leaderId: string;
  subtasks: SubtaskResult[];
}

function initialContext(input: TeamRunInput): HierarchicalContext {
  const config = input.coordination.structure === "HIERARCHICAL" ? input.coordination.coordination : null;
  const leader = pickLeader(input.members);
  let problem: WireError | null = null;
  if (config === null) problem = invalidTeam(`the hierarchical machine cannot run a ${input.coordination.structure} team`);
  else if (leader === null) problem = invalidTeam("HIERARCHICAL needs members: a leader and at least one worker");
  else if (workersOf(input.members, leader.agentId).length === 0) {
    problem = invalidTeam(`HIERARCHICAL needs a member besides the leader ${leader.name} to delegate to; the leader may not answer the task itself`);
  }
  return {
    ...startRun(input, "HIERARCHICAL", problem),
    config: config ?? { maxSubtasks: 1, allowRedelegation: false, reviewResults: false, leaderMayAnswer: false },
    leaderId: leader?.agentId ?? "",
    subtasks: [],
  };
}

const nameOf = (context: HierarchicalContext, agentId: string): string =>
  context.run.members.find((member) => member.agentId === agentId)?.name ?? agentId;

const answerKeyOf = (context: HierarchicalContext) => (context.run.task.answerKey ? { answerKey: context.run.task.answerKey } : {});

/** Re-delegates a subtask to another worker once, or returns null when that is not allowed or possible. */
function redelegated(context: HierarchicalContext, subtask: SubtaskResult, reason: "redo" | "failed"): { subtask: SubtaskResult; event: TeamEvent } | null {
  if (!context.config.allowRedelegation || subtask.delegatedTo.length > 1) return null;
  const assigned = context.subtasks.map((entry) => entry.agentId);
  const agentId = reassign(subtask.text, context.run.members, context.leaderId, subtask.delegatedTo, assigned);
  if (agentId === null) return null;
  const attempt = subtask.delegatedTo.length + 1;
  return {
    subtask: { ...subtask, agentId, delegatedTo: [...subtask.delegatedTo, agentId], status: "pending", error: null },
    event: { type: "team.delegation", subtask: subtask.subtask, text: subtask.text, agentId, attempt, reason },
  };
}

function afterDecompose(context: HierarchicalContext): Partial<HierarchicalContext> {
  const [ask] = settledAsks(context.batch);
  if (ask === undefined || !ask.result.ok) {
    const error = ask?.result.ok === false ? ask.result.error : new NeuroflowError("INTERNAL", "decomposition ended without a result").toWire();
    const log = appendLog(context.log, ...(ask ? failureEvents([ask]) : []));
    return finishRun({ ...context, log }, { status: "FAILED", error: failedBecause(`leader ${nameOf(context, context.leaderId)} failed to decompose the task`, error) });
  }
  const { subtasks, fallback } = decompose(ask.result.answer.text, context.run.task.prompt, context.config.maxSubtasks);
  const workers = assignSubtasks(subtasks, context.run.members, context.leaderId);
  const planned = subtasks.map((text, subtask): SubtaskResult => {
    const agentId = workers[subtask] ?? "";
    return { subtask, text, agentId, delegatedTo: [agentId], status: "pending", result: null, review: null, error: null };
  });
  const log = appendLog(
    context.log,
    { type: "team.decomposition", agentId: context.leaderId, subtasks, fallback },
    ...planned.map((entry): TeamEvent => ({ type: "team.delegation", subtask: entry.subtask, text: entry.text, agentId: entry.agentId, attempt: 1, reason: "initial" })),
  );
  return { log, subtasks: planned, results: planned };
}

function afterWork(context: HierarchicalContext): Partial<HierarchicalContext> {
  const events: TeamEvent[] = [];
  const subtasks = [...context.subtasks];
  for (const ask of settledAsks(context.batch)) {
    const current = subtasks[Number(ask.key)];
    if (current === undefined) continue;
    const attempt = current.delegatedTo.length;
    if (ask.result.ok) {
      events.push({ type: "team.work", subtask: current.subtask, agentId: ask.input.agentId, attempt, text: ask.result.answer.text });
      subtasks[current.subtask] = { ...current, status: "done", result: ask.result.answer.text };
      continue;
    }
    events.push(...failureEvents([ask]));
    const again = redelegated({ ...context, subtasks }, current, "failed");
    if (again !== null) {
      events.push(again.event);
      subtasks[current.subtask] = again.subtask;
    } else if (current.result !== null) {
      // A redo that failed: the first result stands.
      subtasks[current.subtask] = { ...current, status: "done" };
    } else {
      subtasks[current.subtask] = { ...current, status: "failed", error: ask.result.error };
    }
  }
  const log = appendLog(context.log, ...events);
  const failed = subtasks.find((entry) => entry.status === "failed");
  if (failed?.error) {
    const tried = failed.delegatedTo.map((agentId) => nameOf(context, agentId)).join(", then ");
    const error = failedBecause(`subtask ${failed.subtask + 1} failed (${tried})`, failed.error);
    return { subtasks, results: subtasks, ...finishRun({ ...context, log }, { status: "FAILED", error }) };
  }
  return { log, subtasks, results: subtasks };
}

function afterReview(context: HierarchicalContext): Partial<HierarchicalContext> {
  const events: TeamEvent[] = [];
  const subtasks = [...context.subtasks];
  for (const ask of settledAsks(context.batch)) {
    const current = subtasks[Number(ask.key)];
    if (current === undefined) continue;
    if (!ask.result.ok) {
      // The review is the leader's check, not the work: without it the result stands.
      events.push(...failureEvents([ask]));
      subtasks[current.subtask] = { ...current, review: "approve" };
      continue;
    }
    const verdict = parseReview(ask.result.answer.text);
    events.push({ type: "team.review", subtask: current.subtask, agentId: context.leaderId, verdict, text: ask.result.answer.text });
    const again = verdict === "redo" ? redelegated({ ...context, subtasks }, current, "redo") : null;
    if (again !== null) events.push(again.event);
    subtasks[current.subtask] = again === null ? { ...current, review: verdict } : { ...again.subtask, review: verdict };
  }
  return { log: appendLog(context.log, ...events), subtasks, results: subtasks };
}

function afterSynthesis(context: HierarchicalContext): Partial<HierarchicalContext> {
  const [ask] = settledAsks(context.batch);
  if (ask === undefined || !ask.result.ok) {
    const error = ask?.result.ok === false ? ask.result.error : new NeuroflowError("INTERNAL", "synthesis ended without a result").toWire();
    const log = appendLog(context.log, ...(ask ? failureEvents([ask]) : []));
    return finishRun({ ...context, log }, { status: "FAILED", error: failedBecause(`leader ${nameOf(context, context.leaderId)} failed to synthesise`, error) });
  }
  const text = ask.result.answer.text;
  const log = appendLog(context.log, { type: "team.synthesis", agentId: context.leaderId, text });
  return finishRun({ ...context, log }, { status: "COMPLETED", answer: finalAnswer(text, context.run.task.answerKey?.options) });
}

const awaitingReview = (context: HierarchicalContext): SubtaskResult[] =>
  context.config.reviewResults ? context.subtasks.filter((entry) => entry.status === "done" && entry.review === null && entry.delegatedTo.length === 1) : [];

export const hierarchicalTeamMachine = setup({
  types: {
    context: {} as HierarchicalContext,
    events: {} as TeamRunEvent,
    input: {} as TeamRunInput,
    output: {} as TeamRunOutput,
  },
  actors: { askMember: askMemberNotProvided },
  actions: {
    ...teamRunActions<HierarchicalContext>(),
    askDecompose: assign(({ context }) => {
      const workers = workersOf(context.run.members, context.leaderId);
      const prompt = decomposePrompt(context.run.task, context.config.maxSubtasks, workers);
      return openAsks(context, [{ key: "decompose", input: { agentId: context.leaderId, purpose: "decompose", prompt } }]);
    }),
    askWork: assign(({ context }) =>
      openAsks(
        context,
        context.subtasks
          .filter((entry) => entry.status === "pending")
          .map((entry): AskRequest => ({
            key: String(entry.subtask),
            input: { agentId: entry.agentId, purpose: "work", prompt: workPrompt(context.run.task, entry.text), ...answerKeyOf(context) },
          })),
      ),
    ),
    askReviews: assign(({ context }) =>
      openAsks(
        context,
        awaitingReview(context).map((entry): AskRequest => ({
          key: String(entry.subtask),
          input: { agentId: context.leaderId, purpose: "review", prompt: reviewPrompt(context.run.task, entry.text, entry.result ?? "") },
        })),
      ),
    ),
    askSynthesis: assign(({ context }) => {
      const shown = context.subtasks.map((entry) => ({ name: `Subtask ${entry.subtask + 1} (${entry.text})`, text: entry.result ?? "" }));
      const prompt = synthesisePrompt(context.run.task, shown);
      return openAsks(context, [{ key: "synthesis", input: { agentId: context.leaderId, purpose: "synthesise", prompt, ...answerKeyOf(context) } }]);
    }),
  },
  guards: {
    ...teamRunGuards,
    workPending: ({ context }) => context.subtasks.some((entry) => entry.status === "pending"),
    reviewPending: ({ context }) => awaitingReview(context).length > 0,
  },
}).createMachine({
  id: "team-hierarchical",
  context: ({ input }) => initialContext(input),
  initial: "starting",
  on: teamRunHandlers,
  states: {
    starting: startingState("decomposing"),
    decomposing: askingState("askDecompose", "planning"),
    planning: { entry: assign(({ context }) => afterDecompose(context)), always: [{ guard: "failed", target: "failed" }, { target: "working" }] },
    working: askingState("askWork", "checking"),
    /** Transient: re-delegate failures, then review, then synthesise. */
    checking: {
      entry: assign(({ context }) => afterWork(context)),
      always: [
        { guard: "failed", target: "failed" },
        { guard: "workPending", target: "working" },
        { guard: "reviewPending", target: "reviewing" },
        { target: "synthesising" },
      ],
    },
    reviewing: askingState("askReviews", "judging"),
    judging: { entry: assign(({ context }) => afterReview(context)), always: [{ guard: "workPending", target: "working" }, { target: "synthesising" }] },
    synthesising: askingState("askSynthesis", "concluding"),
    concluding: { entry: assign(({ context }) => afterSynthesis(context)), always: [{ guard: "completed", target: "completed" }, { target: "failed" }] },
    ...endStates,
  },
  output: ({ context }) => runOutput(context),
});
