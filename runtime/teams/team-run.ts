import { fromPromise } from "xstate";
import { NeuroflowError, type TeamEvent, type TeamLogEntry, type TeamParticipation, type TeamStructure, type TokenUsage, type WireError } from "../protocol/index.js";
import type { AskMemberInput, MemberAnswer, TeamMemberInfo, TeamRunInput, TeamRunOutput, TeamRunStatus } from "../machines/team.js";

/**
 * The bookkeeping every team machine shares, as pure functions over its context: the log (with
 * `seq`), participation and cost, and batches of parallel member asks. A machine spawns one
 * `askMember` child per ask of the open batch (ids `ask-1`, `ask-2`, …), settles each from its
 * `xstate.done.actor.*` / `xstate.error.actor.*` event, and moves on once the batch is settled.
 * Results are read back in the order the asks were made, so processing never depends on which
 * member answered first.
 */

/** One ask to make; `key` tells the machine what it was for (an agent id, a subtask index, …). */
export interface AskRequest {
  key: string;
  input: AskMemberInput;
}

export interface OpenAsk extends AskRequest {
  askId: string;
}

export type AskResult = { ok: true; answer: MemberAnswer } | { ok: false; error: WireError };

export interface SettledAsk extends OpenAsk {
  result: AskResult;
}

/** The asks in flight together; `results` is keyed by ask id. */
export interface AskBatch {
  asks: OpenAsk[];
  results: Record<string, AskResult>;
}

/** What every team machine's context has besides its structure's own state. */
export interface TeamRunContext {
  run: TeamRunInput;
  log: TeamLogEntry[];
  /** One entry per member, in member order. */
  participation: TeamParticipation[];
  batch: AskBatch;
  /** Asks made so far; the next ask's id is `ask-<askCount + 1>`. */
  askCount: number;
  status: TeamRunStatus | null;
  answer: string | null;
  error: WireError | null;
  results: unknown[];
}

const zeroUsage = (): TokenUsage => ({ promptTokens: 0, completionTokens: 0 });

/** The context of a run that has not asked anyone yet; its log starts with `team.started`. */
export function startRun(run: TeamRunInput, structure: TeamStructure): TeamRunContext {
  return {
    run,
    log: [{ seq: 1, event: { type: "team.started", structure, members: run.members.map((member) => member.agentId) } }],
    participation: run.members.map((member) => ({ agentId: member.agentId, calls: 0, failures: 0, tokens: zeroUsage(), costMicroUsd: 0 })),
    batch: { asks: [], results: {} },
    askCount: 0,
    status: null,
    answer: null,
    error: null,
    results: [],
  };
}

/** The log with `events` appended, numbered on from the last entry. */
export function appendLog(log: readonly TeamLogEntry[], ...events: TeamEvent[]): TeamLogEntry[] {
  const next = (log[log.length - 1]?.seq ?? 0) + 1;
  return [...log, ...events.map((event, index) => ({ seq: next + index, event }))];
}

/** A problem with the team or its config that ends the run before anyone is asked. */
export const invalidTeam = (message: string): WireError => ({ code: "VALIDATION_FAILED", message, retryable: false });

/** Too few members answered for the team to go on; another run may find them answering. */
export const membersUnavailable = (message: string): WireError => ({ code: "UNAVAILABLE", message, retryable: true });

/** The wire error of a cancelled run. */
export const cancelledRun = (): WireError => ({ code: "CANCELLED", message: "team execution cancelled", retryable: false });

/** `error` with `what` put in front of its message: the member's code, the team's context. */
export const failedBecause = (what: string, error: WireError): WireError => ({ ...error, message: `${what}: ${error.message}` });

/** Opens a new batch (the previous one must be settled) and counts a call per ask. */
export function openAsks(context: TeamRunContext, requests: readonly AskRequest[]): Pick<TeamRunContext, "batch" | "askCount" | "participation"> {
  const asks = requests.map((request, index) => ({ ...request, askId: `ask-${context.askCount + index + 1}` }));
  const calls = new Map<string, number>();
  for (const ask of asks) calls.set(ask.input.agentId, (calls.get(ask.input.agentId) ?? 0) + 1);
  return {
    batch: { asks, results: {} },
    askCount: context.askCount + asks.length,
    participation: context.participation.map((entry) => ({ ...entry, calls: entry.calls + (calls.get(entry.agentId) ?? 0) })),
  };
}

/**
 * Records the result of one ask: its tokens and cost, or a failure. An id outside the open batch
 * (or settled already) changes nothing: a late event from an ask the team stopped waiting for.
 */
