import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { ControlPlane } from "../../control-plane/server.js";
import { createLocalExecutor, runExperiment } from "../../runtime/experiments/index.js";
import {
  errorBodySchema,
  experimentSpecSchema,
  experimentSummarySchema,
  experimentViewSchema,
  MAX_API_EXPERIMENT_TRIALS,
  type ExperimentSpecInput,
  type ExperimentView,
} from "../../runtime/protocol/index.js";
import { api, createTestOrg, eventually, login, startTestControlPlane, type TestOrg } from "../support/harness.js";

/**
 * Experiments through the HTTP API: validation, tenancy, and a small experiment run on the runtime
 * pool (one `team.run` per trial, served by the test run's runtime worker) to COMPLETED, with the
 * same answers as the in-process runtime gives for the same spec.
 */

const small: ExperimentSpecInput = {
  name: "api small",
  seed: 99,
  trials: 4,
  tasks: { kind: "binary-questions", count: 4 },
  grid: { structures: ["DEMOCRATIC"], rules: [{ kind: "majority", tieBreak: "random" }], teamSizes: [3] },
  members: { accuracy: 0.7, latencyMs: 0 },
};

/** Slow enough (many trials, seconds of simulated thinking each) to still be running when cancelled. */
const slow: ExperimentSpecInput = { ...small, name: "api slow", trials: 500, members: { accuracy: 0.7, latencyMs: 5_000 } };

const experimentBody = z.object({ experiment: experimentViewSchema });
const validationError = z.object({ error: z.object({ code: z.literal("VALIDATION_FAILED"), message: z.string(), details: z.array(z.unknown()).min(1) }) });
const ended = (status: string) => ["COMPLETED", "FAILED", "CANCELLED"].includes(status);

