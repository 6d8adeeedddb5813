import { NeuroflowError } from "./errors.js";
import { SUBJECT_TOKEN } from "./ids.js";

/**
 * The one place NATS subjects are built and parsed. Layout: `nf.<orgId>.<kind>.<id>.<verb>`.
 * The org is the first token after the prefix, so `nf.<orgId>.>` scopes a tenant both for
 * wildcard subscriptions and for NATS user permissions.
 */
export const SUBJECT_PREFIX = "nf";

function token(value: string, what: string): string {
  if (!SUBJECT_TOKEN.test(value)) {
    throw new NeuroflowError("INVALID_SUBJECT", `${what} is not a valid subject token: ${JSON.stringify(value)}`);
  }
  return value;
}

function shardToken(shard: number): string {
  if (!Number.isInteger(shard) || shard < 0) throw new NeuroflowError("INVALID_SUBJECT", `not a shard number: ${shard}`);
  return String(shard);
}

export const subjects = {
  /** Tasks for one agent: the control plane publishes, the worker hosting the agent consumes. */
  agentTask: (orgId: string, agentId: string) =>
    `${SUBJECT_PREFIX}.${token(orgId, "orgId")}.agent.${token(agentId, "agentId")}.task`,
  /**
   * Tasks whose caller waits for the outcome (request/reply, no ledger row): team actors asking
   * their members, benchmarks. The reply is an AgentCallReply once the task has ended.
   */
  agentCall: (orgId: string, agentId: string) =>
    `${SUBJECT_PREFIX}.${token(orgId, "orgId")}.agent.${token(agentId, "agentId")}.call`,
  /** `agent.status.changed` events of one agent. */
  agentStatus: (orgId: string, agentId: string) =>
    `${SUBJECT_PREFIX}.${token(orgId, "orgId")}.agent.${token(agentId, "agentId")}.status`,
  /**
   * Cancel requests for one agent's tasks: the control plane requests, every runtime worker
   * listens (no queue group) and only the one holding the execution answers.
   */
  agentCancel: (orgId: string, agentId: string) =>
    `${SUBJECT_PREFIX}.${token(orgId, "orgId")}.agent.${token(agentId, "agentId")}.cancel`,
  /**
   * The durable task queue of one shard (JetStream stream NF_TASKS): the control plane publishes
   * after the execution row commits, the worker leasing the shard consumes. `$sys` can never be an
   * org id (`$` is not a token character), so no org's `nf.<orgId>.>` permission reaches it.
   */
  taskQueue: (shard: number) => `${SUBJECT_PREFIX}.$sys.tasks.${shardToken(shard)}`,
  /** Every shard's task queue: the NF_TASKS stream's subjects. */
  anyTaskQueue: `${SUBJECT_PREFIX}.$sys.tasks.*`,
  /**
   * Where a worker receives tasks and calls another worker took for an agent this one hosts (the
   * original subject travels in a header, the reply subject unchanged).
   */
  workerForward: (workerId: string) => `${SUBJECT_PREFIX}.$sys.worker.${token(workerId, "workerId")}.forward`,
  /** Status events of every agent of one org: only services publish them (the ledger trusts them). */
  orgAgentStatus: (orgId: string) => `${SUBJECT_PREFIX}.${token(orgId, "orgId")}.agent.*.status`,
  /** Coordination log entries of every team execution of one org: only services publish them. */
  orgTeamExecEvents: (orgId: string) => `${SUBJECT_PREFIX}.${token(orgId, "orgId")}.team.*.exec.*.event`,
  /** Everything of one organization: the tenant's permission and subscription scope. */
  org: (orgId: string) => `${SUBJECT_PREFIX}.${token(orgId, "orgId")}.>`,
  /** Agent tasks of every org (service subscriptions of runtime workers). */
  anyAgentTask: `${SUBJECT_PREFIX}.*.agent.*.task`,
  /** Agent calls of every org (runtime workers, queue group). */
  anyAgentCall: `${SUBJECT_PREFIX}.*.agent.*.call`,
  /** Cancel requests of every org (runtime workers, each on its own: no queue group). */
  anyAgentCancel: `${SUBJECT_PREFIX}.*.agent.*.cancel`,
  /** Agent status events of every org (the control plane's relay). */
  anyAgentStatus: `${SUBJECT_PREFIX}.*.agent.*.status`,
  /** Coordination log entries of one team execution (TeamExecEvents, one message per step): the team actor publishes, the control plane relays and stores. */
  teamExecEvents: (orgId: string, teamId: string, executionId: string) =>
    `${SUBJECT_PREFIX}.${token(orgId, "orgId")}.team.${token(teamId, "teamId")}.exec.${token(executionId, "executionId")}.event`,
  /** Cancel requests for one team execution (TeamExecCancel): only the worker running it answers. */
  teamExecCancel: (orgId: string, teamId: string, executionId: string) =>
    `${SUBJECT_PREFIX}.${token(orgId, "orgId")}.team.${token(teamId, "teamId")}.exec.${token(executionId, "executionId")}.cancel`,
  /** Runs of one team execution (TeamRunRequest): runtime workers, queue group; the reply is a TeamRunReply. */
  teamExecRun: (orgId: string, teamId: string, executionId: string) =>
    `${SUBJECT_PREFIX}.${token(orgId, "orgId")}.team.${token(teamId, "teamId")}.exec.${token(executionId, "executionId")}.run`,
  /** Team runs of every org (runtime workers). */
  anyTeamExecRun: `${SUBJECT_PREFIX}.*.team.*.exec.*.run`,
  /** Team execution events of every org (the control plane's relay). */
  anyTeamExecEvent: `${SUBJECT_PREFIX}.*.team.*.exec.*.event`,
  /** Team execution cancel requests of every org (runtime workers, each on its own). */
  anyTeamExecCancel: `${SUBJECT_PREFIX}.*.team.*.exec.*.cancel`,
} as const;

