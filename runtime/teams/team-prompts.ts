import type { TeamTask } from "../machines/team.js";
import { withAnswerFormat, withRankingFormat } from "./answer-format.js";

/**
 * The prompts team machines send their members, one builder per purpose. Wherever the task has an
 * answer key and the reply should name an option, the prompt ends with the answer-format lines
 * (answer-format.ts); a ranking prompt ends with the ranking lines. Pure string building.
 */

/** Another member's latest text, as shown to a member. */
export interface Shown {
  name: string;
  text: string;
}

/** Asks for a free answer on its own line when there are no options, so answers can be compared. */
export const FREE_ANSWER_INSTRUCTION = "End your reply with your answer on its own line as: Answer: <your answer>";

function answerFormatted(prompt: string, task: TeamTask): string {
  return task.answerKey === undefined ? prompt : withAnswerFormat(prompt, task.answerKey.options);
}

function votable(prompt: string, task: TeamTask): string {
  return task.answerKey === undefined ? `${prompt.trimEnd()}\n\n${FREE_ANSWER_INSTRUCTION}` : withAnswerFormat(prompt, task.answerKey.options);
}

function shownBlock(heading: string, shown: readonly Shown[]): string {
  if (shown.length === 0) return `${heading}\n(none)`;
  return [heading, ...shown.map((entry) => `- ${entry.name}:\n${indent(entry.text)}`)].join("\n");
}

const indent = (text: string): string =>
  text
    .trim()
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");

/** DEMOCRATIC, first round: the task as it is, asking for an answer line. */
export function answerPrompt(task: TeamTask): string {
  return votable(task.prompt, task);
}

/** DEMOCRATIC debate: the member's own answer and the others', and a chance to revise. */
export function debatePrompt(task: TeamTask, round: number, own: string | null, others: readonly Shown[]): string {
  const body = [
    `Task:\n${task.prompt}`,
    `Your answer so far:\n${own === null ? "(none)" : indent(own)}`,
    shownBlock("The other members answered:", others),
    `Debate round ${round}: weigh their answers against yours and answer again. Change your answer only if they convinced you.`,
  ].join("\n\n");
  return votable(body, task);
}

/** DEMOCRATIC ranked ballot: every option, best first. */
export function rankPrompt(task: TeamTask, options: readonly string[]): string {
  return withRankingFormat(`Task:\n${task.prompt}\n\nThe team's candidate answers are the options below. Rank all of them.`, options);
}

/** DEMOCRATIC re-vote after a tie: choose one of the tied options. */
export function revotePrompt(task: TeamTask, tied: readonly string[]): string {
  return withAnswerFormat(`Task:\n${task.prompt}\n\nThe team's vote is tied. Choose one of the tied options.`, tied);
}

/** HIERARCHICAL: the leader breaks the task down; it must not solve it. */
export function decomposePrompt(task: TeamTask, maxSubtasks: number, workers: readonly { name: string; capabilities: readonly string[] }[]): string {
  const team = workers.map((worker) => `- ${worker.name}${worker.capabilities.length > 0 ? ` (${worker.capabilities.join(", ")})` : ""}`);
  return [
    `You lead a team. Task:\n${task.prompt}`,
    ["Your team:", ...team].join("\n"),
    `Do not solve the task yourself. Break it into at most ${maxSubtasks} subtasks for your team, one per line, numbered "1. ", "2. ", …`,
  ].join("\n\n");
}

/** HIERARCHICAL: a worker does one subtask of the whole task. */
export function workPrompt(task: TeamTask, subtask: string): string {
  return answerFormatted(`Your team works on this task:\n${task.prompt}\n\nYour subtask:\n${subtask}\n\nDo your subtask.`, task);
}

/** HIERARCHICAL: the leader approves a worker's result or sends it back. */
export function reviewPrompt(task: TeamTask, subtask: string, result: string): string {
  return [
    `Task:\n${task.prompt}`,
    `Subtask:\n${subtask}`,
    `Result from your team member:\n${indent(result)}`,
    'Reply "APPROVE" if the result does the subtask, or "REDO" and what is missing.',
  ].join("\n\n");
}

/** HIERARCHICAL and COLLABORATIVE: one member writes the team's final answer from the results. */
export function synthesisePrompt(task: TeamTask, results: readonly Shown[]): string {
  const body = [`Task:\n${task.prompt}`, shownBlock("Your team's results:", results), "Combine them into the team's final answer to the task."].join(
    "\n\n",
  );
  return answerFormatted(body, task);
}

/** COLLABORATIVE: a round on the blackboard, seeing everyone's previous contribution. */
export function contributePrompt(task: TeamTask, round: number, own: string | null, others: readonly Shown[]): string {
  const body =
    round === 1
      ? `Task:\n${task.prompt}\n\nRound 1 of a shared blackboard: write your contribution to the task.`
      : [
          `Task:\n${task.prompt}`,
          `Your contribution last round:\n${own === null ? "(none)" : indent(own)}`,
          shownBlock("The others' contributions last round:", others),
          `Round ${round}: improve your contribution using theirs. Repeat it unchanged if you have nothing to add.`,
        ].join("\n\n");
  return answerFormatted(body, task);
}

/** PIPELINE: one stage, taking the previous stage's output (none for the first stage). */
export function stagePrompt(task: TeamTask, stage: number, stages: number, input: string | null): string {
  const head = `You are stage ${stage + 1} of ${stages} in a pipeline. Task:\n${task.prompt}`;
  const body = input === null ? `${head}\n\nWrite your stage's output.` : `${head}\n\nOutput of the previous stage:\n${indent(input)}\n\nWrite your stage's output, building on it.`;
  return answerFormatted(body, task);
}
