import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, createTask, getSession, listAgents, login, logout } from "./api.js";
import { AGENT_ID, ORG_ID, agentView, executionView } from "./testing/fixtures.js";

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function stubFetch(response: Response) {
  const fetchMock = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => response);
  vi.stubGlobal("fetch", fetchMock);
  return fetchMock;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const session = {
  user: { id: "1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d", email: "demo@neuroflow.dev", name: "Demo" },
  memberships: [{ orgId: ORG_ID, orgName: "Demo Org", role: "OWNER" }],
};

describe("api", () => {
  it("returns null for the session when not signed in", async () => {
    stubFetch(jsonResponse(401, { error: { code: "UNAUTHENTICATED", message: "sign in first" } }));
    await expect(getSession()).resolves.toBeNull();
  });

  it("logs in with the cookie credentials mode and parses the session", async () => {
    const fetchMock = stubFetch(jsonResponse(200, session));
    await expect(login("demo@neuroflow.dev", "secret")).resolves.toEqual(session);
    const [url, init] = fetchMock.mock.calls[0] ?? [];
    expect(url).toBe("/api/auth/login");
    expect(init?.method).toBe("POST");
    expect(init?.credentials).toBe("same-origin");
    expect(init?.body).toBe(JSON.stringify({ email: "demo@neuroflow.dev", password: "secret" }));
  });

  it("turns an error body into an ApiError with the server's code and message", async () => {
    stubFetch(jsonResponse(401, { error: { code: "UNAUTHENTICATED", message: "wrong email or password" } }));
    const failure = login("demo@neuroflow.dev", "nope").catch((error: unknown) => error);
    await expect(failure).resolves.toBeInstanceOf(ApiError);
    await expect(failure).resolves.toMatchObject({ status: 401, code: "UNAUTHENTICATED", message: "wrong email or password" });
  });

  it("rejects a response that breaks the contract", async () => {
    stubFetch(jsonResponse(200, { agents: [{ ...agentView(), status: "NAPPING" }] }));
    await expect(listAgents(ORG_ID)).rejects.toMatchObject({ code: "INVALID_RESPONSE" });
  });

  it("reports an unreachable server as NETWORK", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    await expect(listAgents(ORG_ID)).rejects.toMatchObject({ code: "NETWORK", status: 0 });
  });

  it("creates a task and returns the pending execution", async () => {
    const execution = executionView({ status: "PENDING", output: null, startedAt: null, completedAt: null, duration: null });
    const fetchMock = stubFetch(jsonResponse(202, { execution }));
    await expect(createTask(ORG_ID, AGENT_ID, "hello")).resolves.toEqual(execution);
    expect(fetchMock.mock.calls[0]?.[0]).toBe(`/api/orgs/${ORG_ID}/agents/${AGENT_ID}/tasks`);
  });

  it("keeps an error status without a JSON body as HTTP_<status>", async () => {
    stubFetch(new Response("<html>Bad Gateway</html>", { status: 502 }));
    await expect(createTask(ORG_ID, AGENT_ID, "hello")).rejects.toMatchObject({ code: "HTTP_502", status: 502 });
  });

  it("logs out without sending a JSON content type on an empty body", async () => {
    const fetchMock = stubFetch(new Response(null, { status: 204 }));
    await expect(logout()).resolves.toBeUndefined();
    expect(fetchMock.mock.calls[0]?.[1]?.headers).toEqual({ accept: "application/json" });
  });
});
