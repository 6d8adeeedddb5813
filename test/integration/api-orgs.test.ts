import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../../control-plane/server.js";
import { api, createTestOrg, login, startTestControlPlane } from "../support/harness.js";

/** Accounts, organizations, members and API keys through the HTTP API. */
describe("accounts, organizations, members and API keys", () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane();
  });
  afterAll(async () => {
    await cp?.stop();
  });

  const signup = async (name: string) => {
    const email = `${name}-${randomUUID().slice(0, 8)}@test.neuroflow.dev`;
    const response = await api(cp.url, "/api/auth/signup", { body: { email, name, password: "correct horse battery" } });
    expect(response.status).toBe(201);
    return { email, cookie: await login(cp.url, email, "correct horse battery"), userId: (response.body as { user: { id: string } }).user.id };
  };

  it("signs up, refuses a second account with the same email, and a weak password", async () => {
    const ada = await signup("ada");
    expect((await api(cp.url, "/api/session", { cookie: ada.cookie })).body).toMatchObject({ user: { email: ada.email }, memberships: [] });
    const again = await api(cp.url, "/api/auth/signup", { body: { email: ada.email.toUpperCase(), name: "x", password: "another long password" } });
    expect(again).toMatchObject({ status: 409, body: { error: { code: "CONFLICT" } } });
    const weak = await api(cp.url, "/api/auth/signup", { body: { email: `w-${randomUUID()}@test.neuroflow.dev`, name: "w", password: "short" } });
    expect(weak).toMatchObject({ status: 400, body: { error: { code: "VALIDATION_FAILED" } } });
  });

  it("creates, reads, renames and deletes an organization, its creator being OWNER", async () => {
    const owner = await signup("owner");
    const slug = `org-${randomUUID().slice(0, 8)}`;
    const created = await api(cp.url, "/api/orgs", { cookie: owner.cookie, body: { name: "Acme", slug } });
    expect(created).toMatchObject({ status: 201, body: { organization: { name: "Acme", slug, role: "OWNER" } } });
    const orgId = (created.body as { organization: { id: string } }).organization.id;
    expect((await api(cp.url, "/api/orgs", { cookie: owner.cookie, body: { name: "Again", slug } })).status).toBe(409);
    expect((await api(cp.url, `/api/orgs/${orgId}`, { cookie: owner.cookie })).body).toMatchObject({ organization: { id: orgId } });
    const renamed = await api(cp.url, `/api/orgs/${orgId}`, { cookie: owner.cookie, method: "PATCH", body: { name: "Acme Ltd" } });
    expect(renamed).toMatchObject({ status: 200, body: { organization: { name: "Acme Ltd" } } });
    expect((await api(cp.url, `/api/orgs/${orgId}`, { cookie: owner.cookie, method: "DELETE" })).status).toBe(204);
    expect((await api(cp.url, `/api/orgs/${orgId}`, { cookie: owner.cookie })).status).toBe(404);
  });

  it("adds, lists, re-roles and removes members, never leaving the org without an OWNER", async () => {
    const org = await createTestOrg(cp);
    const cookie = await login(cp.url, org.email, org.password);
    const grace = await signup("grace");
    const added = await api(cp.url, `/api/orgs/${org.orgId}/members`, { cookie, body: { email: grace.email, role: "VIEWER" } });
    expect(added).toMatchObject({ status: 201, body: { member: { email: grace.email, role: "VIEWER" } } });
    expect((await api(cp.url, `/api/orgs/${org.orgId}/members`, { cookie, body: { email: grace.email, role: "MEMBER" } })).status).toBe(409);
    expect((await api(cp.url, `/api/orgs/${org.orgId}/members`, { cookie, body: { email: "nobody@test.neuroflow.dev", role: "MEMBER" } })).status).toBe(404);
    const list = await api(cp.url, `/api/orgs/${org.orgId}/members`, { cookie: grace.cookie });
    expect((list.body as { members: Array<{ role: string }> }).members.map((m) => m.role).sort()).toEqual(["OWNER", "VIEWER"]);

    const promoted = await api(cp.url, `/api/orgs/${org.orgId}/members/${grace.userId}`, { cookie, method: "PATCH", body: { role: "OWNER" } });
    expect(promoted).toMatchObject({ status: 200, body: { member: { role: "OWNER" } } });
    // Two owners: the first may step down; then the last one may not.
    expect((await api(cp.url, `/api/orgs/${org.orgId}/members/${org.userId}`, { cookie: grace.cookie, method: "PATCH", body: { role: "ADMIN" } })).status).toBe(200);
    const lastOwner = await api(cp.url, `/api/orgs/${org.orgId}/members/${grace.userId}`, { cookie: grace.cookie, method: "DELETE" });
    expect(lastOwner).toMatchObject({ status: 409, body: { error: { message: "an organization needs at least one OWNER" } } });
    expect((await api(cp.url, `/api/orgs/${org.orgId}/members/${org.userId}`, { cookie: grace.cookie, method: "DELETE" })).status).toBe(204);
    expect((await api(cp.url, `/api/orgs/${org.orgId}/agents`, { cookie })).status).toBe(404);
  });

  it("creates an API key shown once, lets programs use it within its role, and revokes it", async () => {
    const org = await createTestOrg(cp);
    const cookie = await login(cp.url, org.email, org.password);
    const created = await api(cp.url, `/api/orgs/${org.orgId}/api-keys`, { cookie, body: { name: "ci", role: "VIEWER" } });
    expect(created.status).toBe(201);
    const { key, apiKey } = created.body as { key: string; apiKey: { id: string; prefix: string } };
    expect(key).toMatch(/^nfk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
    const listed = await api(cp.url, `/api/orgs/${org.orgId}/api-keys`, { cookie });
    expect(JSON.stringify(listed.body)).not.toContain(key);
    expect((listed.body as { apiKeys: Array<{ prefix: string }> }).apiKeys[0]?.prefix).toBe(apiKey.prefix);

    const auth = { authorization: `Bearer ${key}` };
    expect((await api(cp.url, `/api/orgs/${org.orgId}/agents`, { headers: auth })).status).toBe(200);
    const write = await api(cp.url, `/api/orgs/${org.orgId}/agents/${org.agents[0]!.id}/tasks`, { headers: auth, body: { prompt: "hi" } });
    expect(write).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN" } } });
    expect((await api(cp.url, `/api/orgs/${org.orgId}/api-keys`, { cookie, body: { name: "old", expiresAt: "2000-01-01T00:00:00Z" } })).status).toBe(400);

    expect((await api(cp.url, `/api/orgs/${org.orgId}/api-keys/${apiKey.id}`, { cookie, method: "DELETE" })).status).toBe(204);
    expect((await api(cp.url, `/api/orgs/${org.orgId}/agents`, { headers: auth })).status).toBe(401);
  });
});