describe("experiments API", () => {
  let cp: ControlPlane;
  let a: TestOrg;
  let b: TestOrg;
  let aCookie: string;
  let bCookie: string;

  const start = async (body: unknown, org = a, cookie = aCookie) => {
    const response = await api(cp.url, `/api/orgs/${org.orgId}/experiments`, { cookie, body });
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    return experimentBody.parse(response.body).experiment;
  };
  const read = async (id: string): Promise<ExperimentView> =>
    experimentBody.parse((await api(cp.url, `/api/orgs/${a.orgId}/experiments/${id}`, { cookie: aCookie })).body).experiment;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    [a, b] = await Promise.all([createTestOrg(cp), createTestOrg(cp)]);
    [aCookie, bCookie] = await Promise.all([login(cp.url, a!.email, a!.password), login(cp.url, b!.email, b!.password)]);
  });

  afterAll(async () => {
    await cp?.stop();
  });

  it("refuses a bad spec with 400 and the zod issues, as JSON or as YAML", async () => {
    const path = `/api/orgs/${a.orgId}/experiments`;
    const badJson = await api(cp.url, path, { cookie: aCookie, body: { spec: { ...small, trials: 0, grid: { ...small.grid, teamSizes: [3, 3] } } } });
    expect(badJson.status).toBe(400);
    const jsonIssues = validationError.parse(badJson.body).error.details;
    expect(JSON.stringify(jsonIssues)).toContain("trials");
    expect(JSON.stringify(jsonIssues)).toContain("listed twice");

    const badYaml = await api(cp.url, path, { cookie: aCookie, body: { yaml: "name: x\nseed: 1\ntrials: 0\ntasks: { kind: coin }\ngrid: { structures: [DEMOCRATIC], teamSizes: [3] }\n" } });
    expect(badYaml.status).toBe(400);
    expect(validationError.parse(badYaml.body).error.message).toContain("trials");

    const notYaml = await api(cp.url, path, { cookie: aCookie, body: { yaml: "a: [" } });
    expect(notYaml.status).toBe(400);
    expect(errorBodySchema.parse(notYaml.body).error.code).toBe("VALIDATION_FAILED");

    expect((await api(cp.url, path, { cookie: aCookie, body: {} })).status).toBe(400);
    expect((await api(cp.url, path, { cookie: aCookie, body: { spec: small, yaml: "name: x" } })).status).toBe(400);

    const huge = await api(cp.url, path, { cookie: aCookie, body: { spec: { ...small, trials: MAX_API_EXPERIMENT_TRIALS + 1 } } });
    expect(huge.status).toBe(400);
    expect(errorBodySchema.parse(huge.body).error.message).toContain(`at most ${MAX_API_EXPERIMENT_TRIALS}`);

    // Nothing was stored.
    const list = z.object({ experiments: z.array(experimentSummarySchema) }).parse((await api(cp.url, path, { cookie: aCookie })).body);
    expect(list.experiments).toEqual([]);
  });

  it("runs a small experiment on the runtime pool to COMPLETED, with the in-process runtime's answers", async () => {
    const created = await start({ spec: small });
    expect(created).toMatchObject({ status: "PENDING", progress: { done: 0, total: 4 }, results: null, name: "api small", createdBy: a.userId });

    const done = await eventually(async () => {
      const experiment = await read(created.id);
      return ended(experiment.status) ? experiment : undefined;
    }, 60_000, "the experiment to end");
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: "COMPLETED", progress: { done: 4, total: 4 } });
    expect(done.startedAt).not.toBeNull();
    expect(done.completedAt).not.toBeNull();
    const [cell] = done.results?.cells ?? [];
    expect(cell).toMatchObject({ trials: 4, failures: 0 });
    expect(cell?.tokens.total).toBeGreaterThan(0);

    // Same members, profiles and seeds in both runtimes: the same answers, so the same score.
    const local = await runExperiment(experimentSpecSchema.parse(small), createLocalExecutor());
    expect(cell?.correct).toBe(local.cells[0]?.correct);

    const csv = await fetch(`${cp.url}/api/orgs/${a.orgId}/experiments/${created.id}/results.csv`, { headers: { cookie: aCookie } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = (await csv.text()).trimEnd().split("\r\n");
    expect(lines[0]).toMatch(/^cell,structure,/);
    expect(lines).toHaveLength(2);

    // Ended: it can no longer be cancelled.
    const cancel = await api(cp.url, `/api/orgs/${a.orgId}/experiments/${created.id}/cancel`, { method: "POST", cookie: aCookie });
    expect(cancel.status).toBe(409);
  });

  it("cancels a running experiment, which stays CANCELLED", async () => {
    const created = await start({ yaml: `name: api slow\nseed: 5\ntrials: ${slow.trials}\ntasks: { kind: binary-questions, count: 4 }\ngrid: { structures: [DEMOCRATIC], rules: [{ kind: majority }], teamSizes: [3] }\nmembers: { accuracy: 0.7, latencyMs: 5000 }\n` });
    const cancel = await api(cp.url, `/api/orgs/${a.orgId}/experiments/${created.id}/cancel`, { method: "POST", cookie: aCookie });
    expect(cancel.status).toBe(200);
    expect(experimentBody.parse(cancel.body).experiment).toMatchObject({ status: "CANCELLED", error: { code: "CANCELLED" } });
    const csv = await fetch(`${cp.url}/api/orgs/${a.orgId}/experiments/${created.id}/results.csv`, { headers: { cookie: aCookie } });
    expect(csv.status).toBe(409);
    expect((await api(cp.url, `/api/orgs/${a.orgId}/experiments/${created.id}/cancel`, { method: "POST", cookie: aCookie })).status).toBe(409);
    // The run stops without overwriting the cancel.
    expect((await read(created.id)).status).toBe("CANCELLED");
  });

  it("hides an org's experiments from another org (404) and lists them with keyset pagination", async () => {
    const mine = await start({ spec: { ...small, name: "a's private experiment" } });
    const paths = [
      `/api/orgs/${b.orgId}/experiments/${mine.id}`,
      `/api/orgs/${a.orgId}/experiments/${mine.id}`,
      `/api/orgs/${b.orgId}/experiments/${mine.id}/results.csv`,
      `/api/orgs/${a.orgId}/experiments/${mine.id}/results.csv`,
    ];
    for (const path of paths) {
      const response = await api(cp.url, path, { cookie: bCookie });
      expect(response.status, path).toBe(404);
      expect(JSON.stringify(response.body)).not.toContain("private");
    }
    for (const orgId of [a.orgId, b.orgId]) {
      const cancel = await api(cp.url, `/api/orgs/${orgId}/experiments/${mine.id}/cancel`, { method: "POST", cookie: bCookie });
      expect(cancel.status).toBe(404);
    }
    const bList = z.object({ experiments: z.array(experimentSummarySchema) }).parse((await api(cp.url, `/api/orgs/${b.orgId}/experiments`, { cookie: bCookie })).body);
    expect(bList.experiments).toEqual([]);

    const page = z.object({ experiments: z.array(experimentSummarySchema), nextCursor: z.string().nullable() });
    const first = page.parse((await api(cp.url, `/api/orgs/${a.orgId}/experiments?limit=1`, { cookie: aCookie })).body);
    expect(first.experiments.map((e) => e.id)).toEqual([mine.id]);
    expect(first.nextCursor).not.toBeNull();
    const rest = page.parse((await api(cp.url, `/api/orgs/${a.orgId}/experiments?limit=100&cursor=${first.nextCursor}`, { cookie: aCookie })).body);
    expect(rest.experiments.map((e) => e.name)).toEqual(["api slow", "api small"]);
    expect(rest.nextCursor).toBeNull();
    const cancelled = page.parse((await api(cp.url, `/api/orgs/${a.orgId}/experiments?status=CANCELLED`, { cookie: aCookie })).body);
    expect(cancelled.experiments.map((e) => e.name)).toEqual(["api slow"]);
  });
});
