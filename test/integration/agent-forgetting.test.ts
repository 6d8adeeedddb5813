import type { KV } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRuntimeStores } from "../../common/runtime-streams.js";
import type { ControlPlane } from "../../control-plane/server.js";
import { executionViewSchema } from "../../runtime/protocol/index.js";
import { api, createTestOrg, eventually, login, startTestControlPlane, type TestOrg } from "../support/harness.js";

/**
 * A worker keeps each agent's XState snapshot — its memory, i.e. its conversations — in the
 * runtime's KV bucket. Deleting the agent, or its organization, through the API removes it there too.
 */
describe("deleting agents and organizations removes their snapshots from the runtime's bucket", () => {
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
