import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { AskMember, AskMemberInput, MemberAnswer } from "../machines/team.js";
import { callAgent } from "../messaging/agent-client.js";
import {
  encodeJson,
  NeuroflowError,
  subjects,
  type AgentCallReply,
  type AgentCancel,
  type AgentProfile,
  type AgentTask,
  type ExecutionProgress,
} from "../protocol/index.js";

/** A member's deadline when neither the structure nor the run request sets one (the agent machine's own default). */
export const DEFAULT_MEMBER_TIMEOUT_MS = 120_000;

/**
 * How much longer than a member's deadline the caller waits for the outcome: the agent ends the
 * task itself at the deadline (TIMEOUT) and its reply still has to travel back.
 */
const CALL_SLACK_MS = 5_000;

/**
 * Runs a call in this process when the worker hosts the agent (AgentHost.callHere); undefined when
 * it does not, and the call goes over the bus.
 */
export type CallHere = (task: AgentTask) => Promise<AgentCallReply> | undefined;

export interface AskMemberDeps {
  nc: NatsConnection;
  /** Members hosted on this worker are asked in process; without it every ask crosses the bus. */
  callHere?: CallHere;
  /** The run's org and the agent profile of each member, by agent id. */
  orgId: string;
  profiles: ReadonlyMap<string, AgentProfile>;
  /** Deadline of each member call when the ask gives none (TeamRunRequest.memberTimeoutMs). */
  memberTimeoutMs?: number;
  /** Where to warn; a function is called only when there is something to log (a run's child logger costs more to bind than most runs ever log). */
  logger: Logger | (() => Logger);
  /** Injected clock and id source (tests). */
  now?: () => number;
  newId?: () => string;
}

/**
 * A member's ended execution as the team machine's answer: COMPLETED gives its text, usage, cost
 * and duration; FAILED or CANCELLED rejects with a NeuroflowError carrying the execution's wire
 * error (its `code` is what the team machine records).
 */
export function memberAnswerOf(agentId: string, execution: ExecutionProgress): MemberAnswer {
  if (execution.status === "COMPLETED") {
    return {
      text: execution.output ?? "",
      usage: execution.usage ?? { promptTokens: 0, completionTokens: 0 },
      costMicroUsd: execution.costMicroUsd ?? 0,
      durationMs: execution.durationMs ?? 0,
    };
  }
  const error = execution.error ?? { code: "INTERNAL", message: `agent ${agentId} ended ${execution.status} without an error`, retryable: false };
  throw NeuroflowError.fromWire(error);
}

/**
 * The team machines' `askMember` effect over the bus: each ask becomes an AgentTask (fresh
 * execution id, the member's profile, the ask's answer key, `limits.timeoutMs` from the ask's
 * deadline or the run's) sent as an agent call, so it runs on whichever worker hosts the member:
 * in process when that is this worker (`callHere`), else over the bus.
 * Rejects with the member's typed error (FAILED / CANCELLED outcome), TIMEOUT when no outcome
 * arrives in time, UNAVAILABLE when no worker answers, INVALID_MESSAGE for an agent that is not a
 * member. When the team stops waiting (signal aborted) or the call timed out, the member's task is
 * cancelled, fire-and-forget, so it does not run on for nobody.
 */
export function createAskMember(deps: AskMemberDeps): AskMember {
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? randomUUID;
  return async (input: AskMemberInput, signal: AbortSignal): Promise<MemberAnswer> => {
    const profile = deps.profiles.get(input.agentId);
    if (!profile) throw new NeuroflowError("INVALID_MESSAGE", `agent ${input.agentId} is not a member of this run`);
    if (signal.aborted) throw new NeuroflowError("CANCELLED", "the team stopped waiting before the member was asked");
    const deadline = input.timeoutMs ?? deps.memberTimeoutMs;
    const task: AgentTask = {
      type: "agent.task",
      executionId: newId(),
      orgId: deps.orgId,
      agentId: input.agentId,
      prompt: input.prompt,
      agent: profile,
      submittedAt: new Date(now()).toISOString(),
      ...(deadline !== undefined ? { limits: { timeoutMs: deadline } } : {}),
      ...(input.answerKey ? { answerKey: input.answerKey } : {}),
    };
    const cancel = () => {
      const request: AgentCancel = { type: "agent.cancel", executionId: task.executionId, orgId: task.orgId, agentId: task.agentId };
      try {
        deps.nc.publish(subjects.agentCancel(task.orgId, task.agentId), encodeJson(request));
      } catch (error) {
        const logger = typeof deps.logger === "function" ? deps.logger() : deps.logger;
        logger.warn({ err: error, agentId: task.agentId, memberExecutionId: task.executionId }, "could not cancel a member's task");
      }
    };
    signal.addEventListener("abort", cancel, { once: true });
    let execution: ExecutionProgress;
    try {
      const timeoutMs = (deadline ?? DEFAULT_MEMBER_TIMEOUT_MS) + CALL_SLACK_MS;
      const here = deps.callHere?.(task);
      execution = here ? await outcomeWithin(here, task.agentId, timeoutMs) : await callAgent(deps.nc, task, { timeoutMs });
    } catch (error) {
      // No outcome in time: the task may still be queued or running on the member's worker.
      if (error instanceof NeuroflowError && error.code === "TIMEOUT" && !signal.aborted) cancel();
      throw error;
    } finally {
      signal.removeEventListener("abort", cancel);
    }
    return memberAnswerOf(input.agentId, execution);
  };
}

/**
 * The ended execution of a call run in process, as `callAgent` gives one over the bus: a refused
 * call rejects with its typed error, and no reply within `timeoutMs` with TIMEOUT. The agent's own
 * deadline ends the task first; the timer only guards against a reply that never comes.
 */
async function outcomeWithin(reply: Promise<AgentCallReply>, agentId: string, timeoutMs: number): Promise<ExecutionProgress> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NeuroflowError("TIMEOUT", `agent ${agentId} did not answer within ${timeoutMs} ms`, { retryable: true })), timeoutMs);
  });
  try {
    const answered = await Promise.race([reply, late]);
    if (!answered.ok) throw NeuroflowError.fromWire(answered.error);
    return answered.execution;
  } finally {
    clearTimeout(timer);
  }
}
