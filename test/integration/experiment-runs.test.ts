import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExperimentRuns } from "../../control-plane/experiments/experiment-runs.js";
import type { ControlPlane } from "../../control-plane/server.js";
import { Experiment, type IExperiment } from "../../entities/index.js";
import type { TrialExecutor } from "../../runtime/experiments/index.js";
import { experimentSpecSchema, NeuroflowError, type ExperimentSpec } from "../../runtime/protocol/index.js";
import { createTestOrg, eventually, startTestControlPlane, testLogger, type TestOrg } from "../support/harness.js";

/**
 * The control plane's background runs against the real database, with executors that stand in for
 * the pool (what a trial answers is not the point here): how a run ends, and that a cancel written
 * by another replica stops it.
 */
describe("experiment runs", () => {
  let cp: ControlPlane;
  let org: TestOrg;
  const runs: ExperimentRuns[] = [];

  const spec: ExperimentSpec = experimentSpecSchema.parse({
    name: "runs",
    seed: 3,
    trials: 5,
    tasks: { kind: "binary-questions", count: 5 },
    grid: { structures: ["DEMOCRATIC"], rules: [{ kind: "majority" }], teamSizes: [3] },
  });

  const runsWith = (executor: TrialExecutor) => {
    const created = new ExperimentRuns({ db: cp.db, nc: cp.nc, logger: testLogger, heartbeatMs: 50, progressIntervalMs: 10, executorFor: () => executor });
    runs.push(created);
    return created;
  };
  const stored = async (name: string): Promise<IExperiment> =>
    cp.db.asSystem(org.orgId, async (em) => {
      const experiment = em.create(Experiment, {
        organization: org.orgId,
        createdBy: org.userId,
        name,
        spec,
        status: "PENDING",
        progress: { done: 0, total: 5 },
        results: null,
        error: null,
        startedAt: null,
        completedAt: null,
      });
      await em.flush();
      return experiment;
    });
  const read = (id: string) => cp.db.asSystem(org.orgId, (em) => em.findOneOrFail(Experiment, { id }));

  beforeAll(async () => {
    cp = await startTestControlPlane();
    org = await createTestOrg(cp);
  });

  afterAll(async () => {
    for (const created of runs) await created.stop();
    await cp?.stop();
  });

  it("ends FAILED with the first error when no trial reaches a team", async () => {
    const experiment = await stored("unreachable");
    const created = runsWith(async () => {
      throw new NeuroflowError("UNAVAILABLE", "no runtime worker is taking team runs", { retryable: true });
    });
    created.start({ id: experiment.id, orgId: org.orgId, spec });
    const ended = await eventually(async () => {
      const row = await read(experiment.id);
      return row.status === "FAILED" ? row : undefined;
    }, 20_000, "the run to fail");
    expect(ended.error).toMatchObject({ code: "UNAVAILABLE", message: expect.stringContaining("no trial reached a team") });
    expect(ended.progress).toEqual({ done: 5, total: 5 });
    expect(ended.results?.cells[0]).toMatchObject({ trials: 5, failures: 5, accuracy: 0 });
    expect(ended.completedAt).not.toBeNull();
  });

  it("stops a run whose row another replica marked CANCELLED, and keeps the cancel", async () => {
    const experiment = await stored("cancelled elsewhere");
    let started = 0;
    // Trials that only end when the run gives up on them.
    const created = runsWith(async (_cell, _task, _seed, { signal }) => {
      started += 1;
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      return { status: "CANCELLED", usage: { promptTokens: 0, completionTokens: 0 }, costMicroUsd: 0, latencyMs: 0 };
    });
    created.start({ id: experiment.id, orgId: org.orgId, spec });
    await eventually(async () => ((await read(experiment.id)).status === "RUNNING" && started > 0 ? true : undefined), 20_000, "the run to start");

    await cp.db.asSystem(org.orgId, (em) =>
      em.nativeUpdate(Experiment, { id: experiment.id }, { status: "CANCELLED", completedAt: new Date(), error: { code: "CANCELLED", message: "cancelled elsewhere", retryable: false } }),
    );
    await eventually(async () => (created.size === 0 ? true : undefined), 20_000, "the run to stop");
    expect(await read(experiment.id)).toMatchObject({ status: "CANCELLED", error: { message: "cancelled elsewhere" }, results: null });
  });

  it("ends a run FAILED (UNAVAILABLE) when its control plane stops", async () => {
    const experiment = await stored("interrupted");
    const created = runsWith(async (_cell, _task, _seed, { signal }) => {
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      return { status: "CANCELLED", usage: { promptTokens: 0, completionTokens: 0 }, costMicroUsd: 0, latencyMs: 0 };
    });
    created.start({ id: experiment.id, orgId: org.orgId, spec });
    await eventually(async () => ((await read(experiment.id)).status === "RUNNING" ? true : undefined), 20_000, "the run to start");
    await created.stop();
    expect(await read(experiment.id)).toMatchObject({ status: "FAILED", error: { code: "UNAVAILABLE" } });
  });
});
