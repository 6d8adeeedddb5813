import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentCallReplySchema, decodeJson, encodeJson, subjects, type AgentTask } from "../../runtime/protocol/index.js";
import { eventually } from "../support/harness.js";
import { expectExactlyOnce, TestPool } from "../support/pool.js";

/**
 * The pool's promise, end to end with real processes: three runtime workers, a control plane,
 * Postgres and a nats-server of this file's own. 500 tasks over 50 agents; one worker dies by
 * SIGKILL mid-run (nats-server dying is nats-restart.test.ts). Every task must end exactly once:
 * one terminal row each, none left behind, and no execution completed by two different runs
 * (distinct outcomes seen on the bus).
 */
describe("runtime worker pool under SIGKILL", () => {
  const pool = new TestPool();

  beforeAll(() => pool.start(["pool-a", "pool-b", "pool-c"]), 120_000);
  afterAll(() => pool.stop());

  it("completes 500 tasks over 50 agents exactly once while one of three workers is SIGKILLed", async () => {
    const { outcomes, subscription } = pool.watchOutcomes();
    const submitting = pool.submitAll(500, "kill-worker");
    // Kill a worker once work is flowing through all three.
    await eventually(async () => (outcomes.size >= 60 ? true : undefined), 30_000, "work to flow");
    const victim = pool.workers[0]!;
    victim.process.kill("SIGKILL");
    const ids = await submitting;
    const rows = await pool.allEnded(ids, 120_000);
    subscription.unsubscribe();
    expectExactlyOnce(ids, outcomes, rows);
    const byWorker = new Map<string, number>();
    for (const row of rows) byWorker.set(row.workerId ?? "", (byWorker.get(row.workerId ?? "") ?? 0) + 1);
    expect([...byWorker.keys()].sort()).toEqual(expect.arrayContaining(["pool-b", "pool-c"]));

    // Every agent serves again — including those the dead worker hosted — on the survivors.
    pool.workers = pool.workers.slice(1);
    const { org, observer } = pool;
    const replies = await Promise.all(
      org.agents.map(async (agent, i) => {
        const task: AgentTask = {
          type: "agent.task",
          executionId: crypto.randomUUID(),
          orgId: org.orgId,
          agentId: agent.id,
          prompt: `after the kill ${i}`,
          agent: { name: agent.name, personality: {}, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: [] },
          submittedAt: new Date().toISOString(),
        };
        const reply = await observer.request(subjects.agentCall(org.orgId, agent.id), encodeJson(task), { timeout: 10_000 });
        return decodeJson(agentCallReplySchema, reply.data, "call reply");
      }),
    );
    for (const reply of replies) {
      expect(reply).toMatchObject({ ok: true, execution: { status: "COMPLETED" } });
      if (reply.ok) expect(["pool-b", "pool-c"]).toContain(reply.workerId);
    }
  }, 240_000);
});
