import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { encodeJson, subjects, type TeamExecCancel, type WireError } from "../../runtime/protocol/index.js";
import type { Database } from "../persistence/database.js";
import { PeriodicSweep } from "./periodic.js";
import { endTeamExecution, teamEndingOfError } from "../persistence/team-ledger.js";

export interface TeamRunSweeperDeps {
  db: Database;
  nc: NatsConnection;
  logger: Logger;
  /** How often to look. */
  intervalMs: number;
  /**
   * A run still open this long after it started has been given up: longer than the TeamRunner's
   * run timeout, by which time the control plane that started it would have recorded its end.
   */
  abandonedAfterMs: number;
  /** At most this many runs per sweep (oldest first). */
  batch?: number;
}

interface AbandonedRow {
  id: string;
  organization_id: string;
  team_id: string;
}

/**
 * Ends the team executions nobody will end. A run's row is ended by the TeamRunner that started it
 * (the worker's reply, or TIMEOUT past its run timeout) or by any control plane storing the run's
 * final log entry. When the control plane that started it died and the worker never published
 * that entry (it died too, or the run hangs), the row would stay RUNNING forever. Every
 * `intervalMs` this finds runs open past `abandonedAfterMs`, asks whichever worker may still run
 * one to cancel it, and records it FAILED (TIMEOUT), saying why. Ending is conditional, so a run
 * that ends meanwhile keeps its own outcome.
 */
export class TeamRunSweeper extends PeriodicSweep {
  readonly #deps: TeamRunSweeperDeps;

  constructor(deps: TeamRunSweeperDeps) {
    super(deps.intervalMs);
    this.#deps = deps;
  }

  /** One pass; resolves with how many runs it ended. Never rejects. */
  override async sweepOnce(): Promise<number> {
    const { db, logger } = this.#deps;
    try {
      const abandoned = await db.sweep((em) =>
        em.execute<AbandonedRow[]>(
          `select id, organization_id, team_id from neuroflow_team_executions
            where status in ('PENDING', 'RUNNING') and coalesce(started_at, created_at) < now() - make_interval(secs => ?)
            order by coalesce(started_at, created_at) limit ?`,
          [this.#deps.abandonedAfterMs / 1000, this.#deps.batch ?? 100],
        ),
      );
      let ended = 0;
      for (const row of abandoned) if (await this.#end(row)) ended++;
      if (ended > 0) logger.warn({ ended }, "ended team executions no control plane recorded the end of");
      return ended;
    } catch (error) {
      logger.error({ err: error }, "team run sweep failed");
      return 0;
    }
  }

  async #end(row: AbandonedRow): Promise<boolean> {
    const run = { orgId: row.organization_id, teamId: row.team_id, executionId: row.id };
    const cancel: TeamExecCancel = { type: "team.exec.cancel", ...run };
    try {
      this.#deps.nc.publish(subjects.teamExecCancel(run.orgId, run.teamId, run.executionId), encodeJson(cancel));
    } catch {
      // The connection is closing: the row is still ended; a worker still running it ends on its own.
    }
    const error: WireError = {
      code: "TIMEOUT",
      message: `the team execution did not end within ${this.#deps.abandonedAfterMs} ms and no control plane recorded its end`,
      retryable: true,
    };
    return this.#deps.db.asSystem(run.orgId, (em) => endTeamExecution(em, teamEndingOfError(run, "FAILED", error)));
  }
}
