import { randomUUID } from "node:crypto";
import type { KV } from "@nats-io/kv";
import { createActor, waitFor } from "xstate";
import { createLogger } from "../../common/logger.js";
import { createCallModel, modelCallActions } from "../../runtime/actors/call-model.actor.js";
import { agentMachine } from "../../runtime/machines/agent.machine.js";
import { defaultPrices } from "../../runtime/providers/prices.js";
import { providersFromEnv } from "../../runtime/providers/registry-from-env.js";
import { AgentActivations } from "../../runtime/system/agent-activations.js";
import { atRest } from "../../runtime/system/hosted-agent.js";
import { SnapshotStore } from "../../common/snapshot-store.js";
import { benchTask } from "./calls.js";

/**
 * Heap bytes per idle agent, piece by piece, with the real runtime modules and no NATS: what a
 * started root agent actor (with and without one finished task), its persisted
 * snapshot (as an object and as JSON text), and an agent in each AgentActivations tier (live, live
 * after a task, resting as its snapshot text) keep alive. Each
 * figure is (heap after − heap before) ÷ agents, both after full GCs. Started by run.ts with
 * `--expose-gc` and an IPC channel; sends `{ type: "result", rows }`.
 */
export interface MemoryRow {
  what: string;
  bytesPerAgent: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc || !process.send) {
  console.error("memory-child: needs --expose-gc and an IPC channel");
  process.exit(1);
}
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const agents = Number(process.env.MEMORY_AGENTS ?? 10_000);
const providers = providersFromEnv({}, { simulated: { latencyMs: 0 } });
const machine = agentMachine.provide({ actions: modelCallActions(createCallModel({ providers, prices: defaultPrices })).actions });
const orgId = randomUUID();
const logger = createLogger("bench-memory", { level: "warn" });
/** A KV bucket that answers at once and stores nothing. */
const instantKv = { get: () => Promise.resolve(null), put: () => Promise.resolve(1), update: () => Promise.resolve(2) } as unknown as KV;
const rows: MemoryRow[] = [];

async function perAgent(what: string, make: () => Promise<unknown>, release: () => void = () => undefined): Promise<void> {
  const kept: unknown[] = [];
  const before = heap();
  for (let i = 0; i < agents; i++) kept.push(await make());
  rows.push({ what, bytesPerAgent: (heap() - before) / agents });
  kept.length = 0;
  release();
}

async function actorAfterOneTask() {
  const actor = createActor(machine, { input: { orgId, agentId: randomUUID() } }).start();
  actor.send({ type: "task.received", task: benchTask(orgId, actor.getSnapshot().context.agentId) });
  await waitFor(actor, (snapshot) => snapshot.matches("idle") && snapshot.context.last !== null);
  return actor;
}

await perAgent("root agent actor, started, no task", async () => createActor(machine, { input: { orgId, agentId: randomUUID() } }).start());
await perAgent("root agent actor after one task", actorAfterOneTask);
await perAgent("its persisted snapshot as an object", async () => {
  const actor = await actorAfterOneTask();
  actor.stop();
  return JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as unknown;
});
await perAgent("its persisted snapshot as JSON text", async () => {
  const actor = await actorAfterOneTask();
  actor.stop();
  // A flat copy, so the string does not keep a sliced parent alive.
  return Buffer.from(JSON.stringify(actor.getPersistedSnapshot())).toString();
});
const tiers = [
  { what: "live agent: AgentActivations entry (actor + HostedAgent + observers), no task", task: false, save: true },
  { what: "live agent after one task (its save not landed yet)", task: true, save: false },
  { what: "resting agent after one task (its snapshot text + entry, no actor)", task: true, save: true },
];
for (const tier of tiers) {
  const activations = new AgentActivations({
    workerId: "bench",
    providers,
    prices: defaultPrices,
    snapshots: new SnapshotStore(instantKv),
    logger,
    now: Date.now,
    onEvents: () => undefined,
    // A worker that may not write keeps the agent live and dirty: what it is until its save lands.
    mayWrite: () => tier.save,
    onDrop: () => undefined,
  });
  await perAgent(
    tier.what,
    async () => {
      const hosted = await activations.activate(orgId, randomUUID());
      if (tier.task) {
        hosted.actor.send({ type: "task.received", task: benchTask(orgId, hosted.agentId) });
        await waitFor(hosted.actor, () => atRest(hosted));
        if (tier.save) await activations.save(hosted);
        if ((activations.get(hosted.agentId) === undefined) !== tier.save) throw new Error(`${tier.what}: not in the tier measured`);
      }
    },
    () => {
      for (const hosted of activations.all()) activations.drop(hosted);
      void activations.passivateIdle(0);
    },
  );
}
process.send({ type: "result", rows }, undefined, {}, () => process.exit(0));
