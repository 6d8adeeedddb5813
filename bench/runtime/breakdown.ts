import { randomUUID } from "node:crypto";
import type { KV } from "@nats-io/kv";
import { createActor, type Actor } from "xstate";
import { createLogger } from "../../common/logger.js";
import { createCallModel, modelCallActions } from "../../runtime/actors/call-model.actor.js";
import { agentMachine } from "../../runtime/machines/agent.machine.js";
import { defaultPrices } from "../../runtime/providers/prices.js";
import { providersFromEnv } from "../../runtime/providers/registry-from-env.js";
import {
  agentTaskSchema,
  decodeJson,
  encodeJson,
  parseSubject,
  shardOf,
  subjects,
  type AgentStatusChanged,
  type AgentTask,
} from "../../runtime/protocol/index.js";
import { AgentActivations } from "../../runtime/system/agent-activations.js";
import type { HostedAgent } from "../../runtime/system/hosted-agent.js";
import { StatusCoalescer } from "../../runtime/system/status-events.js";
import { SnapshotStore } from "../../common/snapshot-store.js";
import { benchTask } from "./calls.js";

/** CPU per agent call of one layer of the worker's call path, measured in this process without NATS. */
export interface BreakdownStage {
  stage: string;
  /** CPU microseconds per call (user + system) with this layer and those above it. */
  cpuUsPerCall: number;
  /** What this layer adds over the previous stage. */
  addedUs: number;
}

/** Options of {@link measureBreakdown}. */
export interface BreakdownOptions {
  /** Calls per stage and round (after a warm-up of the same size / 4). */
  calls: number;
  /** Agents the calls are spread over, all in flight at once. */
  agents: number;
  /** Rounds over all stages; each stage reports its lowest figure (other load only adds). */
  rounds: number;
}

/**
 * A KV bucket that answers at once (creates and updates bump a revision; nothing is stored): the
 * snapshot store's serialization is measured, JetStream is not.
 */
function instantKv(): KV {
  let revision = 0;
  const kv = {
    get: () => Promise.resolve(null),
    put: () => Promise.resolve(++revision),
    update: () => Promise.resolve(++revision),
  };
  return kv as unknown as KV;
}

/**
 * Runs `calls` calls over `agents` lanes (one agent each) and returns CPU µs per call. Each lane
 * yields to the event loop after each call, as calls arriving from a socket do (and the status
 * events of the tick are flushed).
 */
async function cpuPerCall(calls: number, agents: number, call: (lane: number) => Promise<void>): Promise<number> {
  const lanes = async (count: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: agents }, async (_, lane) => {
        while (next++ < count) {
          await call(lane);
          await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );
  };
  await lanes(Math.ceil(calls / 4));
  const before = process.cpuUsage();
  await lanes(calls);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / calls;
}

/** Resolves when the actor's last outcome is `executionId`'s. */
function outcomes(actor: Actor<typeof agentMachine>): (executionId: string) => Promise<void> {
  const waiting = new Map<string, () => void>();
  actor.subscribe((snapshot) => {
    const id = snapshot.context.last?.executionId;
    if (id === undefined) return;
    waiting.get(id)?.();
    waiting.delete(id);
  });
  return (executionId) => new Promise<void>((resolve) => waiting.set(executionId, resolve));
}

/**
 * Where a worker's CPU goes per agent call, layer by layer, with the real runtime modules in this
 * process and no NATS: the agent machine alone; AgentActivations (status events, no snapshot
 * write); + snapshot saves and rests as AgentActivations schedules them, on an instant KV; + the
 * rest of a call's work in AgentHost (subject parse, zod decode of the task, the encoded reply,
 * then the status events coalesced per tick and encoded — emulated, since AgentHost's handlers are
 * private); and that last stage without zod, to size that proposal.
 */
