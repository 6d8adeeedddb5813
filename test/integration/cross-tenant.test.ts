import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../../control-plane/server.js";
import { AgentExecution, AiAgent, Experiment, Membership } from "../../entities/index.js";
import { api, createTestOrg, login, startTestControlPlane, type TestOrg } from "../support/harness.js";
import { tryUpgrade } from "../support/ws-client.js";

/**
 * Org B (the attacker, OWNER of B) and a MEMBER of A try to reach or widen into org A's data by
 * every door the API has. Each attack must be refused (401/403/404/409), and afterwards no row of
 * A has changed and nothing of A was ever in a response body.
 */
describe("cross-tenant attacks", () => {
  let cp: ControlPlane;
  let a: TestOrg;
  let b: TestOrg;
  let aCookie: string;
  let bCookie: string;
  let memberOfA: { cookie: string; userId: string };
  let aKey: string;
  let bKey: string;
  let aExecution: string;
  let aExperiment: string;
  const bodies: string[] = [];

  beforeAll(async () => {
    cp = await startTestControlPlane();
    a = await createTestOrg(cp);
    b = await createTestOrg(cp);
    aCookie = await login(cp.url, a.email, a.password);
    bCookie = await login(cp.url, b.email, b.password);
    const member = await createTestOrg(cp, { role: "OWNER" });
    await api(cp.url, `/api/orgs/${a.orgId}/members`, { cookie: aCookie, body: { email: member.email, role: "MEMBER" } });
    memberOfA = { cookie: await login(cp.url, member.email, member.password), userId: member.userId };
    aKey = ((await api(cp.url, `/api/orgs/${a.orgId}/api-keys`, { cookie: aCookie, body: { name: "a", role: "MEMBER" } })).body as { key: string }).key;
    bKey = ((await api(cp.url, `/api/orgs/${b.orgId}/api-keys`, { cookie: bCookie, body: { name: "b", role: "OWNER" } })).body as { key: string }).key;
    const task = await api(cp.url, `/api/orgs/${a.orgId}/agents/${a.agents[0]!.id}/tasks`, { cookie: aCookie, body: { prompt: "A's secret plan" } });
    aExecution = (task.body as { execution: { id: string } }).execution.id;
    const experiment = await api(cp.url, `/api/orgs/${a.orgId}/experiments`, { cookie: aCookie, body: { spec: experimentSpec("A's secret plan") } });
    aExperiment = (experiment.body as { experiment: { id: string } }).experiment.id;
  });

  afterAll(async () => {
    // Nothing of org A ever reached the attacker.
    for (const body of bodies) {
      expect(body).not.toContain(a.agents[0]!.id);
      expect(body).not.toContain("A's secret plan");
    }
    const agents = await cp.db.asSystem(a.orgId, (em) => em.find(AiAgent, { organization: a.orgId }));
    expect(agents.map((agent) => agent.name).sort()).toEqual(a.agents.map((agent) => agent.name).sort());
    expect(agents.every((agent) => agent.isActive)).toBe(true);
    const members = await cp.db.asSystem(a.orgId, (em) => em.find(Membership, { organization: a.orgId }));
    expect(members.map((m) => m.role).sort()).toEqual(["MEMBER", "OWNER"]);
    await cp?.stop();
  });

  const experimentSpec = (name: string) => ({
    name,
    seed: 1,
    trials: 2,
    tasks: { kind: "binary-questions", count: 2 },
    grid: { structures: ["DEMOCRATIC"], rules: [{ kind: "majority" }], teamSizes: [3] },
  });
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  type Attack = {
    method?: string;
    path: () => string;
    body?: () => unknown;
    headers?: () => Record<string, string>;
    cookie?: () => string;
    /** A filter over one's own org may answer 200, with this list empty. */
    emptyList?: string;
  };
  const attacks: Array<[string, Attack]> = [
    ["B reads A's agent list", { path: () => `/api/orgs/${a.orgId}/agents`, cookie: () => bCookie }],
    ["B reads A's agent", { path: () => `/api/orgs/${a.orgId}/agents/${a.agents[0]!.id}`, cookie: () => bCookie }],
    ["B reads A's agent through B's org path", { path: () => `/api/orgs/${b.orgId}/agents/${a.agents[0]!.id}`, cookie: () => bCookie }],
    ["B edits A's agent through B's org path", { method: "PATCH", path: () => `/api/orgs/${b.orgId}/agents/${a.agents[0]!.id}`, body: () => ({ name: "pwned" }), cookie: () => bCookie }],
    ["B deactivates A's agent", { method: "PATCH", path: () => `/api/orgs/${a.orgId}/agents/${a.agents[0]!.id}`, body: () => ({ isActive: false }), cookie: () => bCookie }],
    ["B deletes A's agent through B's org path", { method: "DELETE", path: () => `/api/orgs/${b.orgId}/agents/${a.agents[1]!.id}`, cookie: () => bCookie }],
    ["B deletes A's agent", { method: "DELETE", path: () => `/api/orgs/${a.orgId}/agents/${a.agents[1]!.id}`, cookie: () => bCookie }],
    ["B gives A's agent a task", { method: "POST", path: () => `/api/orgs/${a.orgId}/agents/${a.agents[0]!.id}/tasks`, body: () => ({ prompt: "x" }), cookie: () => bCookie }],
    ["B gives A's agent a task through B's org path", { method: "POST", path: () => `/api/orgs/${b.orgId}/agents/${a.agents[0]!.id}/tasks`, body: () => ({ prompt: "x" }), cookie: () => bCookie }],
    ["B reads A's execution", { path: () => `/api/orgs/${a.orgId}/executions/${aExecution}`, cookie: () => bCookie }],
    ["B reads A's execution through B's org path", { path: () => `/api/orgs/${b.orgId}/executions/${aExecution}`, cookie: () => bCookie }],
    ["B lists A's executions", { path: () => `/api/orgs/${a.orgId}/executions`, cookie: () => bCookie }],
    ["B filters B's executions by A's agent", { path: () => `/api/orgs/${b.orgId}/executions?agentId=${a.agents[0]!.id}`, cookie: () => bCookie, emptyList: "executions" }],
    ["B lists A's agent's executions through B's org path", { path: () => `/api/orgs/${b.orgId}/agents/${a.agents[0]!.id}/executions`, cookie: () => bCookie }],
    ["B creates an agent in A", { method: "POST", path: () => `/api/orgs/${a.orgId}/agents`, body: () => ({ name: "mole", modelConfig: { provider: "simulated", model: "sim-1" } }), cookie: () => bCookie }],
    ["B forges an org header to reach A", { path: () => `/api/orgs/${b.orgId}/agents/${a.agents[0]!.id}`, headers: () => ({ "x-org-id": a.orgId, "x-organization-id": a.orgId }), cookie: () => bCookie }],
    ["B smuggles A's org id into a created agent's body", { method: "POST", path: () => `/api/orgs/${b.orgId}/agents`, body: () => ({ name: "mole", organization: a.orgId, modelConfig: { provider: "simulated", model: "sim-1" } }), cookie: () => bCookie }],
    ["B reads A's org", { path: () => `/api/orgs/${a.orgId}`, cookie: () => bCookie }],
    ["B renames A's org", { method: "PATCH", path: () => `/api/orgs/${a.orgId}`, body: () => ({ name: "pwned" }), cookie: () => bCookie }],
    ["B deletes A's org", { method: "DELETE", path: () => `/api/orgs/${a.orgId}`, cookie: () => bCookie }],
    ["B lists A's members", { path: () => `/api/orgs/${a.orgId}/members`, cookie: () => bCookie }],
    ["B adds itself to A", { method: "POST", path: () => `/api/orgs/${a.orgId}/members`, body: () => ({ email: b.email, role: "OWNER" }), cookie: () => bCookie }],
    ["B removes A's owner", { method: "DELETE", path: () => `/api/orgs/${a.orgId}/members/${a.userId}`, cookie: () => bCookie }],
    ["B lists A's API keys", { path: () => `/api/orgs/${a.orgId}/api-keys`, cookie: () => bCookie }],
    ["B mints NATS credentials for A", { method: "POST", path: () => `/api/orgs/${a.orgId}/nats-credentials`, cookie: () => bCookie }],
    ["B's API key on A's agents", { path: () => `/api/orgs/${a.orgId}/agents`, headers: () => bearer(bKey) }],
    ["B's API key on A's agent via B's path", { path: () => `/api/orgs/${b.orgId}/agents/${a.agents[0]!.id}`, headers: () => bearer(bKey) }],
    ["A's API key used as if for B", { path: () => `/api/orgs/${b.orgId}/agents`, headers: () => bearer(aKey) }],
    ["an API key with another org's id spliced in", { path: () => `/api/orgs/${a.orgId}/agents`, headers: () => bearer(bKey.replace(b.orgId.replaceAll("-", ""), a.orgId.replaceAll("-", ""))) }],
    ["a MEMBER of A promotes itself to OWNER", { method: "PATCH", path: () => `/api/orgs/${a.orgId}/members/${memberOfA.userId}`, body: () => ({ role: "OWNER" }), cookie: () => memberOfA.cookie }],
    ["a MEMBER of A demotes A's owner", { method: "PATCH", path: () => `/api/orgs/${a.orgId}/members/${a.userId}`, body: () => ({ role: "VIEWER" }), cookie: () => memberOfA.cookie }],
    ["a MEMBER of A creates an API key", { method: "POST", path: () => `/api/orgs/${a.orgId}/api-keys`, body: () => ({ name: "escalate", role: "OWNER" }), cookie: () => memberOfA.cookie }],
    ["a MEMBER of A edits an agent (needs ADMIN)", { method: "PATCH", path: () => `/api/orgs/${a.orgId}/agents/${a.agents[0]!.id}`, body: () => ({ name: "pwned" }), cookie: () => memberOfA.cookie }],
    ["A's MEMBER-role API key deletes an agent", { method: "DELETE", path: () => `/api/orgs/${a.orgId}/agents/${a.agents[0]!.id}`, headers: () => bearer(aKey) }],
    ["A's MEMBER-role API key adds a member", { method: "POST", path: () => `/api/orgs/${a.orgId}/members`, body: () => ({ email: b.email, role: "OWNER" }), headers: () => bearer(aKey) }],
    ["a made-up API key", { path: () => `/api/orgs/${a.orgId}/agents`, headers: () => bearer(`nfk_${a.orgId.replaceAll("-", "")}_${"x".repeat(43)}`) }],
    ["a session token signed with another secret", { path: () => `/api/orgs/${a.orgId}/agents`, headers: () => ({ authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl" }) }],
    ["a random org id", { path: () => `/api/orgs/${randomUUID()}/agents`, cookie: () => bCookie }],
    ["B lists A's experiments", { path: () => `/api/orgs/${a.orgId}/experiments`, cookie: () => bCookie }],
    ["B reads A's experiment", { path: () => `/api/orgs/${a.orgId}/experiments/${aExperiment}`, cookie: () => bCookie }],
    ["B reads A's experiment through B's org path", { path: () => `/api/orgs/${b.orgId}/experiments/${aExperiment}`, cookie: () => bCookie }],
    ["B downloads A's experiment results through B's org path", { path: () => `/api/orgs/${b.orgId}/experiments/${aExperiment}/results.csv`, cookie: () => bCookie }],
    ["B cancels A's experiment", { method: "POST", path: () => `/api/orgs/${a.orgId}/experiments/${aExperiment}/cancel`, cookie: () => bCookie }],
    ["B cancels A's experiment through B's org path", { method: "POST", path: () => `/api/orgs/${b.orgId}/experiments/${aExperiment}/cancel`, cookie: () => bCookie }],
    ["B starts an experiment in A", { method: "POST", path: () => `/api/orgs/${a.orgId}/experiments`, body: () => ({ spec: experimentSpec("mole") }), cookie: () => bCookie }],
    ["B's API key on A's experiment via B's path", { path: () => `/api/orgs/${b.orgId}/experiments/${aExperiment}`, headers: () => bearer(bKey) }],
  ];

  it(`has at least 30 attacks (${attacks.length})`, () => {
    expect(attacks.length).toBeGreaterThanOrEqual(30);
  });

  it.each(attacks)("refuses: %s", async (_name, attack) => {
    const headers = attack.headers?.() ?? {};
    const response = await fetch(`${cp.url}${attack.path()}`, {
      method: attack.method ?? "GET",
      headers: {
        ...headers,
        ...(attack.cookie ? { cookie: attack.cookie() } : {}),
        ...(attack.body ? { "content-type": "application/json" } : {}),
      },
      body: attack.body ? JSON.stringify(attack.body()) : undefined,
    });
    const text = await response.text();
    bodies.push(text);
    if (attack.emptyList && response.status === 200) {
      expect(JSON.parse(text)).toMatchObject({ [attack.emptyList]: [] });
      return;
    }
    expect([400, 401, 403, 404, 409]).toContain(response.status);
    expect(JSON.parse(text)).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  });

  it("refuses B's WebSocket into A, with a cookie or with B's API key", async () => {
    const url = `${cp.url.replace("http", "ws")}/ws?orgId=${a.orgId}`;
    expect(await tryUpgrade(url, { cookie: bCookie })).toEqual({ opened: false, status: 404 });
    expect(await tryUpgrade(url, bearer(bKey))).toEqual({ opened: false, status: 404 });
  });

  it("left A's experiment to A: not cancelled, and B started none in A", async () => {
    const experiments = await cp.db.asSystem(a.orgId, (em) => em.find(Experiment, { organization: a.orgId }));
    expect(experiments.map((experiment) => experiment.name)).toEqual(["A's secret plan"]);
    expect(experiments[0]?.status).not.toBe("CANCELLED");
  });

  it("left A's execution as A made it", async () => {
    const row = await cp.db.asSystem(a.orgId, (em) => em.findOneOrFail(AgentExecution, { id: aExecution }));
    expect(row.task).toBe("A's secret plan");
    const executions = await cp.db.asSystem(a.orgId, (em) => em.count(AgentExecution, { organization: a.orgId }));
    expect(executions).toBe(1);
  });
});
