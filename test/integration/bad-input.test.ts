import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { SessionTokens } from "../../control-plane/auth/session.js";
import type { ControlPlane } from "../../control-plane/server.js";
import { AgentExecution } from "../../entities/index.js";
import { api, createTestOrg, login, startTestControlPlane, type TestOrg } from "../support/harness.js";
import { openFrameLog, tryUpgrade } from "../support/ws-client.js";

const errorShape = { error: { code: expect.any(String), message: expect.any(String) } };

describe("bad input gets a clear error and loses no data", () => {
  let cp: ControlPlane;
  let org: TestOrg;
  let other: TestOrg;
  let cookie: string;
  let tasksPath: string;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    org = await createTestOrg(cp);
    other = await createTestOrg(cp);
    cookie = await login(cp.url, org.email, org.password);
    tasksPath = `/api/orgs/${org.orgId}/agents/${org.agents[0]!.id}/tasks`;
  });

  afterAll(async () => {
    await cp?.stop();
  });

  describe("HTTP", () => {
    it("answers an unknown agent id with 404 NOT_FOUND", async () => {
      const response = await api(cp.url, `/api/orgs/${org.orgId}/agents/${randomUUID()}/tasks`, { cookie, body: { prompt: "hi" } });
      expect(response).toEqual({ status: 404, body: { error: { code: "NOT_FOUND", message: "agent not found" } } });
    });

    it("answers a malformed agent id the same way, not with a 500", async () => {
      const response = await api(cp.url, `/api/orgs/${org.orgId}/agents/not-a-uuid/tasks`, { cookie, body: { prompt: "hi" } });
      expect(response).toEqual({ status: 404, body: { error: { code: "NOT_FOUND", message: "agent not found" } } });
    });

    it("does not let one org reach another org's agent, through either org's path", async () => {
      const foreignAgent = other.agents[0]!.id;
      const viaOwnOrg = await api(cp.url, `/api/orgs/${org.orgId}/agents/${foreignAgent}/tasks`, { cookie, body: { prompt: "hi" } });
      expect(viaOwnOrg.status).toBe(404);
      const viaOtherOrg = await api(cp.url, `/api/orgs/${other.orgId}/agents/${foreignAgent}/tasks`, { cookie, body: { prompt: "hi" } });
      expect(viaOtherOrg).toEqual({ status: 404, body: { error: { code: "NOT_FOUND", message: "organization not found" } } });
      const list = await api(cp.url, `/api/orgs/${other.orgId}/agents`, { cookie });
      expect(list.status).toBe(404);
      const executions = await cp.db.asSystem(other.orgId, (em) => em.count(AgentExecution, { agent: foreignAgent }));
      expect(executions).toBe(0);
    });

    it("rejects a malformed body with 400 and the zod issues", async () => {
      const response = await api(cp.url, tasksPath, { cookie, body: { prompt: 42 } });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        error: {
          code: "VALIDATION_FAILED",
          message: expect.stringContaining("/prompt"),
          details: [{ path: "/prompt", code: "invalid_type", message: expect.any(String) }],
        },
      });
    });

    it.each([
      ["an empty prompt", { prompt: "   " }],
      ["a missing prompt", {}],
      ["an unknown field", { prompt: "hi", priority: "urgent" }],
      ["an array body", [{ prompt: "hi" }]],
    ])("rejects %s with 400 VALIDATION_FAILED", async (_what, body) => {
      const response = await api(cp.url, tasksPath, { cookie, body });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: { code: "VALIDATION_FAILED", details: expect.any(Array) } });
    });

    it("rejects a NUL character anywhere in a JSON body with 400, not a database error", async () => {
      for (const body of [{ prompt: "a\u0000b" }, { prompt: "ok", ["k\u0000"]: 1 }]) {
        const response = await api(cp.url, tasksPath, { cookie, body });
        expect(response).toMatchObject({ status: 400, body: { error: { code: "VALIDATION_FAILED", message: expect.stringContaining("U+0000") } } });
      }
      const org = await api(cp.url, "/api/orgs", { cookie, body: { name: "bad\u0000name", slug: "nul-test" } });
      expect(org.status).toBe(400);
    });

    it("rejects lone surrogates, NUL in query strings and absurd nesting with 400", async () => {
      expect((await api(cp.url, tasksPath, { cookie, rawBody: '{"prompt":"\\ud800"}' })).status).toBe(400);
      const search = await api(cp.url, `/api/orgs/${org.orgId}/workflows?search=%00`, { cookie });
      expect(search).toMatchObject({ status: 400, body: { error: { code: "VALIDATION_FAILED" } } });
      const deep = `{"prompt":"x","extra":${"[".repeat(100)}${"]".repeat(100)}}`;
      expect((await api(cp.url, tasksPath, { cookie, rawBody: deep })).status).toBe(400);
    });

    it("rejects broken JSON with 400", async () => {
      const response = await api(cp.url, tasksPath, { cookie, rawBody: '{"prompt": "hi"' });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject(errorShape);
    });

    it("rejects a body over the limit with 413 PAYLOAD_TOO_LARGE", async () => {
      const response = await api(cp.url, tasksPath, { cookie, body: { prompt: "x".repeat(300 * 1024) } });
      expect(response).toEqual({ status: 413, body: { error: { code: "PAYLOAD_TOO_LARGE", message: "request body is too large" } } });
    });

    it("asks for credentials (401) when there are none, or they are forged or expired", async () => {
      expect((await api(cp.url, tasksPath, { body: { prompt: "hi" } })).status).toBe(401);
      const forged = await new SessionTokens("another-secret-that-is-long-enough-000").issue(org.userId);
      const withForged = await api(cp.url, tasksPath, { body: { prompt: "hi" }, headers: { authorization: `Bearer ${forged}` } });
      expect(withForged).toEqual({ status: 401, body: { error: { code: "UNAUTHENTICATED", message: "session is invalid or expired" } } });
      const garbage = await api(cp.url, `/api/orgs/${org.orgId}/agents`, { cookie: "nf_session=garbage" });
      expect(garbage.status).toBe(401);
    });

    it("refuses a wrong password without saying which part was wrong", async () => {
      const response = await api(cp.url, "/api/auth/login", { body: { email: org.email, password: "wrong" } });
      expect(response).toEqual({ status: 401, body: { error: { code: "UNAUTHENTICATED", message: "wrong email or password" } } });
      const unknown = await api(cp.url, "/api/auth/login", { body: { email: "nobody@test.neuroflow.dev", password: "wrong" } });
      expect(unknown).toEqual(response);
    });

    it("lets a VIEWER read but not run agents (403)", async () => {
      const viewerOrg = await createTestOrg(cp, { role: "VIEWER" });
      const viewerCookie = await login(cp.url, viewerOrg.email, viewerOrg.password);
      expect((await api(cp.url, `/api/orgs/${viewerOrg.orgId}/agents`, { cookie: viewerCookie })).status).toBe(200);
      const run = await api(cp.url, `/api/orgs/${viewerOrg.orgId}/agents/${viewerOrg.agents[0]!.id}/tasks`, {
        cookie: viewerCookie,
        body: { prompt: "hi" },
      });
      expect(run.status).toBe(403);
      expect(run.body).toMatchObject({ error: { code: "FORBIDDEN" } });
    });

    it("never sends a password hash or the session token in a body", async () => {
      const response = await fetch(`${cp.url}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: org.email, password: org.password }),
      });
      const text = await response.text();
      expect(text).not.toMatch(/argon2|passwordHash|password_hash/);
      const token = response.headers.get("set-cookie")?.split(";")[0]?.split("=")[1] ?? "";
      expect(token.length).toBeGreaterThan(20);
      expect(text).not.toContain(token);
      expect(response.headers.get("set-cookie")).toMatch(/HttpOnly; SameSite=Strict/);
    });

    it("answers an unknown API route with a JSON 404", async () => {
      const response = await api(cp.url, "/api/nope", { cookie });
      expect(response).toMatchObject({ status: 404, body: { error: { code: "NOT_FOUND" } } });
    });
  });

  describe("WebSocket", () => {
    const wsUrl = (orgId: string) => `${cp.url.replace("http", "ws")}/ws?orgId=${orgId}`;

    it("refuses an upgrade without credentials with 401", async () => {
      expect(await tryUpgrade(wsUrl(org.orgId))).toEqual({ opened: false, status: 401 });
    });

    it("refuses an upgrade with a forged session with 401", async () => {
      const forged = await new SessionTokens("another-secret-that-is-long-enough-000").issue(org.userId);
      expect(await tryUpgrade(wsUrl(org.orgId), { cookie: `nf_session=${forged}` })).toEqual({ opened: false, status: 401 });
    });

    it("refuses an upgrade to another org, or with no org, with 404", async () => {
      expect(await tryUpgrade(wsUrl(other.orgId), { cookie })).toEqual({ opened: false, status: 404 });
      expect(await tryUpgrade(`${cp.url.replace("http", "ws")}/ws`, { cookie })).toEqual({ opened: false, status: 404 });
    });

    it("refuses a cross-origin upgrade with 403 and unknown paths with 404", async () => {
      expect(await tryUpgrade(wsUrl(org.orgId), { cookie, origin: "https://evil.example" })).toEqual({ opened: false, status: 403 });
      expect(await tryUpgrade(`${cp.url.replace("http", "ws")}/other`, { cookie })).toEqual({ opened: false, status: 404 });
    });

    it("answers ping with pong and closes with 4400 on an invalid frame", async () => {
      const feed = await openFrameLog(cp.url, org.orgId, cookie);
      feed.socket.send(JSON.stringify({ type: "ping", id: "p1" }));
      await feed.waitFor((f) => f.type === "pong" && f.id === "p1");
      const closed = new Promise<number>((resolve) => feed.socket.once("close", (code) => resolve(code)));
      feed.socket.send("{not json");
      expect(await closed).toBe(4400);
      expect(feed.socket.readyState).toBe(WebSocket.CLOSED);
    });
  });
});
