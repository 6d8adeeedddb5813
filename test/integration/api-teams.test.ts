import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { demoAgents } from "../../control-plane/persistence/seed.js";
import type { ControlPlane } from "../../control-plane/server.js";
import { AgentTeam, TeamExecution, type ExecutionStatus } from "../../entities/index.js";
import {
  errorBodySchema,
  nextCursorSchema,
  teamExecutionViewSchema,
  teamMemberViewSchema,
  teamViewSchema,
  type TeamView,
} from "../../runtime/protocol/index.js";
import { api, createTestOrg, login, startTestControlPlane, type TestOrg } from "../support/harness.js";

const teamOf = (body: unknown) => z.object({ team: teamViewSchema }).parse(body).team;
const teamsOf = (body: unknown) => z.object({ teams: z.array(teamViewSchema), nextCursor: nextCursorSchema }).parse(body);
const memberOf = (body: unknown) => z.object({ member: teamMemberViewSchema }).parse(body).member;
const membersOf = (body: unknown) => z.object({ members: z.array(teamMemberViewSchema), nextCursor: nextCursorSchema }).parse(body);
const executionsOf = (body: unknown) => z.object({ executions: z.array(teamExecutionViewSchema), nextCursor: nextCursorSchema }).parse(body);
const errorOf = (body: unknown) => errorBodySchema.parse(body).error;

type Ids = readonly [string, string, string, string, string];
const member = (agentId: string, role = "WORKER", priority = 0) => ({ agentId, role, priority });
/** A valid team of each structure, over the org's agents. */
const valid = {
  HIERARCHICAL: ([a, b]: Ids) => ({ name: "H", structure: "HIERARCHICAL", coordination: {}, members: [member(a, "LEADER"), member(b)] }),
  COLLABORATIVE: ([a, b]: Ids) => ({
    name: "C",
    structure: "COLLABORATIVE",
    coordination: { maxRounds: 4, convergence: { method: "unchanged", threshold: 0.5 }, synthesiser: "coordinator" },
    members: [member(a, "COORDINATOR"), member(b)],
  }),
  PIPELINE: ([a, b]: Ids) => ({ name: "P", structure: "PIPELINE", coordination: { onStageFailure: "retry", maxRetries: 2 }, members: [member(a, "WORKER", 1), member(b, "SPECIALIST", 2)] }),
  DEMOCRATIC: ([a, b, c]: Ids) => ({ name: "D", structure: "DEMOCRATIC", coordination: { rule: { kind: "majority", quorum: 0.6 } }, members: [member(a), member(b), member(c)] }),
};

