import type { KV } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { openRuntimeStores } from "../../common/runtime-streams.js";
import { SnapshotStore } from "../../common/snapshot-store.js";
import type { ControlPlane } from "../../control-plane/server.js";
import { executionViewSchema, experimentViewSchema, NeuroflowError } from "../../runtime/protocol/index.js";
import { api, createTestOrg, eventually, login, startTestControlPlane, type TestOrg } from "../support/harness.js";

/**
 * A worker keeps each agent's XState snapshot — its memory, i.e. its conversations — in the
 * runtime's KV bucket. Deleting the agent, or its organization, through the API removes it there
 * too, and so does the end of an experiment run for the agents made for it.
 */
describe("agents' snapshots go with the agents: deleted agents and organizations, finished experiments", () => {
  let cp: ControlPlane;
  let snapshots: KV;
  const simulated = { description: null, personality: {}, modelConfig: { provider: "simulated" as const, model: "sim-1" }, capabilities: [] };

  beforeAll(async () => {
    cp = await startTestControlPlane();
    snapshots = (await openRuntimeStores(cp.nc)).snapshots;
  });

  afterAll(async () => {
    await cp?.stop();
  });

  const signIn = async (org: TestOrg) => login(cp.url, org.email, org.password);
  const stored = async (orgId: string, agentId: string) => (await snapshots.get(`${orgId}.${agentId}`))?.operation === "PUT";

  /** Runs one task on the agent through the API, then waits until a worker has saved the agent's snapshot. */
  const remember = async (org: TestOrg, cookie: string, agentId: string, prompt: string) => {
    const submitted = await api(cp.url, `/api/orgs/${org.orgId}/agents/${agentId}/tasks`, { cookie, body: { prompt } });
    expect(submitted.status).toBe(202);
    const { id } = executionViewSchema.parse((submitted.body as { execution: unknown }).execution);
    await eventually(async () => {
      const { body } = await api(cp.url, `/api/orgs/${org.orgId}/executions/${id}`, { cookie });
      return (body as { execution?: { status?: string } }).execution?.status === "COMPLETED" ? true : undefined;
    }, 15_000, `task ${id} to complete`);
    await eventually(async () => ((await stored(org.orgId, agentId)) ? true : undefined), 15_000, `agent ${agentId}'s snapshot to be saved`);
    const entry = await snapshots.get(`${org.orgId}.${agentId}`);
    // The memory the deletion must take away: the task's prompt, in the agent's conversation window.
    expect(entry?.string()).toContain(prompt);
  };

  it("removes an agent's snapshot with the agent, and only that agent's", async () => {
    const org = await createTestOrg(cp, { agents: [{ name: "Forgotten", ...simulated }, { name: "Kept", ...simulated }] });
    const cookie = await signIn(org);
    const [forgotten, kept] = org.agents;
    await remember(org, cookie, forgotten!.id, "my secret plan is purple");
    await remember(org, cookie, kept!.id, "the kept agent's question");

    const deleted = await api(cp.url, `/api/orgs/${org.orgId}/agents/${forgotten!.id}`, { method: "DELETE", cookie });
    expect(deleted.status).toBe(204);
    expect(await stored(org.orgId, forgotten!.id)).toBe(false);
    expect(await stored(org.orgId, kept!.id)).toBe(true);
    expect((await api(cp.url, `/api/orgs/${org.orgId}/agents/${forgotten!.id}`, { cookie })).status).toBe(404);
  });

  it("never writes a forgotten snapshot back: a worker still holding the agent gets CONFLICT, first save or not", async () => {
    const store = new SnapshotStore(snapshots);
    const orgId = randomUUID();
    const [saved, unsaved] = [randomUUID(), randomUUID()];
    const revision = await store.save(orgId, saved, { memory: ["before"] }, 0);
    // Deleted before any worker saved it: KV.create would write over the purge marker; a first save must not.
    await store.forget(orgId, unsaved);
    await store.forget(orgId, saved);

    const conflict = (error: unknown) => error instanceof NeuroflowError && error.code === "CONFLICT";
    expect(await store.save(orgId, saved, { memory: ["after"] }, revision).catch(conflict)).toBe(true);
    expect(await store.save(orgId, unsaved, { memory: ["after"] }, 0).catch(conflict)).toBe(true);
    expect(await store.load(orgId, saved)).toBeUndefined();
    expect(await store.load(orgId, unsaved)).toBeUndefined();
    // A new agent's first save still works.
    const fresh = randomUUID();
    expect(await store.save(orgId, fresh, { memory: [] }, 0)).toBeGreaterThan(0);
    expect((await store.load(orgId, fresh))?.snapshot).toEqual({ memory: [] });
  });

  it("removes the snapshots of an experiment run's agents once the run is over", async () => {
    const org = await createTestOrg(cp, { agents: [] });
    const cookie = await signIn(org);
    const spec = {
      name: "forgetting",
      seed: 7,
      trials: 3,
      tasks: { kind: "binary-questions", count: 3 },
      grid: { structures: ["DEMOCRATIC"], rules: [{ kind: "majority", tieBreak: "random" }], teamSizes: [3, 5] },
      members: { accuracy: 0.7, latencyMs: 0 },
    };
    const started = await api(cp.url, `/api/orgs/${org.orgId}/experiments`, { cookie, body: { spec } });
    expect(started.status).toBe(202);
    const { id } = experimentViewSchema.parse((started.body as { experiment: unknown }).experiment);
    const experiment = await eventually(async () => {
      const { body } = await api(cp.url, `/api/orgs/${org.orgId}/experiments/${id}`, { cookie });
      const view = experimentViewSchema.parse((body as { experiment: unknown }).experiment);
      return ["COMPLETED", "FAILED", "CANCELLED"].includes(view.status) ? view : undefined;
    }, 60_000, `experiment ${id} to end`);
    expect(experiment.status).toBe("COMPLETED");

    // Workers save an agent's snapshot up to a second after its last task: give every pending save
    // time to be tried (and refused), then no key of the org may be left.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const left: string[] = [];
    for await (const key of await snapshots.keys(`${org.orgId}.>`)) left.push(key);
    expect(left).toEqual([]);
  });

  it("removes every snapshot of a deleted organization and none of another's", async () => {
    const doomed = await createTestOrg(cp, { agents: [{ name: "One", ...simulated }, { name: "Two", ...simulated }] });
    const other = await createTestOrg(cp, { agents: [{ name: "Neighbour", ...simulated }] });
    const doomedCookie = await signIn(doomed);
    const otherCookie = await signIn(other);
    for (const agent of doomed.agents) await remember(doomed, doomedCookie, agent.id, `what ${agent.name} knows`);
    await remember(other, otherCookie, other.agents[0]!.id, "the neighbour's question");

    const deleted = await api(cp.url, `/api/orgs/${doomed.orgId}`, { method: "DELETE", cookie: doomedCookie });
    expect(deleted.status).toBe(204);
    for (const agent of doomed.agents) expect(await stored(doomed.orgId, agent.id)).toBe(false);
    const left: string[] = [];
    for await (const key of await snapshots.keys(`${doomed.orgId}.>`)) left.push(key);
    expect(left).toEqual([]);
    expect(await stored(other.orgId, other.agents[0]!.id)).toBe(true);
  });
});
