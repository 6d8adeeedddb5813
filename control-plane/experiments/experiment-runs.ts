import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { Experiment } from "../../entities/index.js";
import { createBusExecutor, expandGrid, runExperiment, type TrialExecutor } from "../../runtime/experiments/index.js";
import { NeuroflowError, type ExperimentSpec, type WireError } from "../../runtime/protocol/index.js";
import type { SnapshotStore } from "../../common/snapshot-store.js";
import type { Database } from "../persistence/database.js";
import { createProgressWriter } from "./progress-writer.js";

export interface ExperimentRunsDeps {
  db: Database;
  nc: NatsConnection;
  logger: Logger;
  /** Least time between two progress writes of one run; default 250 ms. */
  progressIntervalMs?: number;
  /** Longest time a run goes without writing (and so without noticing a cancel made elsewhere); default 2 s. */
  heartbeatMs?: number;
  /** Trials of one experiment in flight at once; default 4. */
  concurrency?: number;
  /** The executor of an org's trials; default the bus executor over `nc` (one `team.run` per trial). */
  executorFor?: (orgId: string) => TrialExecutor;
  /** Where the bus executor's agents leave their snapshots: forgotten once the run is over. */
  snapshots?: Pick<SnapshotStore, "forget">;
}

/** What a run needs from the stored row. */
export interface ExperimentToRun {
  id: string;
  orgId: string;
  spec: ExperimentSpec;
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Runs stored experiments in the background of this control plane. A run moves its row from
 * PENDING to RUNNING, writes progress at most every `progressIntervalMs` (and at least every
 * `heartbeatMs`, which keeps `updatedAt` fresh while it runs), and ends it COMPLETED
 * with the results, FAILED with a wire error (no trial reached a team, the runner broke, or this
 * control plane stopped), or CANCELLED. Every write is conditional on the status it expects, so a
 * cancel recorded by any replica wins: the next progress write finds the row no longer RUNNING and
 * aborts the run here. Writes go through the system role, confined to the experiment's org.
 * Once a run is over, the snapshots its agents left on the workers are removed (`snapshots`).
 * Nothing here throws at the caller; failures to write are logged.
 */
export class ExperimentRuns {
  readonly #deps: ExperimentRunsDeps;
  readonly #running = new Map<string, Running>();
  #stopping = false;

  constructor(deps: ExperimentRunsDeps) {
    this.#deps = deps;
  }

  /** Experiments running in this process. */
  get size(): number {
    return this.#running.size;
  }

  /** Starts the run of a PENDING experiment (committed before this is called). */
  start(experiment: ExperimentToRun): void {
    const controller = new AbortController();
    const done = this.#run(experiment, controller).finally(() => this.#running.delete(experiment.id));
    this.#running.set(experiment.id, { controller, done });
  }

  /** Aborts the run if it is in this process; returns whether it was. The row is the caller's to mark. */
  cancel(id: string): boolean {
    const running = this.#running.get(id);
    running?.controller.abort();
    return running !== undefined;
  }

