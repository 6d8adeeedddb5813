import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { AgentExecution } from "../../entities/index.js";
import type { Database } from "../persistence/database.js";
import { PeriodicSweep } from "./periodic.js";
import { publishTask, taskMessage } from "./task-dispatcher.js";

export interface SweeperDeps {
  db: Database;
  nc: NatsConnection;
  logger: Logger;
  /** How often to look. */
  intervalMs: number;
  /** An unfinished execution whose row has not changed for this long is published again. */
  staleAfterMs: number;
  publishTimeoutMs: number;
  /** At most this many executions per sweep (oldest first). */
  batch?: number;
}

interface StaleRow {
  id: string;
  organization_id: string;
}

/**
 * The other half of the transactional outbox: Postgres is the ledger, NATS only the delivery, so
 * nothing is lost even when NATS loses a message (Jepsen found JetStream acknowledging writes it
 * then lost on a crash). Every `intervalMs` it publishes again each PENDING or RUNNING execution
 * whose row has not moved for `staleAfterMs`, and touches the row so it waits another period.
 *
 * Publishing again is safe: a worker that already holds the task ignores the copy; one whose outcome is committed answers from the
 * outcome store; and the ledger never lets an ended execution change. A task that merely runs long
 * costs one deduplicated publish per period.
 */
export class TaskSweeper extends PeriodicSweep {
  readonly #deps: SweeperDeps;

  constructor(deps: SweeperDeps) {
    super(deps.intervalMs);
    this.#deps = deps;
  }

  /** One pass; resolves with how many executions it published again. Never rejects. */
  override async sweepOnce(): Promise<number> {
    const { db, logger } = this.#deps;
    try {
      const stale = await db.sweep((em) =>
        em.execute<StaleRow[]>(
          `select id, organization_id from neuroflow_agent_executions
            where status in ('PENDING', 'RUNNING') and updated_at < now() - make_interval(secs => ?)
            order by updated_at limit ?`,
          [this.#deps.staleAfterMs / 1000, this.#deps.batch ?? 500],
        ),
      );
      let published = 0;
      for (const row of stale) if (await this.#republish(row)) published++;
      if (published > 0) logger.info({ published }, "published stale executions again");
      return published;
    } catch (error) {
      logger.error({ err: error }, "task sweep failed");
      return 0;
    }
  }

  async #republish(row: StaleRow): Promise<boolean> {
    const { db, nc, logger } = this.#deps;
    const task = await db.asSystem(row.organization_id, async (em) => {
      const execution = await em.findOne(AgentExecution, { id: row.id, status: { $in: ["PENDING", "RUNNING"] } }, { populate: ["agent"] });
      if (!execution) return undefined;
      await em.nativeUpdate(AgentExecution, { id: row.id }, { updatedAt: new Date() });
      return taskMessage(execution.agent, execution);
    });
    if (!task) return false;
    try {
      // A fresh message id: JetStream remembers ids for 2 minutes even after the work queue dropped
      // the acknowledged message, and a task whose outcome the ledger missed must reach a worker again
      // (which answers it from the outcome store).
      await publishTask(nc, task, this.#deps.publishTimeoutMs, `${task.executionId}.sweep-${Date.now()}`);
      return true;
    } catch (error) {
      logger.warn({ err: error, executionId: row.id }, "could not publish a stale execution again; next sweep");
      return false;
    }
  }
}