describe("teams API", () => {
  let cp: ControlPlane;
  let org: TestOrg;
  let cookie: string;
  let ids: Ids;
  const teamsPath = () => `/api/orgs/${org.orgId}/teams`;
  const create = async (body: unknown, as = cookie, orgId = org.orgId) => api(cp.url, `/api/orgs/${orgId}/teams`, { cookie: as, body });

  beforeAll(async () => {
    cp = await startTestControlPlane();
    org = await createTestOrg(cp, { agents: demoAgents });
    cookie = await login(cp.url, org.email, org.password);
    const [a, b, c, d, e] = org.agents.map((agent) => agent.id);
    ids = [a!, b!, c!, d!, e!];
  });

  afterAll(async () => {
    await cp?.stop();
  });

  it("creates, reads, updates and deletes a team", async () => {
    const created = await create({ ...valid.HIERARCHICAL(ids), description: "plans", members: [member(ids[1], "WORKER", 2), member(ids[0], "LEADER", 1)] });
    expect(created.status).toBe(201);
    const team = teamOf(created.body);
    expect(team).toMatchObject({
      orgId: org.orgId,
      name: "H",
      description: "plans",
      structure: "HIERARCHICAL",
      // Defaults are filled in and stored: a run later sees the full config.
      coordination: { maxSubtasks: 5, allowRedelegation: true, reviewResults: true, leaderMayAnswer: false },
      isActive: true,
      totalExecutions: 0,
    });
    expect(team.members.map((m) => [m.agentId, m.role, m.priority])).toEqual([[ids[0], "LEADER", 1], [ids[1], "WORKER", 2]]);

    const path = `${teamsPath()}/${team.id}`;
    expect(teamOf((await api(cp.url, path, { cookie })).body)).toEqual(team);

    const renamed = await api(cp.url, path, { cookie, method: "PATCH", body: { name: "Renamed", isActive: false, description: null } });
    expect(renamed.status).toBe(200);
    expect(teamOf(renamed.body)).toMatchObject({ name: "Renamed", isActive: false, description: null, members: team.members });

    // Members replaced: the agent that stays keeps its member row, with its new role.
    const leaderRow = team.members[0]!;
    const replaced = await api(cp.url, path, {
      cookie,
      method: "PATCH",
      body: { members: [member(ids[0], "LEADER"), member(ids[2], "SPECIALIST"), member(ids[3])] },
    });
    expect(replaced.status).toBe(200);
    const after = teamOf(replaced.body);
    expect(after.members.map((m) => m.agentId).sort()).toEqual([ids[0], ids[2], ids[3]].sort());
    expect(after.members.find((m) => m.agentId === ids[0])?.id).toBe(leaderRow.id);
    expect(teamOf((await api(cp.url, path, { cookie })).body).members).toEqual(after.members);

    expect((await api(cp.url, path, { cookie, method: "DELETE" })).status).toBe(204);
    for (const method of ["GET", "PATCH", "DELETE"]) {
      const gone = await api(cp.url, path, { cookie, method, ...(method === "PATCH" ? { body: { name: "x" } } : {}) });
      expect(gone.status).toBe(404);
      expect(errorOf(gone.body)).toEqual({ code: "NOT_FOUND", message: "team not found" });
    }
    expect((await api(cp.url, `${teamsPath()}/not-a-uuid`, { cookie })).status).toBe(404);
  });

  it("creates a team of each structure with its own config", async () => {
    for (const [structure, make] of Object.entries(valid)) {
      const response = await create(make(ids));
      expect(response.status, structure).toBe(201);
      expect(teamOf(response.body).structure).toBe(structure);
    }
    const democratic = await create(valid.DEMOCRATIC(ids));
    expect(teamOf(democratic.body).coordination).toEqual({
      rule: { kind: "majority", quorum: 0.6, tieBreak: "revote", abstentionsCount: false },
      debateRounds: 0,
      memberTimeoutMs: 60_000,
    });
  });

  it("lists teams with filters, page by page", async () => {
    const own = await createTestOrg(cp, { agents: demoAgents });
    const ownCookie = await login(cp.url, own.email, own.password);
    const ownIds: Ids = [own.agents[0]!.id, own.agents[1]!.id, own.agents[2]!.id, own.agents[3]!.id, own.agents[4]!.id];
    const made: TeamView[] = [];
    // Made one after another, so they list in this order; the second is inactive.
    for (const make of [valid.HIERARCHICAL, valid.COLLABORATIVE, valid.PIPELINE, valid.DEMOCRATIC, valid.PIPELINE]) {
      const response = await create({ ...make(ownIds), name: `team ${made.length}`, isActive: made.length !== 1 }, ownCookie, own.orgId);
      made.push(teamOf(response.body));
    }
    const base = `/api/orgs/${own.orgId}/teams`;
    const seen: TeamView[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await api(cp.url, `${base}?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { cookie: ownCookie });
      expect(response.status).toBe(200);
      const result = teamsOf(response.body);
      expect(result.teams.length).toBeLessThanOrEqual(2);
      seen.push(...result.teams);
      cursor = result.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.map((t) => t.id)).toEqual(made.map((t) => t.id));
    expect(seen.every((t) => t.members.length >= 2)).toBe(true);

    const pipelines = teamsOf((await api(cp.url, `${base}?structure=PIPELINE`, { cookie: ownCookie })).body).teams;
    expect(pipelines.map((t) => t.id)).toEqual([made[2]!.id, made[4]!.id]);
    const inactive = teamsOf((await api(cp.url, `${base}?isActive=false`, { cookie: ownCookie })).body).teams;
    expect(inactive.map((t) => t.id)).toEqual([made[1]!.id]);
    const both = teamsOf((await api(cp.url, `${base}?structure=PIPELINE&isActive=true&limit=1`, { cookie: ownCookie })).body);
    expect(both.teams.map((t) => t.id)).toEqual([made[2]!.id]);
    expect(both.nextCursor).not.toBeNull();
    for (const bad of ["structure=ANARCHY", "isActive=maybe", "limit=0", "cursor=garbage", "colour=red"]) {
      expect((await api(cp.url, `${base}?${bad}`, { cookie: ownCookie })).status, bad).toBe(400);
    }
  });

  const cases: Array<[string, (ids: Ids) => unknown, string]> = [
    ["HIERARCHICAL maxSubtasks 0", (i) => ({ ...valid.HIERARCHICAL(i), coordination: { maxSubtasks: 0 } }), "/coordination/maxSubtasks"],
    ["HIERARCHICAL maxSubtasks 21", (i) => ({ ...valid.HIERARCHICAL(i), coordination: { maxSubtasks: 21 } }), "/coordination/maxSubtasks"],
    ["a leader that may answer itself", (i) => ({ ...valid.HIERARCHICAL(i), coordination: { leaderMayAnswer: true } }), "/coordination/leaderMayAnswer"],
    ["HIERARCHICAL with a PIPELINE config", (i) => ({ ...valid.HIERARCHICAL(i), coordination: { onStageFailure: "stop" } }), "onStageFailure"],
    ["COLLABORATIVE maxRounds 0", (i) => ({ ...valid.COLLABORATIVE(i), coordination: { maxRounds: 0 } }), "/coordination/maxRounds"],
    ["COLLABORATIVE threshold above 1", (i) => ({ ...valid.COLLABORATIVE(i), coordination: { convergence: { method: "similarity", threshold: 1.5 } } }), "/coordination/convergence/threshold"],
    ["COLLABORATIVE unknown convergence", (i) => ({ ...valid.COLLABORATIVE(i), coordination: { convergence: { method: "vibes", threshold: 0.5 } } }), "/coordination/convergence/method"],
    ["COLLABORATIVE unknown synthesiser", (i) => ({ ...valid.COLLABORATIVE(i), coordination: { synthesiser: "random" } }), "/coordination/synthesiser"],
    ["PIPELINE unknown onStageFailure", (i) => ({ ...valid.PIPELINE(i), coordination: { onStageFailure: "ignore" } }), "/coordination/onStageFailure"],
    ["PIPELINE maxRetries 6", (i) => ({ ...valid.PIPELINE(i), coordination: { maxRetries: 6 } }), "/coordination/maxRetries"],
    ["PIPELINE retry with no retries", (i) => ({ ...valid.PIPELINE(i), coordination: { onStageFailure: "retry", maxRetries: 0 } }), 'onStageFailure "retry" needs maxRetries'],
    ["DEMOCRATIC unknown rule", (i) => ({ ...valid.DEMOCRATIC(i), coordination: { rule: { kind: "dictatorship" } } }), "/coordination/rule"],
    ["DEMOCRATIC quorum above 1", (i) => ({ ...valid.DEMOCRATIC(i), coordination: { rule: { kind: "plurality", quorum: 2 } } }), "/coordination/rule/quorum"],
    ["DEMOCRATIC misspelt rule option", (i) => ({ ...valid.DEMOCRATIC(i), coordination: { rule: { kind: "borda", quorom: 0.5 } } }), "quorom"],
    ["DEMOCRATIC debateRounds 6", (i) => ({ ...valid.DEMOCRATIC(i), coordination: { rule: { kind: "borda" }, debateRounds: 6 } }), "/coordination/debateRounds"],
    ["DEMOCRATIC without a rule", (i) => ({ ...valid.DEMOCRATIC(i), coordination: {} }), "/coordination/rule"],
    ["DEMOCRATIC with one member", (i) => ({ ...valid.DEMOCRATIC(i), members: [member(i[0])] }), "DEMOCRATIC needs at least 2 members to vote (found 1)"],
    ["DEMOCRATIC below minVoters", (i) => ({ ...valid.DEMOCRATIC(i), coordination: { rule: { kind: "majority" }, minVoters: 4 } }), "DEMOCRATIC needs at least 4 members to vote (found 3)"],
    ["a leader tie-break without a LEADER", (i) => ({ ...valid.DEMOCRATIC(i), coordination: { rule: { kind: "plurality", tieBreak: "leader" } } }), 'tieBreak "leader" needs exactly one LEADER'],
    ["PIPELINE with no members", (i) => ({ ...valid.PIPELINE(i), members: [] }), "PIPELINE needs at least one member"],
    ["PIPELINE stages on one priority", (i) => ({ ...valid.PIPELINE(i), members: [member(i[0], "WORKER", 1), member(i[1], "WORKER", 1)] }), "share priority 1"],
    ["HIERARCHICAL without a leader", (i) => ({ ...valid.HIERARCHICAL(i), members: [member(i[0]), member(i[1])] }), "HIERARCHICAL needs exactly one LEADER (found 0)"],
    ["HIERARCHICAL with two leaders", (i) => ({ ...valid.HIERARCHICAL(i), members: [member(i[0], "LEADER"), member(i[1], "LEADER"), member(i[2])] }), "(found 2)"],
    ["HIERARCHICAL with only the leader", (i) => ({ ...valid.HIERARCHICAL(i), members: [member(i[0], "LEADER")] }), "at least one WORKER or SPECIALIST"],
    ["a coordinator synthesiser without a COORDINATOR", (i) => ({ ...valid.COLLABORATIVE(i), members: [member(i[0]), member(i[1])] }), 'synthesiser "coordinator" needs exactly one COORDINATOR'],
    ["COLLABORATIVE with no members", (i) => ({ ...valid.COLLABORATIVE(i), coordination: { synthesiser: "highest-priority" }, members: [] }), "COLLABORATIVE needs at least one member"],
    ["duplicate members", (i) => ({ ...valid.HIERARCHICAL(i), members: [member(i[0], "LEADER"), member(i[1]), member(i[1], "SPECIALIST")] }), "is listed more than once"],
    ["an unknown field", (i) => ({ ...valid.HIERARCHICAL(i), priority: "high" }), "priority"],
    ["an unknown member field", (i) => ({ ...valid.HIERARCHICAL(i), members: [{ ...member(i[0], "LEADER"), weight: 2 }, member(i[1])] }), "weight"],
    ["an unknown role", (i) => ({ ...valid.HIERARCHICAL(i), members: [member(i[0], "LEADER"), member(i[1], "INTERN")] }), "/members/1/role"],
    ["a malformed agent id", (i) => ({ ...valid.HIERARCHICAL(i), members: [member(i[0], "LEADER"), member("agent-7")] }), "/members/1/agentId"],
    ["an unknown structure", (i) => ({ ...valid.HIERARCHICAL(i), structure: "ANARCHY" }), "/structure"],
    ["a missing coordination", (i) => ({ name: "x", structure: "PIPELINE", members: [member(i[0])] }), "/coordination"],
    ["an empty name", (i) => ({ ...valid.PIPELINE(i), name: "  " }), "/name"],
  ];

  it.each(cases)("refuses %s with 400 and says why", async (_what, make, expected) => {
    const response = await create(make(ids));
    expect(response.status).toBe(400);
    const error = errorOf(response.body);
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(`${error.message} ${JSON.stringify(error.details)}`).toContain(expected);
  });

  it("re-checks the resulting team on update and leaves it untouched when refused", async () => {
    const team = teamOf((await create(valid.HIERARCHICAL(ids))).body);
    const path = `${teamsPath()}/${team.id}`;
    const patch = (body: unknown) => api(cp.url, path, { cookie, method: "PATCH", body });

    const refusals: Array<[unknown, string]> = [
      [{ structure: "PIPELINE" }, "changing the structure to PIPELINE needs its coordination"],
      [{ coordination: { onStageFailure: "stop" } }, "onStageFailure"],
      [{ coordination: { maxSubtasks: 50 } }, "/coordination/maxSubtasks"],
      [{ members: [member(ids[0]), member(ids[1])] }, "HIERARCHICAL needs exactly one LEADER (found 0)"],
      [{ members: [member(ids[0], "LEADER"), member(ids[0])] }, "listed more than once"],
      [{ structure: "DEMOCRATIC", coordination: { rule: { kind: "majority" }, minVoters: 3 } }, "at least 3 members"],
      [{}, "give at least one field to change"],
      [{ name: "x", owner: "me" }, "owner"],
    ];
    for (const [body, expected] of refusals) {
      const response = await patch(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const error = errorOf(response.body);
      expect(`${error.message} ${JSON.stringify(error.details)}`).toContain(expected);
    }
    expect(teamOf((await api(cp.url, path, { cookie })).body)).toEqual(team);

    const switched = await patch({ structure: "PIPELINE", coordination: { onStageFailure: "skip" }, members: [member(ids[0], "WORKER", 1), member(ids[1], "WORKER", 2)] });
    expect(switched.status).toBe(200);
    expect(teamOf(switched.body)).toMatchObject({ structure: "PIPELINE", coordination: { onStageFailure: "skip", maxRetries: 1 } });
    const tuned = await patch({ coordination: { onStageFailure: "retry", maxRetries: 3 } });
    expect(teamOf(tuned.body).coordination).toEqual({ onStageFailure: "retry", maxRetries: 3 });
  });

  it("manages members one by one, re-checking the structure after each change", async () => {
    const team = teamOf((await create(valid.HIERARCHICAL(ids))).body);
    const membersPath = `${teamsPath()}/${team.id}/members`;
    const worker = team.members.find((m) => m.role === "WORKER")!;

    const added = await api(cp.url, membersPath, { cookie, body: { agentId: ids[2], role: "SPECIALIST", priority: 3 } });
    expect(added.status).toBe(201);
    const specialist = memberOf(added.body);
    expect(specialist).toMatchObject({ teamId: team.id, agentId: ids[2], role: "SPECIALIST", priority: 3 });
    expect(memberOf((await api(cp.url, membersPath, { cookie, body: { agentId: ids[3] } })).body)).toMatchObject({ role: "WORKER", priority: 0 });

    const firstPage = membersOf((await api(cp.url, `${membersPath}?limit=3`, { cookie })).body);
    const secondPage = membersOf((await api(cp.url, `${membersPath}?limit=3&cursor=${firstPage.nextCursor}`, { cookie })).body);
    const listed = [...firstPage.members, ...secondPage.members].map((m) => m.agentId);
    expect(firstPage.members).toHaveLength(3);
    expect([...listed].sort()).toEqual([ids[0], ids[1], ids[2], ids[3]].sort());
    expect(secondPage.nextCursor).toBeNull();

    const again = await api(cp.url, membersPath, { cookie, body: { agentId: ids[2] } });
    expect(again.status).toBe(400);
    expect(errorOf(again.body).message).toContain("listed more than once");
    const secondLeader = await api(cp.url, `${membersPath}/${worker.id}`, { cookie, method: "PATCH", body: { role: "LEADER" } });
    expect(secondLeader.status).toBe(400);
    expect(errorOf(secondLeader.body).message).toContain("exactly one LEADER (found 2)");

    const promoted = await api(cp.url, `${membersPath}/${specialist.id}`, { cookie, method: "PATCH", body: { priority: 9 } });
    expect(memberOf(promoted.body)).toMatchObject({ id: specialist.id, role: "SPECIALIST", priority: 9 });

    const leader = team.members.find((m) => m.role === "LEADER")!;
    const noLeader = await api(cp.url, `${membersPath}/${leader.id}`, { cookie, method: "DELETE" });
    expect(noLeader.status).toBe(400);
    expect(errorOf(noLeader.body).message).toContain("exactly one LEADER (found 0)");
    for (const m of [worker, specialist]) expect((await api(cp.url, `${membersPath}/${m.id}`, { cookie, method: "DELETE" })).status).toBe(204);
    const left = teamOf((await api(cp.url, `${teamsPath()}/${team.id}`, { cookie })).body).members;
    expect(left.map((m) => m.agentId)).toEqual([ids[0], ids[3]]);
    const lastWorker = left.find((m) => m.role === "WORKER")!;
    const onlyLeader = await api(cp.url, `${membersPath}/${lastWorker.id}`, { cookie, method: "DELETE" });
    expect(errorOf(onlyLeader.body).message).toContain("at least one WORKER or SPECIALIST");

    for (const id of [worker.id, randomUUID(), "nope"]) {
      const missing = await api(cp.url, `${membersPath}/${id}`, { cookie, method: "PATCH", body: { priority: 1 } });
      expect(errorOf(missing.body)).toEqual({ code: "NOT_FOUND", message: "team member not found" });
    }
    expect(errorOf((await api(cp.url, `${teamsPath()}/${randomUUID()}/members`, { cookie })).body).message).toBe("team not found");
  });

  it("lets a VIEWER and a MEMBER read teams but not change them (403)", async () => {
    for (const role of ["VIEWER", "MEMBER"] as const) {
      const limited = await createTestOrg(cp, { role, agents: demoAgents.slice(0, 3) });
      const limitedCookie = await login(cp.url, limited.email, limited.password);
      const agentIds: Ids = [limited.agents[0]!.id, limited.agents[1]!.id, limited.agents[2]!.id, "", ""];
      // Made by the system, since this user may not.
      const teamId = await cp.db.asSystem(limited.orgId, async (em) => {
        const team = em.create(AgentTeam, { organization: limited.orgId, name: "Seeded", structure: "PIPELINE", coordination: { onStageFailure: "stop", maxRetries: 1 } });
        await em.flush();
        return team.id;
      });
      const base = `/api/orgs/${limited.orgId}/teams`;
      expect((await api(cp.url, base, { cookie: limitedCookie })).status).toBe(200);
      expect((await api(cp.url, `${base}/${teamId}`, { cookie: limitedCookie })).status).toBe(200);
      expect((await api(cp.url, `${base}/${teamId}/members`, { cookie: limitedCookie })).status).toBe(200);
      const attempts = [
        await create(valid.PIPELINE(agentIds), limitedCookie, limited.orgId),
        await api(cp.url, `${base}/${teamId}`, { cookie: limitedCookie, method: "PATCH", body: { name: "mine" } }),
        await api(cp.url, `${base}/${teamId}/members`, { cookie: limitedCookie, body: { agentId: agentIds[0] } }),
        await api(cp.url, `${base}/${teamId}`, { cookie: limitedCookie, method: "DELETE" }),
      ];
      for (const attempt of attempts) {
        expect(attempt.status, role).toBe(403);
        expect(errorOf(attempt.body).code).toBe("FORBIDDEN");
      }
    }
  });

  it("keeps organizations apart: no reading, changing or borrowing another org's teams and agents", async () => {
    const teamA = teamOf((await create(valid.HIERARCHICAL(ids))).body);
    const orgB = await createTestOrg(cp, { agents: demoAgents.slice(0, 3) });
    const cookieB = await login(cp.url, orgB.email, orgB.password);
    const idsB: Ids = [orgB.agents[0]!.id, orgB.agents[1]!.id, orgB.agents[2]!.id, "", ""];
    const teamB = teamOf((await create(valid.HIERARCHICAL(idsB), cookieB, orgB.orgId)).body);
    const baseB = `/api/orgs/${orgB.orgId}/teams`;

    // Through org A's path: B is not a member, so A's org itself is invisible.
    const viaA = await api(cp.url, `${teamsPath()}/${teamA.id}`, { cookie: cookieB });
    expect(viaA.status).toBe(404);
    expect(errorOf(viaA.body).message).toBe("organization not found");
    // Through B's own path: A's team does not exist there.
    for (const [method, suffix, body] of [
      ["GET", "", undefined],
      ["PATCH", "", { name: "stolen" }],
      ["DELETE", "", undefined],
      ["GET", "/members", undefined],
      ["POST", "/members", { agentId: idsB[2] }],
    ] as const) {
      const response = await api(cp.url, `${baseB}/${teamA.id}${suffix}`, { cookie: cookieB, method, ...(body ? { body } : {}) });
      expect(response.status, `${method} ${suffix}`).toBe(404);
      expect(errorOf(response.body).message).toBe("team not found");
    }
    const memberA = teamA.members[0]!;
    const crossMember = await api(cp.url, `${baseB}/${teamB.id}/members/${memberA.id}`, { cookie: cookieB, method: "DELETE" });
    expect(errorOf(crossMember.body).message).toBe("team member not found");

    // A's agents can't join B's teams, whichever way they are offered.
    const borrowed = [
      await api(cp.url, `${baseB}/${teamB.id}/members`, { cookie: cookieB, body: { agentId: ids[2] } }),
      await create({ ...valid.HIERARCHICAL(idsB), members: [member(idsB[0], "LEADER"), member(ids[1])] }, cookieB, orgB.orgId),
      await api(cp.url, `${baseB}/${teamB.id}`, { cookie: cookieB, method: "PATCH", body: { members: [member(idsB[0], "LEADER"), member(ids[1])] } }),
    ];
    for (const response of borrowed) {
      expect(response.status).toBe(404);
      expect(errorOf(response.body)).toMatchObject({ code: "NOT_FOUND", message: "agent not found" });
    }
    expect(teamOf((await api(cp.url, `${teamsPath()}/${teamA.id}`, { cookie })).body)).toEqual(teamA);
    expect(teamOf((await api(cp.url, `${baseB}/${teamB.id}`, { cookie: cookieB })).body).members).toEqual(teamB.members);
  });

  it("lists and shows team executions with filters, and keeps a team with live runs from deletion", async () => {
    const own = await createTestOrg(cp, { agents: demoAgents.slice(0, 3) });
    const ownCookie = await login(cp.url, own.email, own.password);
    const ownIds: Ids = [own.agents[0]!.id, own.agents[1]!.id, own.agents[2]!.id, "", ""];
    const one = teamOf((await create(valid.HIERARCHICAL(ownIds), ownCookie, own.orgId)).body);
    const two = teamOf((await create(valid.DEMOCRATIC(ownIds), ownCookie, own.orgId)).body);
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 12, minute));
    const rows: Array<[TeamView, ExecutionStatus, number]> = [[one, "COMPLETED", 0], [one, "FAILED", 10], [two, "COMPLETED", 20], [one, "RUNNING", 30]];
    const executionIds = await cp.db.asSystem(own.orgId, async (em) => {
      const created = rows.map(([team, status, minute]) =>
        em.create(TeamExecution, {
          organization: own.orgId,
          team: team.id,
          structure: team.structure,
          coordination: team.coordination,
          status,
          input: { goal: `goal ${minute}` },
          output: status === "COMPLETED" ? { text: "done" } : null,
          error: status === "FAILED" ? { code: "PROVIDER_ERROR", message: "model down", retryable: true } : null,
          agentParticipation: [{ agentId: ownIds[0], contributions: 1 }],
          results: [],
          log: [{ type: "team.started" }],
          tokensUsed: 42,
          cost: 0.5,
          createdAt: at(minute),
        }),
      );
      await em.flush();
      return created.map((row) => row.id);
    });
    const base = `/api/orgs/${own.orgId}/team-executions`;
    const list = async (query: string) => executionsOf((await api(cp.url, `${base}?${query}`, { cookie: ownCookie })).body);

    expect((await list("")).executions.map((e) => e.id)).toEqual([...executionIds].reverse());
    expect((await list(`teamId=${one.id}&status=COMPLETED`)).executions.map((e) => e.id)).toEqual([executionIds[0]]);
    expect((await list(`from=${at(10).toISOString()}&to=${at(30).toISOString()}`)).executions.map((e) => e.id)).toEqual([executionIds[2], executionIds[1]]);
    const firstPage = await list("limit=3");
    expect((await list(`limit=3&cursor=${firstPage.nextCursor}`)).executions.map((e) => e.id)).toEqual([executionIds[0]]);
    for (const bad of ["status=DONE", "teamId=nope", "from=yesterday"]) {
      expect((await api(cp.url, `${base}?${bad}`, { cookie: ownCookie })).status, bad).toBe(400);
    }

    const shown = await api(cp.url, `${base}/${executionIds[1]}`, { cookie: ownCookie });
    expect(z.object({ execution: teamExecutionViewSchema }).parse(shown.body).execution).toMatchObject({
      teamId: one.id,
      structure: "HIERARCHICAL",
      coordination: one.coordination,
      status: "FAILED",
      input: { goal: "goal 10" },
      output: null,
      error: { code: "PROVIDER_ERROR", message: "model down" },
      agentParticipation: [{ agentId: ownIds[0], contributions: 1 }],
      log: [{ type: "team.started" }],
      tokensUsed: 42,
      cost: 0.5,
      createdAt: at(10).toISOString(),
    });
    for (const id of [randomUUID(), "nope"]) {
      expect(errorOf((await api(cp.url, `${base}/${id}`, { cookie: ownCookie })).body).message).toBe("team execution not found");
    }
    // Another org sees none of them.
    expect((await api(cp.url, `/api/orgs/${org.orgId}/team-executions/${executionIds[0]}`, { cookie })).status).toBe(404);
    expect((await api(cp.url, base, { cookie })).status).toBe(404);

    const busy = await api(cp.url, `/api/orgs/${own.orgId}/teams/${one.id}`, { cookie: ownCookie, method: "DELETE" });
    expect(busy.status).toBe(409);
    expect(errorOf(busy.body).message).toContain("1 execution(s) pending or running");
    await cp.db.asSystem(own.orgId, async (em) => {
      const running = await em.findOneOrFail(TeamExecution, { id: executionIds[3] });
      running.status = "COMPLETED";
      await em.flush();
    });
    expect((await api(cp.url, `/api/orgs/${own.orgId}/teams/${one.id}`, { cookie: ownCookie, method: "DELETE" })).status).toBe(204);
    expect((await list("")).executions.map((e) => e.id)).toEqual([executionIds[2]]);
  });
});
