import type { ExperimentSpec, ExperimentTask } from "../protocol/index.js";
import { createPrng, type Prng } from "../teams/voting/prng.js";
import { deriveSeed } from "./seeds.js";

const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** "A, B or C" */
function spoken(options: readonly string[]): string {
  return options.length <= 1 ? options.join("") : `${options.slice(0, -1).join(", ")} or ${options.at(-1) ?? ""}`;
}

/** A short tag that makes every generated question's text (and so each agent's draw on it) unique. */
function tag(prng: Prng, index: number): string {
  return `${(index + 1).toString()}-${prng.int(1_679_616).toString(36).padStart(4, "0")}`;
}

/**
 * The tasks of an experiment, in order: the written list as is, or the generated questions. The
 * generators are deterministic in the spec's seed: yes/no questions whose right answer is "yes" or
 * "no" with equal chance, or lettered choice questions whose right letter is uniform. Each prompt is
 * one line, so it is also the question key the simulated provider draws on (see questionKey).
 */
export function resolveTasks(spec: ExperimentSpec): ExperimentTask[] {
  const { tasks } = spec;
  if (Array.isArray(tasks)) return tasks.map((task) => ({ prompt: task.prompt, answerKey: { ...task.answerKey } }));
  const prng = createPrng(deriveSeed(spec.seed, "tasks", tasks.kind));
  if (tasks.kind === "binary-questions") {
    return Array.from({ length: tasks.count }, (_, i) => ({
      prompt: `Question ${tag(prng, i)}: is this claim true? Answer yes or no.`,
      answerKey: { options: ["yes", "no"], correct: prng.int(2) === 0 ? "yes" : "no" },
    }));
  }
  const options = letters.slice(0, tasks.options).split("");
  return Array.from({ length: tasks.count }, (_, i) => ({
    prompt: `Question ${tag(prng, i)}: which option is right, ${spoken(options)}? Answer with one letter.`,
    answerKey: { options: [...options], correct: options[prng.int(options.length)] ?? "A" },
  }));
}
