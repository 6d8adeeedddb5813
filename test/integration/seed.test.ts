import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_LOGIN, seedDemo } from "../../control-plane/persistence/seed.js";
import type { ControlPlane } from "../../control-plane/server.js";
import { api, login, startTestControlPlane } from "../support/harness.js";

/** What `npm start` seeds: the demo org, its login, five agents and two teams, once. */
describe("demo seed", () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane();
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it("seeds the demo organization once, usable through the API with the printed login", async () => {
    const first = await seedDemo(cp.db);
    expect(first.created).toBe(true);
    expect(await seedDemo(cp.db)).toEqual({ created: false, orgId: first.orgId });

    const cookie = await login(cp.url, DEMO_LOGIN.email, DEMO_LOGIN.password);
    const agents = await api(cp.url, `/api/orgs/${first.orgId}/agents`, { cookie });
    expect((agents.body as { agents: unknown[] }).agents).toHaveLength(5);
    const teams = await api(cp.url, `/api/orgs/${first.orgId}/teams`, { cookie });
    const list = (teams.body as { teams: Array<{ name: string; structure: string; members: unknown[] }> }).teams;
    expect(list.map((team) => [team.structure, team.members.length]).sort()).toEqual([
      ["DEMOCRATIC", 5],
      ["HIERARCHICAL", 4],
    ]);
  });
});
