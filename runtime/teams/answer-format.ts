/**
 * The text contract between team machines and the members they ask. A prompt that wants a
 * parseable answer ends with one fixed instruction line, and the reply is read back by the parser
 * here; the simulated provider (runtime/providers) follows the same lines, so keep them in step.
 *
 * - Answer: the prompt lists the options and ends with {@link ANSWER_INSTRUCTION}; the reply names
 *   one on a line `Answer: <option>`, read by {@link parseAnswer}.
 * - Ranking: the prompt lists the options and ends with {@link RANKING_INSTRUCTION}; the reply is a
 *   line `Ranking: a > b > c`, read by {@link parseRanking}.
 *
 * Pure functions, no I/O; parsers never throw — what cannot be read is `null` / an empty ranking.
 */

/** The last line of a prompt that wants one option back. */
export const ANSWER_INSTRUCTION = "Reply with your answer on its own line as: Answer: <option>";
/** The last line of a prompt that wants every option ranked. */
export const RANKING_INSTRUCTION = "Reply with a ranking of every option, best first, as: Ranking: <option> > <option> > ...";

/** The longest free-text answer kept (an option id of the tally is at most 256 characters). */
export const MAX_ANSWER_LENGTH = 200;

const ANSWER_LINE = /^\s*answer\s*:\s*(.+)$/gim;
const RANKING_LINE = /^\s*ranking\s*:\s*(.+)$/gim;

/** Trimmed, runs of whitespace collapsed to one space, lower case, at most {@link MAX_ANSWER_LENGTH} characters. */
export function normalizeAnswer(text: string): string {
  return text.trim().replace(/\s+/g, " ").toLowerCase().slice(0, MAX_ANSWER_LENGTH).trim();
}

function optionsBlock(options: readonly string[]): string {
  return ["Options:", ...options.map((option) => `- ${option}`)].join("\n");
}

/** `prompt`, then the options, then {@link ANSWER_INSTRUCTION} as the last line. */
export function withAnswerFormat(prompt: string, options: readonly string[]): string {
  return `${prompt.trimEnd()}\n\n${optionsBlock(options)}\n${ANSWER_INSTRUCTION}`;
}

/** `prompt`, then the options, then {@link RANKING_INSTRUCTION} as the last line. */
export function withRankingFormat(prompt: string, options: readonly string[]): string {
  return `${prompt.trimEnd()}\n\n${optionsBlock(options)}\n${RANKING_INSTRUCTION}`;
}

/** The captured value of the last line matching `pattern` (a global, multiline regex), trimmed. */
function lastLine(text: string, pattern: RegExp): string | null {
  let last: string | null = null;
  for (const match of text.matchAll(pattern)) {
    const value = match[1]?.trim();
    if (value) last = value;
  }
  return last;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The option equal to the trimmed `text`, case-insensitively, or null. */
function exactOption(text: string, options: readonly string[]): string | null {
  const wanted = text.trim().toLowerCase();
  return options.find((option) => option.trim().toLowerCase() === wanted) ?? null;
}

/**
 * The option `text` names, case-insensitively: the option equal to the trimmed text, else the
 * option found in it as a whole word (not inside a longer word, so option "A" is not found in
 * "Paris"); of several, the longest, then the earliest in the text. Null when none fits.
 */
export function matchOption(text: string, options: readonly string[]): string | null {
  const exact = exactOption(text, options);
  if (exact !== null) return exact;
  let best: { option: string; at: number } | null = null;
  for (const option of options) {
    const needle = option.trim();
    if (needle === "") continue;
    const found = new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(needle)}(?![\\p{L}\\p{N}])`, "iu").exec(text);
    if (found === null) continue;
    const better = best === null || needle.length > best.option.trim().length || (needle.length === best.option.trim().length && found.index < best.at);
    if (better) best = { option, at: found.index };
  }
  return best?.option ?? null;
}

/**
 * Reads an answer from a member's reply. The answer is the last line `Answer: …` (any case); with
 * `options` it is mapped to one of them by {@link matchOption}, and null when it names none; a
 * reply without an answer line counts only when all of it is exactly one option (a free reply
 * mentions options it rejects). Without options it is the normalized text
 * ({@link normalizeAnswer}) of the answer line, or of the whole reply when there is none; null
 * when that is empty.
 */
export function parseAnswer(text: string, options?: readonly string[]): string | null {
  const line = lastLine(text, ANSWER_LINE);
  if (options !== undefined && options.length > 0) return line === null ? exactOption(text, options) : matchOption(line, options);
  const normalized = normalizeAnswer(line ?? text);
  return normalized === "" ? null : normalized;
}

/**
 * Reads a ranking from a member's reply: the last line `Ranking: a > b > …` (any case), split on
 * `>`, each piece mapped to an option by {@link matchOption}; unknown pieces and repeats are
 * dropped. Empty when there is no such line or nothing in it names an option — the member abstains.
 */
export function parseRanking(text: string, options: readonly string[]): string[] {
  const line = lastLine(text, RANKING_LINE);
  if (line === null) return [];
  const ranking: string[] = [];
  for (const piece of line.split(">")) {
    const option = piece.trim() === "" ? null : matchOption(piece, options);
    if (option !== null && !ranking.includes(option)) ranking.push(option);
  }
  return ranking;
}

/**
 * The team's final answer from a member's closing text: with an answer key, the option it names
 * ({@link parseAnswer}) when it names one, else the trimmed text as it is.
 */
export function finalAnswer(text: string, options?: readonly string[]): string {
  const option = options === undefined ? null : parseAnswer(text, options);
  return option ?? text.trim();
}
