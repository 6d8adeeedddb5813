import { NeuroflowError, type AnswerKey } from "../protocol/index.js";
import { createPrng } from "../teams/voting/prng.js";
import type { ModelProvider, ModelRequest, ModelResponse } from "./provider.js";

export interface SimulatedProviderOptions {
  /** Same seed + same request → same answer. */
  seed?: number;
  /** Simulated thinking time per call, in ms. */
  latencyMs?: number;
  /** Injected for tests; resolves after `ms` or rejects when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const openings = [
  "Here is my take",
  "Short answer",
  "Having thought it through",
  "From what I can tell",
  "My recommendation",
  "In brief",
];

/** FNV-1a, 32 bit: a small, stable hash so answers are deterministic across processes. */
export function fnv1a(text: string, seed = 0): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * FNV-1a of `text` under `seed`, then the murmur3 32-bit finaliser. FNV-1a alone never lets high
 * bits reach low ones, so seeds that differ in a few bits give correlated hashes; the finaliser
 * spreads every input bit over the output, which keeps agents that differ only in their seed
 * independent. The result is a PRNG seed in [0, 2^32).
 */
export function mixSeed(text: string, seed = 0): number {
  let hash = fnv1a(text, seed);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b) >>> 0;
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35) >>> 0;
  return (hash ^ (hash >>> 16)) >>> 0;
}

/**
 * The exact line a prompt carries to ask for a ranked ballot instead of one answer. With an answer
 * key the simulated provider then replies `Ranking: <best> > <next> > ...` (every option once); a
 * team machine parses that line. Options containing " > " cannot be told apart in it.
 */
export const RANKING_INSTRUCTION = "Reply with a ranking of every option, best first, as: Ranking: <option> > <option> > ...";

/**
 * Which question a prompt asks, for the keyed draw: its first non-blank line (trimmed) that neither
 * ends with a colon nor is the ranking instruction. The team prompts (runtime/teams/team-prompts.ts)
 * put only such header lines before the task (`Task:`, `Your team works on this task:`, `You are
 * stage 2 of 3 in a pipeline. Task:`), so the first answer, the debate rounds, the ranked ballot and
 * a pipeline stage of one task all key on the task's own first line: an agent stays consistent
 * through a debate, and different tasks get independent draws. A prompt made only of header lines
 * keys on its first non-blank line.
 */
export function questionKey(prompt: string): string {
  const lines = prompt
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && line !== RANKING_INSTRUCTION);
  return lines.find((line) => !line.endsWith(":")) ?? lines[0] ?? "";
}

/** One agent's deterministic pick on a keyed question: its preference order, best first. */
export interface KeyedDraw {
  /** Whether `ranking[0]` is the key's correct option. */
  correct: boolean;
  /** Every option exactly once; `ranking[0]` is the answer. */
  ranking: string[];
}

/**
 * The draw behind a keyed answer. From a PRNG seeded with (seed, system prompt, question key, answer
 * key): right with probability `accuracy`, else one of the wrong options uniformly; the remaining
 * options follow in a seeded shuffle. Different seeds give independent draws (see {@link mixSeed}).
 * Throws VALIDATION_FAILED when `accuracy` is outside [0, 1] or the key's `correct` is not an option.
 */
export function drawKeyedAnswer(key: AnswerKey, input: { seed: number; system: string; question: string; accuracy: number }): KeyedDraw {
  const { accuracy } = input;
  if (!(accuracy >= 0 && accuracy <= 1)) {
    throw new NeuroflowError("VALIDATION_FAILED", `simulated accuracy must be within [0, 1], got ${String(accuracy)}`);
  }
  if (!key.options.includes(key.correct)) {
    throw new NeuroflowError("VALIDATION_FAILED", `answer key: "${key.correct}" is not one of its options`);
  }
  const prng = createPrng(mixSeed(`${input.system}\n${input.question}\n${JSON.stringify(key)}`, input.seed));
  const correct = prng.next() < accuracy;
  const wrong = key.options.filter((option) => option !== key.correct);
  const first = correct || wrong.length === 0 ? key.correct : (wrong[prng.int(wrong.length)] ?? key.correct);
  const rest = key.options.filter((option) => option !== first);
  for (let i = rest.length - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    [rest[i], rest[j]] = [rest[j] as string, rest[i] as string];
  }
  return { correct: first === key.correct, ranking: [first, ...rest] };
}