export async function measureBreakdown(options: BreakdownOptions): Promise<BreakdownStage[]> {
  const providers = providersFromEnv({}, { simulated: { latencyMs: 0 } });
  const machine = agentMachine.provide({ actions: modelCallActions(createCallModel({ providers, prices: defaultPrices })).actions });
  const orgId = randomUUID();
  const agentIds = Array.from({ length: options.agents }, () => randomUUID());
  const logger = createLogger("bench-breakdown", { level: "warn" });
  const stages: Array<{ stage: string; run: () => Promise<number> }> = [];

  // 1. The agent machine alone: task in, model call (simulated, 0 ms), outcome.
  const machineOnly = async () => {
    const actors = agentIds.map((agentId) => {
      const actor = createActor(machine, { input: { orgId, agentId } });
      const done = outcomes(actor);
      actor.start();
      return { actor, done };
    });
    const us = await cpuPerCall(options.calls, options.agents, async (lane) => {
      const { actor, done } = actors[lane]!;
      const task = benchTask(orgId, agentIds[lane]!);
      const finished = done(task.executionId);
      actor.send({ type: "task.received", task });
      await finished;
    });
    for (const { actor } of actors) actor.stop();
    return us;
  };
  stages.push({ stage: "agent machine (XState) + simulated provider", run: machineOnly });

  /** AgentActivations with the given store and host-like event handling. */
  const activationsStage = async (config: { save: boolean; hostWork: boolean; zod: boolean }): Promise<number> => {
    const waiting = new Map<string, () => void>();
    const statusOut = new StatusCoalescer((event) => void encodeJson(event));
    const onEvents = (_hosted: HostedAgent, events: AgentStatusChanged[]) => {
      for (const event of events) {
        const execution = event.execution;
        if (execution && execution.status !== "RUNNING") {
          // AgentHost.#answerCall: the reply encoded, before the status event.
          if (config.hostWork) encodeJson({ ok: true, workerId: "bench", execution });
          waiting.get(execution.executionId)?.();
        }
        // AgentHost.#publish: coalesced per agent and tick, then encoded and published.
        if (config.hostWork) statusOut.push(event);
      }
    };
    const activations = new AgentActivations({
      workerId: "bench",
      providers,
      prices: defaultPrices,
      snapshots: new SnapshotStore(instantKv()),
      logger,
      now: Date.now,
      onEvents,
      mayWrite: () => config.save,
      onDrop: () => undefined,
    });
    await Promise.all(agentIds.map((agentId) => activations.activate(orgId, agentId)));
    const us = await cpuPerCall(options.calls, options.agents, async (lane) => {
      const agentId = agentIds[lane]!;
      let task: AgentTask = benchTask(orgId, agentId);
      if (config.hostWork) {
        // AgentHost.#onCall: subject parsed, task decoded from the wire and checked, shard found.
        const subject = subjects.agentCall(orgId, agentId);
        const bytes = encodeJson(task);
        parseSubject(subject);
        task = config.zod ? decodeJson(agentTaskSchema, bytes, "agent call") : (JSON.parse(new TextDecoder().decode(bytes)) as AgentTask);
        shardOf(task.agentId);
      }
      const finished = new Promise<void>((resolve) => waiting.set(task.executionId, resolve));
      // AgentHost.#route: the live agent, or the resting one brought back (no store read).
      const hosted = activations.wake(agentId) ?? (await activations.activate(orgId, agentId));
      hosted.actor.send({ type: "task.received", task });
      await finished;
      waiting.delete(task.executionId);
    });
    for (const agent of activations.all()) activations.drop(agent);
    return us;
  };

  const layer = (stage: string, config: Parameters<typeof activationsStage>[0]) => stages.push({ stage, run: () => activationsStage(config) });
  layer("+ AgentActivations: status events, no snapshot write", { save: false, hostWork: false, zod: true });
  layer("+ snapshot saves and rests (coalesced, ≤ 1/s per agent; instant KV)", { save: true, hostWork: false, zod: true });
  layer("+ AgentHost call work (zod decode, reply, status events coalesced + encoded)", { save: true, hostWork: true, zod: true });
  layer("  stage 4 without zod (JSON.parse)", { save: true, hostWork: true, zod: false });

  const best = stages.map(() => Number.POSITIVE_INFINITY);
  for (let round = 0; round < options.rounds; round++) {
    for (const [i, stage] of stages.entries()) best[i] = Math.min(best[i]!, await stage.run());
  }
  return stages.map((stage, i) => ({
    stage: stage.stage,
    cpuUsPerCall: best[i]!,
    // The variant compares with the full stage 4; the layers with the one before them.
    addedUs: i === 0 ? best[0]! : best[i]! - (i >= 4 ? best[3]! : best[i - 1]!),
  }));
}
