import { assign, setup } from "xstate";
import { NeuroflowError } from "../protocol/index.js";
import { finalAnswer } from "../teams/answer-format.js";
import { pipelineOrder } from "../teams/assignment.js";
import { stagePrompt } from "../teams/team-prompts.js";
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
  type TeamRunContext,
} from "../teams/team-run.js";
import { askingState, askMemberNotProvided, endStates, startingState, teamRunActions, teamRunGuards, teamRunHandlers, type TeamRunEvent } from "./team-base.js";
import type { TeamRunInput, TeamRunOutput } from "./team.js";

/**
 * PIPELINE: members run one after another in ascending priority (ties by agent id), each stage
 * taking the previous stage's output (purpose "stage"); the last output is the answer. On a failed
 * stage, `onStageFailure` decides: `stop` fails the run, `skip` hands the previous output on,
 * `retry` asks the same member again up to `maxRetries` times and then fails. If every stage was
 * skipped there is no output and the run fails.
 *
 * `results`: one {@link PipelineStageResult} per stage that ended, in order.
 */

type PipelineConfig = Extract<TeamRunInput["coordination"], { structure: "PIPELINE" }>["coordination"];

export interface PipelineStageResult {
  stage: number;
  agentId: string;
  status: "completed" | "skipped";
  attempts: number;
  output?: string;
}

interface PipelineContext extends TeamRunContext {
  config: PipelineConfig;
  /** Agent ids in stage order. */
  stages: string[];
  stage: number;
  attempt: number;
  /** The output handed to the next stage; null until a stage completes. */
  carry: string | null;
}

function initialContext(input: TeamRunInput): PipelineContext {
  const config = input.coordination.structure === "PIPELINE" ? input.coordination.coordination : null;
  const problem =
    config === null
      ? invalidTeam(`the pipeline machine cannot run a ${input.coordination.structure} team`)
      : input.members.length === 0
        ? invalidTeam("PIPELINE needs at least one member (a stage)")
        : null;
  return {
    ...startRun(input, "PIPELINE", problem),
    config: config ?? { onStageFailure: "stop", maxRetries: 0 },
    stages: pipelineOrder(input.members).map((member) => member.agentId),
    stage: 0,
    attempt: 1,
    carry: null,
  };
}

function nameOf(context: PipelineContext, agentId: string): string {
  return context.run.members.find((member) => member.agentId === agentId)?.name ?? agentId;
}

/** Moves to the next stage, or ends the run after the last one. */
function advance(context: PipelineContext, log: PipelineContext["log"], results: unknown[], carry: string | null): Partial<PipelineContext> {
  const next = { ...context, log, results, carry };
  if (context.stage + 1 < context.stages.length) return { log, results, carry, stage: context.stage + 1, attempt: 1 };
  if (carry === null) return { results, carry, ...finishRun(next, { status: "FAILED", error: invalidTeam("every pipeline stage failed and was skipped: no output") }) };
  return { results, carry, ...finishRun(next, { status: "COMPLETED", answer: finalAnswer(carry, context.run.task.answerKey?.options) }) };
}

/** What the settled stage ask means: hand on, retry, skip, or end the run. */
function afterStage(context: PipelineContext): Partial<PipelineContext> {
  const [ask] = settledAsks(context.batch);
  const agentId = context.stages[context.stage] ?? "";
  const base = { stage: context.stage, agentId, attempt: context.attempt };
  if (ask === undefined) return finishRun(context, { status: "FAILED", error: new NeuroflowError("INTERNAL", "stage ended without a result").toWire() });
  if (ask.result.ok) {
    const text = ask.result.answer.text;
    const log = appendLog(context.log, { type: "team.stage", ...base, status: "completed", text });
    const result: PipelineStageResult = { stage: context.stage, agentId, status: "completed", attempts: context.attempt, output: text };
    return advance(context, log, [...context.results, result], text);
  }
  const error = ask.result.error;
  const { onStageFailure, maxRetries } = context.config;
  const failedLog = appendLog(context.log, ...failureEvents([ask]), { type: "team.stage", ...base, status: "failed" });
  if (onStageFailure === "retry" && context.attempt <= maxRetries) return { log: failedLog, attempt: context.attempt + 1 };
  if (onStageFailure === "skip") {
    const log = appendLog(failedLog, { type: "team.stage", ...base, status: "skipped" });
    const result: PipelineStageResult = { stage: context.stage, agentId, status: "skipped", attempts: context.attempt };
    return advance(context, log, [...context.results, result], context.carry);
  }
  const tries = context.attempt === 1 ? "" : ` after ${context.attempt} attempts`;
  const why = failedBecause(`stage ${context.stage + 1} (${nameOf(context, agentId)}) failed${tries}`, error);
  return finishRun({ ...context, log: failedLog }, { status: "FAILED", error: why });
}

export const pipelineTeamMachine = setup({
  types: {
    context: {} as PipelineContext,
    events: {} as TeamRunEvent,
    input: {} as TeamRunInput,
    output: {} as TeamRunOutput,
  },
  actors: { askMember: askMemberNotProvided },
  actions: {
    ...teamRunActions<PipelineContext>(),
    askStage: assign(({ context }) => {
      const agentId = context.stages[context.stage] ?? "";
      const prompt = stagePrompt(context.run.task, context.stage, context.stages.length, context.carry);
      const { answerKey } = context.run.task;
      return openAsks(context, [{ key: String(context.stage), input: { agentId, purpose: "stage", prompt, ...(answerKey ? { answerKey } : {}) } }]);
    }),
  },
  guards: {
    ...teamRunGuards,
  },
}).createMachine({
  id: "team-pipeline",
  context: ({ input }) => initialContext(input),
  initial: "starting",
  on: teamRunHandlers,
  states: {
    starting: startingState("staging"),
    /** One stage's ask in flight. */
    staging: askingState("askStage", "handing"),
    /** Transient: hand on, retry, skip or end. */
    handing: {
      entry: assign(({ context }) => afterStage(context)),
      always: [{ guard: "completed", target: "completed" }, { guard: "failed", target: "failed" }, { target: "staging" }],
    },
    ...endStates,
  },
  output: ({ context }) => runOutput(context),
});
