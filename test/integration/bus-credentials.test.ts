import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectOptionsFor } from "../../common/nats-tenancy.js";
import type { ControlPlane } from "../../control-plane/server.js";
import { agentStatusChangedSchema, decodeJson } from "../../runtime/protocol/index.js";
import { api, createTestOrg, login, startTestControlPlane, type TestOrg } from "../support/harness.js";

const credentials = (body: unknown) => {
  const parsed = body as { creds: string; inboxPrefix: string; servers: string[]; expiresAt: string; subjects: string };
  return parsed;
};

/** An external program joins the bus as one org with credentials from the API, and only as that org. */
describe("org-scoped NATS credentials from the API", () => {
  let cp: ControlPlane;
  let org: TestOrg;
  let other: TestOrg;
  let cookie: string;
  const connections: NatsConnection[] = [];

  beforeAll(async () => {
    cp = await startTestControlPlane();
    org = await createTestOrg(cp);
    other = await createTestOrg(cp);
    cookie = await login(cp.url, org.email, org.password);
  });
  afterAll(async () => {
    for (const nc of connections) await nc.close();
    await cp?.stop();
  });

  it("hands a member credentials that watch the org's agents live", async () => {
    const response = await api(cp.url, `/api/orgs/${org.orgId}/nats-credentials`, { cookie, method: "POST" });
    expect(response.status).toBe(201);
    const minted = credentials(response.body);
    expect(minted).toMatchObject({ inboxPrefix: `_INBOX.${org.orgId}`, servers: [inject("natsUrl")], subjects: `nf.${org.orgId}.>` });
    expect(new Date(minted.expiresAt).getTime()).toBeGreaterThan(Date.now());

    const nc = await connect({ servers: minted.servers, ...connectOptionsFor(minted) });
    connections.push(nc);
    const statuses = nc.subscribe(`nf.${org.orgId}.agent.*.status`);
    const task = await api(cp.url, `/api/orgs/${org.orgId}/agents/${org.agents[0]!.id}/tasks`, { cookie, body: { prompt: "seen from outside?" } });
    expect(task.status).toBe(202);
    const executionId = (task.body as { execution: { id: string } }).execution.id;
    for await (const msg of statuses) {
      const event = decodeJson(agentStatusChangedSchema, msg.data, "status");
      if (event.execution?.executionId === executionId && event.execution.status === "COMPLETED") break;
    }
  });

  it("refuses, at the server, a subscription to another org's subjects", async () => {
    const minted = credentials((await api(cp.url, `/api/orgs/${org.orgId}/nats-credentials`, { cookie, method: "POST" })).body);
    const nc = await connect({ servers: minted.servers, ...connectOptionsFor(minted) });
    connections.push(nc);
    const sub = nc.subscribe(`nf.${other.orgId}.>`);
    const closed = await sub.closed;
    expect(String(closed)).toMatch(/Permissions Violation for Subscription/);
  });

  it("gives no credentials for an org one isn't in, nor to a VIEWER", async () => {
    expect((await api(cp.url, `/api/orgs/${other.orgId}/nats-credentials`, { cookie, method: "POST" })).status).toBe(404);
    const viewers = await createTestOrg(cp, { role: "VIEWER" });
    const viewerCookie = await login(cp.url, viewers.email, viewers.password);
    expect((await api(cp.url, `/api/orgs/${viewers.orgId}/nats-credentials`, { cookie: viewerCookie, method: "POST" })).status).toBe(403);
  });
});