/** The reply to a keyed task: a ranked ballot when the prompt asks for one, else rationale + answer. */
function keyedReply(request: ModelRequest, key: AnswerKey, prompt: string, seed: number): string {
  const draw = drawKeyedAnswer(key, {
    seed,
    system: request.system,
    question: questionKey(prompt),
    accuracy: request.simulated?.accuracy ?? 1,
  });
  const asksRanking = prompt.split(/\r?\n/).some((line) => line.trim() === RANKING_INSTRUCTION);
  if (asksRanking) return `Ranking: ${draw.ranking.join(" > ")}`;
  const hash = fnv1a(`${request.system}\n${prompt}`, seed);
  const opening = openings[hash % openings.length] ?? openings[0];
  return `${opening}: I weighed all ${key.options.length} options and one fits best (#${(hash % 10_000).toString().padStart(4, "0")}).\nAnswer: ${draw.ranking[0]}`;
}

/** Roughly four characters per token, as the common BPE tokenizers average on English. */
export function estimateTokens(text: string): number {
  return tokensOfLength(text.length);
}

function tokensOfLength(length: number): number {
  return length === 0 ? 0 : Math.ceil(length / 4);
}

/** The reply to a task without an answer key: a stable, prompt-echoing sentence. */
function freeReply(system: string, prompt: string, seed: number): string {
  const hash = fnv1a(`${system}\n${prompt}`, seed);
  const opening = openings[hash % openings.length] ?? openings[0];
  const summary = prompt.length > 120 ? `${prompt.slice(0, 117)}...` : prompt;
  return `${opening}: on "${summary}", I would start with the simplest option and verify it (#${(hash % 10_000).toString().padStart(4, "0")}).`;
}

/**
 * The tokens of the system prompt and every message joined by newlines, counted from their lengths
 * without building that text (it grows with the agent's memory).
 */
function promptTokens(request: ModelRequest): number {
  let length = request.system.length;
  for (const message of request.messages) length += 1 + message.content.length;
  return tokensOfLength(length);
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(new NeuroflowError("PROVIDER_ERROR", "model call aborted"));
      },
      { once: true },
    );
  });
}

/**
 * The offline model: deterministic answers from a seed, token counts from text length, and a
 * configurable latency. The default provider wherever no API key is configured.
 *
 * With `request.answerKey` (an experiment task) it answers from the key instead: right with
 * probability `simulated.accuracy` (default 1), drawn by {@link drawKeyedAnswer} from (seed, system
 * prompt, {@link questionKey} of the last user message). Text contract, parsed by the team machines:
 * if the last user message has the line {@link RANKING_INSTRUCTION}, the reply is the one line
 * `Ranking: a > b > c` (first choice drawn exactly like the answer); otherwise a one-line rationale
 * followed by the line `Answer: <option>`. `maxTokens` truncates either reply like any other.
 * Rejects with VALIDATION_FAILED on an accuracy outside [0, 1] or a key whose `correct` is not an
 * option, and with PROVIDER_ERROR when aborted.
 */
export function createSimulatedProvider(options: SimulatedProviderOptions = {}): ModelProvider {
  const seed = options.seed ?? 42;
  const latencyMs = options.latencyMs ?? 0;
  const sleep = options.sleep ?? defaultSleep;
  return {
    name: "simulated",
    async complete(request: ModelRequest): Promise<ModelResponse> {
      const prompt = request.messages.at(-1)?.content ?? "";
      const agentSeed = request.simulated?.seed ?? seed;
      // Drawn before the wait, so a bad key or accuracy fails at once rather than after the latency.
      let text = request.answerKey ? keyedReply(request, request.answerKey, prompt, agentSeed) : freeReply(request.system, prompt, agentSeed);
      const wait = request.simulated?.latencyMs ?? latencyMs;
      // The default sleep ignores the signal when there is nothing to wait for, and reading it
      // may make one (the agent's model call makes its AbortController on demand).
      await sleep(wait, (wait > 0 || options.sleep) ? request.signal : undefined);
      if (request.maxTokens !== undefined && estimateTokens(text) > request.maxTokens) {
        text = text.slice(0, request.maxTokens * 4);
      }
      return {
        text,
        model: request.model,
        usage: { promptTokens: promptTokens(request), completionTokens: estimateTokens(text) },
      };
    },
  };
}
