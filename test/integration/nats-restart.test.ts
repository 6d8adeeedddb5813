import { afterAll, beforeAll, describe, it } from "vitest";
import { eventually } from "../support/harness.js";
import { expectExactlyOnce, TestPool } from "../support/pool.js";

/**
 * Issue #5's harder half: nats-server itself dies by SIGKILL mid-run and comes back on the same
 * store directory. JetStream 2.9 acknowledges before fsync, so the stream and the KV buckets may
 * come back without their tail; Postgres is the ledger, so every accepted task (a committed
 * PENDING row) must still end exactly once: the sweeper republishes what the queue lost, the
 * outcome store and the agents' mailboxes keep a redelivered task from running twice.
 */
describe("runtime worker pool when nats-server is SIGKILLed", () => {
  const pool = new TestPool();

  beforeAll(() => pool.start(["pool-a", "pool-b", "pool-c"]), 120_000);
  afterAll(() => pool.stop());

  it("completes 500 accepted tasks over 50 agents exactly once across a nats-server SIGKILL and restart", async () => {
    const { outcomes, subscription } = pool.watchOutcomes();
    const submitting = pool.submitAll(500, "kill-nats");
    await eventually(async () => (outcomes.size >= 60 ? true : undefined), 30_000, "work to flow");
    await pool.restartNats(500);
    const ids = await submitting;
    const rows = await pool.allEnded(ids, 120_000);
    subscription.unsubscribe();
    expectExactlyOnce(ids, outcomes, rows);
  }, 240_000);
});