export type ParsedSubject =
  | { kind: "agent.task"; orgId: string; agentId: string }
  | { kind: "agent.call"; orgId: string; agentId: string }
  | { kind: "agent.status"; orgId: string; agentId: string }
  | { kind: "agent.cancel"; orgId: string; agentId: string };

/**
 * Parses a concrete subject. Throws `INVALID_SUBJECT` for anything that is not one of ours,
 * including wildcards and tokens outside `[A-Za-z0-9_-]`.
 */
export function parseSubject(subject: string): ParsedSubject {
  const parts = subject.split(".");
  const invalid = () => new NeuroflowError("INVALID_SUBJECT", `not a NeuroFlow subject: ${JSON.stringify(subject)}`);
  if (parts.length !== 5 || parts[0] !== SUBJECT_PREFIX) throw invalid();
  const [, orgId, kind, id, verb] = parts as [string, string, string, string, string];
  if (!SUBJECT_TOKEN.test(orgId) || !SUBJECT_TOKEN.test(id)) throw invalid();
  if (kind === "agent" && verb === "task") return { kind: "agent.task", orgId, agentId: id };
  if (kind === "agent" && verb === "call") return { kind: "agent.call", orgId, agentId: id };
  if (kind === "agent" && verb === "status") return { kind: "agent.status", orgId, agentId: id };
  if (kind === "agent" && verb === "cancel") return { kind: "agent.cancel", orgId, agentId: id };
  throw invalid();
}

export type ParsedTeamSubject =
  | { kind: "team.exec.event"; orgId: string; teamId: string; executionId: string }
  | { kind: "team.exec.cancel"; orgId: string; teamId: string; executionId: string }
  | { kind: "team.exec.run"; orgId: string; teamId: string; executionId: string };

/**
 * Parses a concrete team execution subject, `nf.<orgId>.team.<teamId>.exec.<executionId>.<event|cancel>`.
 * Separate from `parseSubject` so that callers of that one keep their agent-only result type.
 * Throws `INVALID_SUBJECT` for anything else, including wildcards and tokens outside `[A-Za-z0-9_-]`.
 */
export function parseTeamSubject(subject: string): ParsedTeamSubject {
  const parts = subject.split(".");
  const invalid = () => new NeuroflowError("INVALID_SUBJECT", `not a NeuroFlow team subject: ${JSON.stringify(subject)}`);
  if (parts.length !== 7) throw invalid();
  const [prefix, orgId, team, teamId, exec, executionId, verb] = parts as [string, string, string, string, string, string, string];
  if (prefix !== SUBJECT_PREFIX || team !== "team" || exec !== "exec") throw invalid();
  if (![orgId, teamId, executionId].every((part) => SUBJECT_TOKEN.test(part))) throw invalid();
  if (verb === "event") return { kind: "team.exec.event", orgId, teamId, executionId };
  if (verb === "cancel") return { kind: "team.exec.cancel", orgId, teamId, executionId };
  if (verb === "run") return { kind: "team.exec.run", orgId, teamId, executionId };
  throw invalid();
}
