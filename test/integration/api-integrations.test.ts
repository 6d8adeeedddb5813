import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { z } from "zod";
import { CredentialsCipher, integrationCredentialsContext } from "../../control-plane/auth/credentials-cipher.js";
import type { ControlPlane } from "../../control-plane/server.js";
import { Integration } from "../../entities/index.js";
import { errorBodySchema, integrationViewSchema, nextCursorSchema, type IntegrationView } from "../../runtime/protocol/index.js";
import { api, createTestOrg, login, startTestControlPlane, type TestOrg } from "../support/harness.js";

const integrationOf = (body: unknown) => z.object({ integration: integrationViewSchema }).parse(body).integration;
const listOf = (body: unknown) => z.object({ integrations: z.array(integrationViewSchema), nextCursor: nextCursorSchema }).parse(body);
const errorOf = (body: unknown) => errorBodySchema.parse(body).error;
const rawRows = z.array(z.object({ encrypted_credentials: z.string().nullable() }));

const SECRET = `xoxb-${randomUUID()}`;
const slack = { provider: "SLACK", name: "Alerts", config: { channel: "#alerts" }, credentials: { botToken: SECRET } };

describe("integrations API", () => {
  let cp: ControlPlane;
  let org: TestOrg;
  let cookie: string;
  /** The raw text of every response in this file, to prove no secret ever left. */
  const seen: string[] = [];
  const call = async (path: string, options: { method?: string; body?: unknown; cookie?: string } = {}) => {
    const response = await api(cp.url, path, { cookie, ...options });
    seen.push(JSON.stringify(response.body ?? null));
    return response;
  };
  const base = () => `/api/orgs/${org.orgId}/integrations`;
  const sealedOf = async (orgId: string, id: string) =>
    rawRows.parse(await cp.db.asSystem(orgId, (em) => em.execute("select encrypted_credentials from neuroflow_integrations where id = ?", [id])))[0]
      ?.encrypted_credentials;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    org = await createTestOrg(cp);
    cookie = await login(cp.url, org.email, org.password);
  });

  afterAll(async () => {
    // Whatever happened above, no response carried a secret or its sealed form.
    expect(seen.length).toBeGreaterThan(20);
    for (const text of seen) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toMatch(/"credentials"|encryptedCredentials|encrypted_credentials|"v1\./);
    }
    await cp?.stop();
  });

  it("creates, reads, updates and deletes an integration", async () => {
    const created = await call(base(), { body: slack });
    expect(created.status).toBe(201);
    const integration = integrationOf(created.body);
    expect(integration).toMatchObject({ orgId: org.orgId, provider: "SLACK", name: "Alerts", config: { channel: "#alerts" }, hasCredentials: true, status: "DISCONNECTED", lastTestedAt: null, lastError: null });
    expect(created.body).not.toHaveProperty("integration.credentials");

    const path = `${base()}/${integration.id}`;
    expect(integrationOf((await call(path)).body)).toEqual(integration);

    const renamed = await call(path, { method: "PATCH", body: { name: "Incidents", config: { channel: "C0123456789" } } });
    expect(integrationOf(renamed.body)).toMatchObject({ name: "Incidents", config: { channel: "C0123456789" }, hasCredentials: true });
    const cleared = await call(path, { method: "PATCH", body: { credentials: null } });
    expect(integrationOf(cleared.body).hasCredentials).toBe(false);
    expect(await sealedOf(org.orgId, integration.id)).toBeNull();
    const reset = await call(path, { method: "PATCH", body: { credentials: { botToken: SECRET } } });
    expect(integrationOf(reset.body).hasCredentials).toBe(true);

    expect((await call(path, { method: "DELETE" })).status).toBe(204);
    for (const method of ["GET", "PATCH", "DELETE"]) {
      const gone = await call(path, { method, ...(method === "PATCH" ? { body: { name: "x" } } : {}) });
      expect(gone.status).toBe(404);
      expect(errorOf(gone.body)).toEqual({ code: "NOT_FOUND", message: "integration not found" });
    }
    expect((await call(`${base()}/not-a-uuid`)).status).toBe(404);
  });

  it("stores credentials only sealed, bound to their row, and opens them with the server's key", async () => {
    const integration = integrationOf((await call(base(), { body: slack })).body);
    const sealed = await sealedOf(org.orgId, integration.id);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(SECRET);
    expect(sealed).not.toContain("botToken");

    const cipher = new CredentialsCipher(inject("authSecret"));
    expect(cipher.decrypt(sealed!, integrationCredentialsContext(org.orgId, integration.id))).toEqual({ botToken: SECRET });
    // Copied into another integration's row, it won't open there.
    const other = integrationOf((await call(base(), { body: { provider: "GMAIL", name: "Mail", config: { from: "bot@example.com" } } })).body);
    expect(other.hasCredentials).toBe(false);
    expect(() => cipher.decrypt(sealed!, integrationCredentialsContext(org.orgId, other.id))).toThrow("stored credentials could not be decrypted");
    // The ORM never hands the sealed value to a serializer either.
    const entity = await cp.db.asSystem(org.orgId, (em) => em.findOneOrFail(Integration, { id: integration.id }));
    expect(JSON.stringify(entity)).not.toContain(sealed!);
  });

  it.each([
    ["WEBHOOK over plain http to another host", { provider: "WEBHOOK", name: "w", config: { url: "http://example.com/hook" } }, "must be https://"],
    ["WEBHOOK over ftp", { provider: "WEBHOOK", name: "w", config: { url: "ftp://example.com/hook" } }, "must be https://"],
    ["WEBHOOK with a password in the URL", { provider: "WEBHOOK", name: "w", config: { url: "https://bot:hunter2@example.com/hook" } }, "must not carry a user or password"],
    ["WEBHOOK with no URL", { provider: "WEBHOOK", name: "w", config: {} }, "/config/url"],
    ["HTTP with a relative URL", { provider: "HTTP", name: "h", config: { url: "/hook" } }, "must be an absolute URL"],
    ["HTTP with an unknown method", { provider: "HTTP", name: "h", config: { url: "https://example.com", method: "TRACE" } }, "/config/method"],
    ["SLACK without a channel", { provider: "SLACK", name: "s", config: {} }, "/config/channel"],
    ["SLACK with a bare channel name", { provider: "SLACK", name: "s", config: { channel: "general" } }, "must be #channel-name"],
    ["SLACK with a token in the clear config", { provider: "SLACK", name: "s", config: { channel: "#a", token: SECRET } }, "token"],
    ["GMAIL with a bad sender", { provider: "GMAIL", name: "g", config: { from: "not-an-email" } }, "/config/from"],
    ["an unknown provider", { provider: "TEAMS", name: "t", config: {} }, "/provider"],
    ["an unknown field", { ...slack, status: "CONNECTED" }, "status"],
    ["a credential that isn't a string", { ...slack, credentials: { botToken: 42 } }, "/credentials/botToken"],
    ["an empty name", { ...slack, name: " " }, "/name"],
  ])("refuses %s with 400, echoing no secret", async (_what, body, expected) => {
    const response = await call(base(), { body });
    expect(response.status).toBe(400);
    const error = errorOf(response.body);
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(`${error.message} ${JSON.stringify(error.details)}`).toContain(expected);
  });

  it("accepts https anywhere and plain http to this machine, with provider defaults", async () => {
    for (const url of ["https://hooks.example.com/x?y=1", "http://localhost:8080/hook", "http://127.0.0.1/hook", "http://[::1]:9000/"]) {
      expect((await call(base(), { body: { provider: "WEBHOOK", name: url, config: { url } } })).status, url).toBe(201);
    }
    const http = integrationOf((await call(base(), { body: { provider: "HTTP", name: "h", config: { url: "https://api.example.com" } } })).body);
    expect(http.config).toEqual({ url: "https://api.example.com", method: "POST" });
  });

  it("checks a new config against the integration's provider, which can't change", async () => {
    const webhook = integrationOf((await call(base(), { body: { provider: "WEBHOOK", name: "w", config: { url: "https://a.example.com" }, credentials: { signingKey: SECRET } } })).body);
    const path = `${base()}/${webhook.id}`;
    await cp.db.asSystem(org.orgId, async (em) => {
      const row = await em.findOneOrFail(Integration, { id: webhook.id });
      row.status = "CONNECTED";
      await em.flush();
    });
    for (const [body, expected] of [
      [{ config: { channel: "#a" } }, "invalid WEBHOOK integration"],
      [{ config: { url: "http://example.com" } }, "must be https://"],
      [{ provider: "SLACK" }, "provider"],
      [{}, "give at least one field to change"],
    ] as const) {
      const response = await call(path, { method: "PATCH", body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(`${errorOf(response.body).message} ${JSON.stringify(errorOf(response.body).details)}`).toContain(expected);
    }
    expect(integrationOf((await call(path)).body)).toMatchObject({ config: { url: "https://a.example.com" }, status: "CONNECTED" });
    // A new target invalidates the last connection test.
    const moved = await call(path, { method: "PATCH", body: { config: { url: "https://b.example.com" } } });
    expect(integrationOf(moved.body)).toMatchObject({ config: { url: "https://b.example.com" }, status: "DISCONNECTED", hasCredentials: true });
  });

  it("lists integrations with filters, page by page", async () => {
    const own = await createTestOrg(cp);
    const ownCookie = await login(cp.url, own.email, own.password);
    const ownBase = `/api/orgs/${own.orgId}/integrations`;
    const made: IntegrationView[] = [];
    for (const body of [
      slack,
      { provider: "GMAIL", name: "g", config: { from: "a@example.com" } },
      { provider: "WEBHOOK", name: "w", config: { url: "https://example.com" } },
      { ...slack, name: "second slack" },
      { provider: "HTTP", name: "h", config: { url: "https://example.com", method: "GET" } },
    ]) {
      made.push(integrationOf((await call(ownBase, { body, cookie: ownCookie })).body));
    }
    await cp.db.asSystem(own.orgId, async (em) => {
      const row = await em.findOneOrFail(Integration, { id: made[2]!.id });
      row.status = "ERROR";
      row.lastError = "404 from the endpoint";
      await em.flush();
    });
    const listed: IntegrationView[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = listOf((await call(`${ownBase}?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { cookie: ownCookie })).body);
      listed.push(...page.integrations);
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(listed.map((i) => i.id)).toEqual(made.map((i) => i.id));
    expect(listOf((await call(`${ownBase}?provider=SLACK`, { cookie: ownCookie })).body).integrations.map((i) => i.id)).toEqual([made[0]!.id, made[3]!.id]);
    const failing = listOf((await call(`${ownBase}?status=ERROR`, { cookie: ownCookie })).body).integrations;
    expect(failing).toMatchObject([{ id: made[2]!.id, lastError: "404 from the endpoint" }]);
    for (const bad of ["provider=TEAMS", "status=BROKEN", "limit=101", "secret=1"]) {
      expect((await call(`${ownBase}?${bad}`, { cookie: ownCookie })).status, bad).toBe(400);
    }
  });

  it("lets a VIEWER and a MEMBER read integrations but not change them (403)", async () => {
    for (const role of ["VIEWER", "MEMBER"] as const) {
      const limited = await createTestOrg(cp, { role });
      const limitedCookie = await login(cp.url, limited.email, limited.password);
      const id = await cp.db.asSystem(limited.orgId, async (em) => {
        // "" reads as no credentials; the ORM's create type insists on a string (see integrations.routes.ts).
        const row = em.create(Integration, { organization: limited.orgId, provider: "GMAIL", name: "seeded", config: { from: "a@example.com" }, encryptedCredentials: "" });
        await em.flush();
        return row.id;
      });
      const limitedBase = `/api/orgs/${limited.orgId}/integrations`;
      expect((await call(limitedBase, { cookie: limitedCookie })).status).toBe(200);
      expect((await call(`${limitedBase}/${id}`, { cookie: limitedCookie })).status).toBe(200);
      for (const [method, path, body] of [
        ["POST", limitedBase, slack],
        ["PATCH", `${limitedBase}/${id}`, { name: "mine" }],
        ["DELETE", `${limitedBase}/${id}`, undefined],
      ] as const) {
        const response = await call(path, { method, cookie: limitedCookie, ...(body ? { body } : {}) });
        expect(response.status, `${role} ${method}`).toBe(403);
        expect(errorOf(response.body).code).toBe("FORBIDDEN");
      }
    }
  });

  it("keeps organizations apart", async () => {
    const integration = integrationOf((await call(base(), { body: slack })).body);
    const orgB = await createTestOrg(cp);
    const cookieB = await login(cp.url, orgB.email, orgB.password);
    const viaA = await call(`${base()}/${integration.id}`, { cookie: cookieB });
    expect(errorOf(viaA.body)).toEqual({ code: "NOT_FOUND", message: "organization not found" });
    const listA = await call(base(), { cookie: cookieB });
    expect(listA.status).toBe(404);
    for (const [method, body] of [["GET", undefined], ["PATCH", { name: "stolen", credentials: { botToken: "mine" } }], ["DELETE", undefined]] as const) {
      const response = await call(`/api/orgs/${orgB.orgId}/integrations/${integration.id}`, { method, cookie: cookieB, ...(body ? { body } : {}) });
      expect(response.status, method).toBe(404);
      expect(errorOf(response.body).message).toBe("integration not found");
    }
    expect(listOf((await call(`/api/orgs/${orgB.orgId}/integrations`, { cookie: cookieB })).body).integrations).toEqual([]);
    expect(integrationOf((await call(`${base()}/${integration.id}`)).body)).toEqual(integration);
  });
});