  /** Stops every run here (each ends FAILED, UNAVAILABLE) and resolves once their rows are written. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const runs = [...this.#running.values()];
    for (const run of runs) run.controller.abort();
    await Promise.all(runs.map((run) => run.done));
  }

  async #run(experiment: ExperimentToRun, controller: AbortController): Promise<void> {
    const { db } = this.#deps;
    const logger = this.#deps.logger.child({ orgId: experiment.orgId, experimentId: experiment.id });
    const update = (from: readonly ("PENDING" | "RUNNING" | "CANCELLED")[], data: Record<string, unknown>) =>
      db.asSystem(experiment.orgId, (em) => em.nativeUpdate(Experiment, { id: experiment.id, status: { $in: [...from] } }, { ...data, updatedAt: new Date() }));

    try {
      if (this.#stopping) throw new NeuroflowError("UNAVAILABLE", "the control plane is stopping");
      const started = await update(["PENDING"], { status: "RUNNING", startedAt: new Date() });
      if (started === 0) {
        logger.info("experiment was cancelled before it started");
        return;
      }
    } catch (error) {
      logger.error({ err: error }, "could not start the experiment");
      await update(["PENDING"], { status: "FAILED", completedAt: new Date(), error: NeuroflowError.toWire(error) }).catch(() => undefined);
      return;
    }

    const progress = createProgressWriter({
      write: async (value) => {
        const changed = await update(["RUNNING"], { progress: value });
        // Cancelled (or deleted) elsewhere: stop here too.
        if (changed === 0) controller.abort();
      },
      initial: { done: 0, total: expandGrid(experiment.spec).cells.length * experiment.spec.trials },
      intervalMs: this.#deps.progressIntervalMs ?? 250,
      heartbeatMs: this.#deps.heartbeatMs ?? 2_000,
      logger,
    });
    // The bus executor's agents are made for this run alone: their snapshots go when it ends.
    const agentIds: string[] = [];
    const inner =
      this.#deps.executorFor?.(experiment.orgId) ??
      createBusExecutor({ nc: this.#deps.nc, orgId: experiment.orgId, onAgents: (ids) => agentIds.push(...ids) });
    let reachedTeam = false;
    let firstError: WireError | undefined;
    const executor: TrialExecutor = async (...args) => {
      try {
        const outcome = await inner(...args);
        reachedTeam = true;
        return outcome;
      } catch (error) {
        firstError ??= NeuroflowError.toWire(error);
        throw error;
      }
    };

    try {
      const result = await runExperiment(experiment.spec, executor, {
        concurrency: this.#deps.concurrency ?? 4,
        signal: controller.signal,
        onProgress: ({ done, total }) => progress.report({ done, total }),
      });
      await progress.close();
      const total = result.cells.reduce((sum, cell) => sum + cell.trials, 0);
      const failed: WireError | undefined =
        !reachedTeam && firstError && total > 0 ? { ...firstError, message: `no trial reached a team; the first failure: ${firstError.message}` } : undefined;
      const recorded = await update(["RUNNING"], {
        status: failed ? "FAILED" : "COMPLETED",
        progress: { done: total, total },
        results: result,
        error: failed ?? null,
        completedAt: new Date(),
      });
      // 0: cancelled while its last trials ran; the cancel stands.
      if (recorded > 0) logger.info({ status: failed ? "FAILED" : "COMPLETED", trials: total }, "experiment ended");
    } catch (error) {
      await progress.close();
      const latest = progress.latest();
      const cancelled = error instanceof NeuroflowError && error.code === "CANCELLED";
      const wire: WireError = this.#stopping
        ? { code: "UNAVAILABLE", message: "the control plane stopped during the run; start the experiment again", retryable: true }
        : cancelled
          ? { code: "CANCELLED", message: "experiment cancelled", retryable: false }
          : NeuroflowError.toWire(error);
      if (!cancelled) logger.error({ err: error }, "experiment run failed");
      const status = cancelled && !this.#stopping ? "CANCELLED" : "FAILED";
      await update(["RUNNING"], { status, error: wire, completedAt: new Date(), progress: latest })
        .then((changed) => (changed === 0 ? update(["CANCELLED"], { progress: latest }) : changed))
        .catch((writeError: unknown) => logger.error({ err: writeError }, "could not record how the experiment ended"));
    } finally {
      await this.#forget(experiment.orgId, agentIds, logger);
    }
  }

  /**
   * Removes the snapshots of a finished run's agents (made for it alone) from the workers' bucket. A
   * worker still holding one of them gets CONFLICT at its next save and stops it (SnapshotStore).
   */
  async #forget(orgId: string, agentIds: readonly string[], logger: Logger): Promise<void> {
    const { snapshots } = this.#deps;
    if (!snapshots || agentIds.length === 0) return;
    const failed = (await Promise.allSettled(agentIds.map((agentId) => snapshots.forget(orgId, agentId)))).filter((result) => result.status === "rejected");
    if (failed.length > 0) logger.warn({ err: failed[0]?.reason, failed: failed.length, agents: agentIds.length }, "could not remove the snapshots of some of the experiment's agents");
  }
}