export function settleAsk(context: TeamRunContext, askId: string, result: AskResult): Partial<Pick<TeamRunContext, "batch" | "participation">> {
  const ask = context.batch.asks.find((candidate) => candidate.askId === askId);
  if (ask === undefined || context.batch.results[askId] !== undefined) return {};
  const participation = context.participation.map((entry) => {
    if (entry.agentId !== ask.input.agentId) return entry;
    if (!result.ok) return { ...entry, failures: entry.failures + 1 };
    const { usage, costMicroUsd } = result.answer;
    return {
      ...entry,
      tokens: { promptTokens: entry.tokens.promptTokens + usage.promptTokens, completionTokens: entry.tokens.completionTokens + usage.completionTokens },
      costMicroUsd: entry.costMicroUsd + costMicroUsd,
    };
  });
  return { batch: { asks: context.batch.asks, results: { ...context.batch.results, [askId]: result } }, participation };
}

/** The asks of the open batch still waiting for a result. */
export function pendingAsks(batch: AskBatch): OpenAsk[] {
  return batch.asks.filter((ask) => batch.results[ask.askId] === undefined);
}

export const batchSettled = (batch: AskBatch): boolean => pendingAsks(batch).length === 0;

/** The settled asks of the batch, in the order they were made. */
export function settledAsks(batch: AskBatch): SettledAsk[] {
  return batch.asks.flatMap((ask) => {
    const result = batch.results[ask.askId];
    return result === undefined ? [] : [{ ...ask, result }];
  });
}

/** Settles every pending ask as timed out (the machine stops their actors alongside). */
export function timeOutPending(context: TeamRunContext, timeoutMs: number): Partial<Pick<TeamRunContext, "batch" | "participation">> {
  let next: TeamRunContext = context;
  for (const ask of pendingAsks(context.batch)) {
    const error: WireError = { code: "TIMEOUT", message: `no answer within ${timeoutMs} ms`, retryable: false };
    next = { ...next, ...settleAsk(next, ask.askId, { ok: false, error }) };
  }
  return { batch: next.batch, participation: next.participation };
}

/** `team.member.failed` for each failed ask of the batch, in ask order. */
export function failureEvents(asks: readonly SettledAsk[]): TeamEvent[] {
  return asks.flatMap((ask): TeamEvent[] =>
    ask.result.ok ? [] : [{ type: "team.member.failed", agentId: ask.input.agentId, purpose: ask.input.purpose, error: ask.result.error }],
  );
}

/** Token usage and cost summed over every member. */
export function totals(participation: readonly TeamParticipation[]): { usage: TokenUsage; costMicroUsd: number } {
  const usage = zeroUsage();
  let costMicroUsd = 0;
  for (const entry of participation) {
    usage.promptTokens += entry.tokens.promptTokens;
    usage.completionTokens += entry.tokens.completionTokens;
    costMicroUsd += entry.costMicroUsd;
  }
  return { usage, costMicroUsd };
}

/** Ends the run: status, answer or error, and the final event (with the totals) in the log. */
export function finishRun(
  context: TeamRunContext,
  end: { status: "COMPLETED"; answer: string } | { status: "FAILED" | "CANCELLED"; error: WireError },
): Pick<TeamRunContext, "status" | "answer" | "error" | "log"> {
  const sums = { participation: context.participation, ...totals(context.participation) };
  if (end.status === "COMPLETED") {
    return { status: end.status, answer: end.answer, error: null, log: appendLog(context.log, { type: "team.completed", answer: end.answer, ...sums }) };
  }
  const type = end.status === "FAILED" ? "team.failed" : "team.cancelled";
  return { status: end.status, answer: null, error: end.error, log: appendLog(context.log, { type, error: end.error, ...sums }) };
}

/** The machine's output, from a finished context. */
export function runOutput(context: TeamRunContext): TeamRunOutput {
  const status = context.status ?? "FAILED";
  return {
    status,
    ...(context.answer !== null ? { answer: context.answer } : {}),
    ...(context.error !== null ? { error: context.error } : {}),
    participation: context.participation,
    ...totals(context.participation),
    results: context.results,
    log: context.log,
  };
}

/** Members by priority, highest first, ties by agent id: who leads or synthesises when no role says. */
export function byPriorityDesc(members: readonly TeamMemberInfo[]): TeamMemberInfo[] {
  return [...members].sort((a, b) => b.priority - a.priority || (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
}

/** The placeholder every team machine declares; the wiring and tests provide the real one. */
export const askMemberNotProvided = fromPromise<MemberAnswer, AskMemberInput>(async () => {
  throw new NeuroflowError("INTERNAL", "askMember is not provided");
});
