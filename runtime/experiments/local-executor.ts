import { createActor, toPromise, type Actor } from "xstate";
import { createCallModel, modelCallActions } from "../actors/call-model.actor.js";
import { agentMachine, type TaskOutcome } from "../machines/agent.machine.js";
import { askMemberActor, teamMachineFor, type AskMember, type TeamRunInput } from "../machines/team.js";
import { NeuroflowError, type AgentTask, type TeamRunMember } from "../protocol/index.js";
import { defaultPrices, type PriceTable } from "../providers/prices.js";
import { ProviderRegistry } from "../providers/provider.js";
import { createSimulatedProvider } from "../providers/simulated.provider.js";
import { coordinationOf } from "./grid.js";
import { seededUuid, teamMembersFor } from "./members.js";
import type { TrialExecutor } from "./runner.js";

/**
 * The in-process runtime of experiments: each trial's team machine asks its members through agent
 * machine actors living in this process, each calling the simulated model — the same machines and
 * model effect a runtime worker hosts, without NATS, JetStream or snapshots. What the networked
 * executor (bus-executor.ts) does across the pool, this does in one event loop.
 */

export interface LocalExecutorOptions {
  /** Prices the model calls; default the shipped table (the simulated model is free). */
  prices?: PriceTable;
  /** Monotonic milliseconds for trial latency and member durations; default `performance.now`. */
  now?: () => number;
  /** The wall clock for the tasks' `submittedAt`; default `new Date()`. */
  clock?: () => Date;
}

/** The organization id local trials run under (no tenant exists in-process). */
export const LOCAL_ORG_ID = "00000000-0000-4000-8000-000000000000";

type AgentActor = Actor<typeof agentMachine>;

/**
 * Gives `task` to the agent and resolves with its outcome once the agent has one. Aborting `signal`
 * cancels the task (the outcome is then CANCELLED). Rejects only when the actor itself crashes.
 */
function runAgentTask(actor: AgentActor, task: AgentTask, signal: AbortSignal): Promise<TaskOutcome> {
  return new Promise<TaskOutcome>((resolve, reject) => {
    const cancel = () => actor.send({ type: "task.cancel", executionId: task.executionId });
    const finish = (settle: () => void) => {
      subscription.unsubscribe();
      signal.removeEventListener("abort", cancel);
      settle();
    };
    const subscription = actor.subscribe({
      next: (snapshot) => {
        const last = snapshot.context.last;
        if (last?.executionId === task.executionId) finish(() => resolve(last));
      },
      error: (error) => finish(() => reject(error)),
    });
    signal.addEventListener("abort", cancel, { once: true });
    actor.send({ type: "task.received", task });
    if (signal.aborted) cancel();
  });
}

/**
 * A TrialExecutor that runs every trial in this process. Per trial: one fresh agent actor per
 * member (ids derived from the trial seed), the structure's team machine asking them, everything
 * stopped when the trial ends. Deterministic in (cell, task, trial seed) except for the measured
 * latency. Aborting the trial's signal cancels the team, which ends CANCELLED. A team machine that
 * crashes rejects the trial (the runner records it as FAILED).
 */
export function createLocalExecutor(options: LocalExecutorOptions = {}): TrialExecutor {
  const now = options.now ?? (() => performance.now());
  const clock = options.clock ?? (() => new Date());
  const providers = new ProviderRegistry([createSimulatedProvider()]);
  const modelCalls = modelCallActions(createCallModel({ providers, prices: options.prices ?? defaultPrices }));
  const machine = agentMachine.provide({ actions: modelCalls.actions });

  return async (cell, task, trialSeed, { signal }) => {
    const started = now();
    const agentIds = cell.members.map((_, index) => seededUuid(trialSeed, "agent", index));
    const members = teamMembersFor(cell, trialSeed, agentIds);
    const agents = new Map<string, { member: TeamRunMember; actor: AgentActor }>(
      members.map((member) => [member.agentId, { member, actor: createActor(machine, { input: { orgId: LOCAL_ORG_ID, agentId: member.agentId } }) }]),
    );
    let asks = 0;
    const askMember: AskMember = async (input, askSignal) => {
      const agent = agents.get(input.agentId);
      if (!agent) throw new NeuroflowError("NOT_FOUND", `agent ${input.agentId} is not a member of this team`);
      asks += 1;
      const agentTask: AgentTask = {
        type: "agent.task",
        executionId: seededUuid(trialSeed, "ask", asks),
        orgId: LOCAL_ORG_ID,
        agentId: input.agentId,
        prompt: input.prompt,
        agent: agent.member.profile,
        submittedAt: clock().toISOString(),
        ...(input.timeoutMs !== undefined ? { limits: { timeoutMs: input.timeoutMs } } : {}),
        ...(input.answerKey !== undefined ? { answerKey: input.answerKey } : {}),
      };
      const asked = now();
      const outcome = await runAgentTask(agent.actor, agentTask, askSignal);
      if (!outcome.ok) throw NeuroflowError.fromWire(outcome.error);
      return { text: outcome.answer.text, usage: outcome.answer.usage, costMicroUsd: outcome.answer.costMicroUsd, durationMs: Math.max(0, Math.round(now() - asked)) };
    };

    const input: TeamRunInput = {
      orgId: LOCAL_ORG_ID,
      teamId: seededUuid(trialSeed, "team"),
      executionId: seededUuid(trialSeed, "execution"),
      task: { prompt: task.prompt, answerKey: task.answerKey },
      members: members.map(({ profile: _profile, ...info }) => info),
      coordination: coordinationOf(cell),
      seed: trialSeed,
    };
    const team = createActor(teamMachineFor(cell.structure).provide({ actors: { askMember: askMemberActor(askMember) } }), { input });
    const cancel = () => team.send({ type: "team.cancel" });
    signal.addEventListener("abort", cancel, { once: true });
    try {
      for (const agent of agents.values()) agent.actor.start();
      team.start();
      if (signal.aborted) cancel();
      const output = await toPromise(team);
      return {
        ...(output.answer !== undefined ? { answer: output.answer } : {}),
        status: output.status,
        usage: output.usage,
        costMicroUsd: output.costMicroUsd,
        latencyMs: Math.max(0, now() - started),
      };
    } finally {
      signal.removeEventListener("abort", cancel);
      team.stop();
      for (const agent of agents.values()) {
        agent.actor.stop();
        // A stopped actor runs no exit actions: abort its model call here.
        modelCalls.abort(agent.actor);
      }
    }
  };
}
