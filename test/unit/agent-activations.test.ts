import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { waitFor } from "xstate";
import { connectToBus } from "../../common/nats-connect.js";
import { shardOf, type AgentStatusChanged, type AgentTask } from "../../runtime/protocol/index.js";
import { defaultPrices } from "../../runtime/providers/prices.js";
import { providersFromEnv } from "../../runtime/providers/registry-from-env.js";
import { AgentActivations } from "../../runtime/system/agent-activations.js";
import { atRest, type HostedAgent } from "../../runtime/system/hosted-agent.js";
import { SnapshotStore } from "../../common/snapshot-store.js";
import { testLogger } from "../support/harness.js";

/**
 * The three tiers of a worker's agents (live actor, resting snapshot text, store only) against a
 * real JetStream KV bucket of this file's own; the model is the simulated provider at 0 latency.
 */
describe("agent activations: live, resting, passivated", () => {
  let nc: NatsConnection;
  let kv: KV;
  const bucket = `test_activations_${process.pid}_${Date.now()}`;
  const orgId = crypto.randomUUID();
  let activations: AgentActivations;
  let events: AgentStatusChanged[];
  let mayWrite: (shard: number) => boolean;

  beforeAll(async () => {
    nc = await connectToBus({ servers: inject("natsUrl"), name: "test-activations", credsFile: inject("natsCredsFile") });
    kv = await new Kvm(nc).create(bucket, { history: 1 });
  });

  afterAll(async () => {
    await kv?.destroy().catch(() => undefined);
    await nc?.close();
  });

  /** The real store, whose writes wait while `hold` is set (to look at a save in flight). */
  class HeldStore extends SnapshotStore {
    hold: Promise<void> | undefined;
    override async saveJson(orgId: string, agentId: string, json: string, revision: number): Promise<number> {
      await this.hold;
      return super.saveJson(orgId, agentId, json, revision);
    }
  }
  let store: HeldStore;

  function fresh(): AgentActivations {
    events = [];
    store = new HeldStore(kv);
    mayWrite = () => true;
    activations = new AgentActivations({
      workerId: "test-activations",
      providers: providersFromEnv({}, { simulated: { latencyMs: 0 } }),
      prices: defaultPrices,
      snapshots: store,
      logger: testLogger,
      now: Date.now,
      onEvents: (_hosted, produced) => events.push(...produced),
      mayWrite: (shard) => mayWrite(shard),
      snapshotDelayMs: 10,
    });
    return activations;
  }

  afterEach(() => {
    for (const hosted of activations?.all() ?? []) activations.drop(hosted);
  });

  function task(agentId: string, prompt: string): AgentTask {
    return {
      type: "agent.task",
      executionId: crypto.randomUUID(),
      orgId,
      agentId,
      prompt,
      agent: { name: "Tester", personality: {}, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: [] },
      submittedAt: new Date().toISOString(),
    };
  }

  /** Gives the agent a task and waits for its outcome. */
  async function work(hosted: HostedAgent, prompt: string): Promise<void> {
    const given = task(hosted.agentId, prompt);
    hosted.actor.send({ type: "task.received", task: given });
    await waitFor(hosted.actor, (snapshot) => snapshot.context.last?.executionId === given.executionId);
  }

  async function until(check: () => boolean, what: string): Promise<void> {
    for (let waited = 0; !check(); waited += 5) {
      if (waited > 5_000) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it("rests an agent once its save lands, and serves its next task from the snapshot text without a store read", async () => {
    fresh();
    const agentId = crypto.randomUUID();
    const hosted = await activations.activate(orgId, agentId);
    expect(activations.storeReads).toBe(1);
    await work(hosted, "Remember the codeword: heliotrope.");
    await until(() => activations.restingCount === 1, "the agent to rest");
    expect(activations.get(agentId)).toBeUndefined();
    expect(activations.liveCount).toBe(0);
    expect(activations.size).toBe(1);
    expect(hosted.actor.getSnapshot().status).toBe("stopped");

    const woken = await activations.activate(orgId, agentId);
    expect(woken).not.toBe(hosted);
    expect(activations.storeReads).toBe(1);
    expect(woken.revision).toBe(hosted.revision);
    expect(woken.actor.getSnapshot().context.memory).toEqual(hosted.actor.getSnapshot().context.memory);
    await work(woken, "What was the codeword?");
    expect(woken.actor.getSnapshot().context.memory.map((exchange) => exchange.prompt)).toEqual([
      "Remember the codeword: heliotrope.",
      "What was the codeword?",
    ]);
    // Its save continues from the revision it rested at: no CONFLICT, the store has both exchanges.
    await until(() => activations.restingCount === 1, "the agent to rest again");
    expect(woken.revision).toBeGreaterThan(hosted.revision);
    const stored = await new SnapshotStore(kv).load(orgId, agentId);
    expect(stored?.revision).toBe(woken.revision);
    expect(JSON.stringify(stored?.snapshot)).toContain("What was the codeword?");
    // Waking announced nothing: the events are the two tasks' (and the new agent's first IDLE).
    expect(events.filter((event) => !event.execution).map((event) => event.status)).toEqual(["IDLE"]);
  });

  it("forgets the resting agents of a shard it lost: the next activation reads the store", async () => {
    fresh();
    const agentId = crypto.randomUUID();
    await work(await activations.activate(orgId, agentId), "first");
    await until(() => activations.restingCount === 1, "the agent to rest");
    expect(activations.forgetShard((shardOf(agentId) + 1) % 32)).toBe(0);
    expect(activations.forgetShard(shardOf(agentId))).toBe(1);
    expect(activations.size).toBe(0);
    const back = await activations.activate(orgId, agentId);
    expect(activations.storeReads).toBe(2);
    expect(back.actor.getSnapshot().context.memory.map((exchange) => exchange.prompt)).toEqual(["first"]);
  });

  it("evicts resting agents idle past the passivation period, and rests clean live ones at a sweep", async () => {
    fresh();
    const [worked, untouched] = [crypto.randomUUID(), crypto.randomUUID()];
    await work(await activations.activate(orgId, worked), "first");
    await until(() => activations.restingCount === 1, "the agent to rest");
    // An agent that never had a task has nothing to save: a sweep rests it at once.
    await activations.activate(orgId, untouched);
    expect(await activations.passivateIdle(60_000)).toBe(0);
    expect([activations.liveCount, activations.restingCount]).toEqual([0, 2]);
    expect(await activations.passivateIdle(0)).toBe(2);
    expect(activations.size).toBe(0);
    const reads = activations.storeReads;
    const back = await activations.activate(orgId, worked);
    expect(activations.storeReads).toBe(reads + 1);
    expect(back.actor.getSnapshot().context.memory).toHaveLength(1);
  });

  it("does not put an agent to rest when it was activated for a task while its save was on the way", async () => {
    fresh();
    const agentId = crypto.randomUUID();
    const first = await activations.activate(orgId, agentId);
    let release: () => void = () => undefined;
    store.hold = new Promise<void>((resolve) => (release = resolve));
    await work(first, "first");
    await until(() => first.saving !== undefined, "the save to start");
    // A caller takes the agent for a task (it sends it right after) while the save is in flight.
    const claimed = await activations.activate(orgId, agentId);
    expect(claimed).toBe(first);
    const saving = first.saving;
    release();
    await saving;
    expect(claimed.revision).toBeGreaterThan(0);
    expect(activations.get(agentId)).toBe(claimed);
    expect(claimed.actor.getSnapshot().status).toBe("active");
    // So does passivation that started before the claim.
    const passivated = activations.passivate(claimed);
    expect(await activations.activate(orgId, agentId)).toBe(claimed);
    expect(await passivated).toBe(false);
    await work(claimed, "second");
    expect(claimed.actor.getSnapshot().context.memory).toHaveLength(2);
  });

  it("neither saves nor rests an agent whose shard it may no longer write", async () => {
    fresh();
    const agentId = crypto.randomUUID();
    const hosted = await activations.activate(orgId, agentId);
    mayWrite = () => false;
    await work(hosted, "first");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(hosted.dirty).toBe(true);
    expect(activations.get(agentId)).toBe(hosted);
    expect(atRest(hosted)).toBe(true);
    expect(await new SnapshotStore(kv).load(orgId, agentId)).toBeUndefined();
  });
});
