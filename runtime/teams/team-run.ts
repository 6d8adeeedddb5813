import { NeuroflowError, type TeamEvent, type TeamLogEntry, type TeamParticipation, type TeamStructure, type TokenUsage, type WireError } from "../protocol/index.js";
import type { AskMemberInput, MemberAnswer, TeamMemberInfo, TeamRunInput, TeamRunOutput, TeamRunStatus } from "../machines/team.js";

/**
 * The bookkeeping every team machine shares, as pure functions over its context: the log (with
 * `seq`), participation and cost, and batches of parallel member asks. A machine opens a batch
 * (ask ids `ask-1`, `ask-2`, … over the whole run), runs it as one `askMember` child (id: the
 * batch's id), settles its asks from the child's `team.asks.settled` events, and moves on once the
 * batch is settled. Results are read back in the order the asks were made, so processing never
 * depends on which member answered first.
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

/** The asks in flight together; `results` is keyed by ask id. `id` names the child that runs them ("" before the first batch). */
export interface AskBatch {
  id: string;
  asks: OpenAsk[];
  results: Record<string, AskResult>;
}

/** How one ask of a batch ended, as the batch's child reports it: the answer, or what it rejected with. */
export type AskSettlement = { askId: string; ok: true; answer: MemberAnswer } | { askId: string; ok: false; error: unknown };

/** What every team machine's context has besides its structure's own state. */
export interface TeamRunContext {
  run: TeamRunInput;
  /** What makes the team unable to run at all (checked before anyone is asked), or null. */
  problem: WireError | null;
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
export function startRun(run: TeamRunInput, structure: TeamStructure, problem: WireError | null = null): TeamRunContext {
  return {
    run,
    problem,
    log: [{ seq: 1, event: { type: "team.started", structure, members: run.members.map((member) => member.agentId) } }],
    participation: run.members.map((member) => ({ agentId: member.agentId, calls: 0, failures: 0, tokens: zeroUsage(), costMicroUsd: 0 })),
    batch: { id: "", asks: [], results: {} },
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

/** Opens a new batch (the previous one must be settled) and counts a call per ask. Its id is `asks-<id of its first ask>`. */
export function openAsks(context: TeamRunContext, requests: readonly AskRequest[]): Pick<TeamRunContext, "batch" | "askCount" | "participation"> {
  const asks = requests.map((request, index) => ({ ...request, askId: `ask-${context.askCount + index + 1}` }));
  const calls = new Map<string, number>();
  for (const ask of asks) calls.set(ask.input.agentId, (calls.get(ask.input.agentId) ?? 0) + 1);
  return {
    batch: { id: `asks-${context.askCount + 1}`, asks, results: {} },
    askCount: context.askCount + asks.length,
    participation: context.participation.map((entry) => ({ ...entry, calls: entry.calls + (calls.get(entry.agentId) ?? 0) })),
  };
}

/**
 * Records the result of one ask: its tokens and cost, or a failure. An id outside the open batch
 * (or settled already) changes nothing: a late event from an ask the team stopped waiting for.
 */
export function settleAsk(context: TeamRunContext, askId: string, result: AskResult): Partial<Pick<TeamRunContext, "batch" | "participation">> {
  return settleAsks(context, [{ askId, result }]);
}

/**
 * {@link settleAsk} for several results at once, in order, copying the batch and participation
 * once. Returns `{}` when none of them belongs to the open batch.
 */
export function settleAsks(context: TeamRunContext, settled: ReadonlyArray<{ askId: string; result: AskResult }>): Partial<Pick<TeamRunContext, "batch" | "participation">> {
  const { batch } = context;
  let results: Record<string, AskResult> | undefined;
  let participation: TeamParticipation[] | undefined;
  for (const { askId, result } of settled) {
    const ask = batch.asks.find((candidate) => candidate.askId === askId);
    if (ask === undefined || (results ?? batch.results)[askId] !== undefined) continue;
    results ??= { ...batch.results };
    results[askId] = result;
    participation ??= [...context.participation];
    const index = participation.findIndex((entry) => entry.agentId === ask.input.agentId);
    const entry = participation[index];
    if (entry === undefined) continue;
    if (!result.ok) {
      participation[index] = { ...entry, failures: entry.failures + 1 };
      continue;
    }
    const { usage, costMicroUsd } = result.answer;
    participation[index] = {
      ...entry,
      tokens: { promptTokens: entry.tokens.promptTokens + usage.promptTokens, completionTokens: entry.tokens.completionTokens + usage.completionTokens },
      costMicroUsd: entry.costMicroUsd + costMicroUsd,
    };
  }
  if (results === undefined || participation === undefined) return {};
  return { batch: { id: batch.id, asks: batch.asks, results }, participation };
}

/** An ask's result from its settlement: a rejection becomes the wire error it carries (INTERNAL for anything but a NeuroflowError). */
export function askResultOf(settlement: AskSettlement): { askId: string; result: AskResult } {
  if (settlement.ok) return { askId: settlement.askId, result: { ok: true, answer: settlement.answer } };
  return { askId: settlement.askId, result: { ok: false, error: NeuroflowError.toWire(settlement.error) } };
}

/** The asks of the open batch still waiting for a result. */
export function pendingAsks(batch: AskBatch): OpenAsk[] {
  return batch.asks.filter((ask) => batch.results[ask.askId] === undefined);
}

export const batchSettled = (batch: AskBatch): boolean => batch.asks.every((ask) => batch.results[ask.askId] !== undefined);

/** The settled asks of the batch, in the order they were made. */
export function settledAsks(batch: AskBatch): SettledAsk[] {
  return batch.asks.flatMap((ask) => {
    const result = batch.results[ask.askId];
    return result === undefined ? [] : [{ ...ask, result }];
  });
}

/** Settles every pending ask as timed out (the machine stops the batch's child alongside). */
export function timeOutPending(context: TeamRunContext, timeoutMs: number): Partial<Pick<TeamRunContext, "batch" | "participation">> {
  const error: WireError = { code: "TIMEOUT", message: `no answer within ${timeoutMs} ms`, retryable: false };
  return settleAsks(
    context,
    pendingAsks(context.batch).map((ask) => ({ askId: ask.askId, result: { ok: false, error } })),
  );
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
