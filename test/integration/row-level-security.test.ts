import { randomUUID } from "node:crypto";
import type { QueryResult } from "@mikro-orm/core";
import { MikroORM } from "@mikro-orm/postgresql";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { derivedRoleUrl } from "../../control-plane/persistence/database.js";
import { ormConfig } from "../../control-plane/persistence/mikro-orm.config.js";
import type { ControlPlane } from "../../control-plane/server.js";
import { tenantTables } from "../../entities/index.js";
import { createTestOrg, startTestControlPlane, type TestOrg } from "../support/harness.js";

/**
 * Tenant isolation as a property of the database: raw SQL, logged in as the app role exactly as
 * the control plane is, with and without the per-transaction settings.
 */
describe("row-level security, in raw SQL as the app role", () => {
  let cp: ControlPlane;
  let app: MikroORM;
  let system: MikroORM;
  let a: TestOrg;
  let b: TestOrg;

  beforeAll(async () => {
    cp = await startTestControlPlane();
    a = await createTestOrg(cp);
    b = await createTestOrg(cp);
    const url = inject("databaseUrl");
    app = await MikroORM.init(ormConfig(derivedRoleUrl(url, inject("authSecret"), "app"), { ensureDatabase: false }));
    system = await MikroORM.init(ormConfig(derivedRoleUrl(url, inject("authSecret"), "system"), { ensureDatabase: false }));
    // Something in every tenant table of org A for the "sees nothing" checks.
    await cp.db.asSystem(a.orgId, async (em) => {
      const agent = a.agents[0]!.id;
      const team = randomUUID();
      const workflow = randomUUID();
      await em.execute(
        `insert into neuroflow_agent_executions (id, organization_id, agent_id, task, input, created_at, updated_at) values (?, ?, ?, 'seed', '{}', now(), now())`,
        [randomUUID(), a.orgId, agent],
      );
      await em.execute(`insert into neuroflow_workflows (id, organization_id, name, nodes, edges, settings, tags, created_at, updated_at) values (?, ?, 'wf', '[]', '[]', '{}', '[]', now(), now())`, [workflow, a.orgId]);
      await em.execute(`insert into neuroflow_workflow_executions (id, organization_id, workflow_id, input, logs, created_at, updated_at) values (?, ?, ?, '{}', '[]', now(), now())`, [randomUUID(), a.orgId, workflow]);
      await em.execute(`insert into neuroflow_agent_teams (id, organization_id, name, structure, coordination, created_at, updated_at) values (?, ?, 'team', 'DEMOCRATIC', '{}', now(), now())`, [team, a.orgId]);
      await em.execute(`insert into neuroflow_team_members (id, organization_id, team_id, agent_id, created_at, updated_at) values (?, ?, ?, ?, now(), now())`, [randomUUID(), a.orgId, team, agent]);
      await em.execute(`insert into neuroflow_team_executions (id, organization_id, team_id, structure, coordination, input, agent_participation, results, log, created_at, updated_at) values (?, ?, ?, 'DEMOCRATIC', '{}', '{}', '[]', '[]', '[]', now(), now())`, [randomUUID(), a.orgId, team]);
      await em.execute(`insert into neuroflow_integrations (id, organization_id, provider, name, config, created_at, updated_at) values (?, ?, 'WEBHOOK', 'hook', '{}', now(), now())`, [randomUUID(), a.orgId]);
      await em.execute(`insert into neuroflow_api_keys (id, organization_id, name, prefix, secret_hash, created_at, updated_at) values (?, ?, 'key', 'nfk_test', ?, now(), now())`, [randomUUID(), a.orgId, randomUUID().replaceAll("-", "")]);
      await em.execute(`insert into neuroflow_workflow_templates (id, organization_id, name, category, nodes, edges, tags, created_at, updated_at) values (?, ?, 'private', 'SALES', '[]', '[]', '[]', now(), now())`, [randomUUID(), a.orgId]);
      await em.execute(`insert into neuroflow_experiments (id, organization_id, name, spec, progress, created_at, updated_at) values (?, ?, 'experiment', '{}', '{"done":0,"total":0}', now(), now())`, [randomUUID(), a.orgId]);
    });
  });

  afterAll(async () => {
    await app?.close();
    await system?.close();
    await cp?.stop();
  });

  /** One transaction as `orm`'s role with the given settings ('' = unset); returns the rows. */
  function as(orm: MikroORM, userId: string, orgId: string, sql: string, params: unknown[] = []) {
    return orm.em.fork({ clear: true }).transactional(async (em) => {
      await em.execute("select set_config('app.user_id', ?, true), set_config('app.org_id', ?, true)", [userId, orgId]);
      return em.execute(sql, params);
    });
  }
  /** Like `as`, for a write: how many rows it changed. */
  function changed(orm: MikroORM, userId: string, orgId: string, sql: string, params: unknown[] = []) {
    return orm.em.fork({ clear: true }).transactional(async (em) => {
      await em.execute("select set_config('app.user_id', ?, true), set_config('app.org_id', ?, true)", [userId, orgId]);
      return (await em.execute<QueryResult>(sql, params, "run")).affectedRows;
    });
  }
  const count = async (orm: MikroORM, userId: string, orgId: string, table: string, where = "true", params: unknown[] = []) =>
    Number((await as(orm, userId, orgId, `select count(*) as n from ${table} where ${where}`, params))[0]?.["n"]);

  it("connects as a role that is neither superuser nor owner and cannot bypass RLS", async () => {
    const [role] = await app.em.execute<Array<{ rolsuper: boolean; rolbypassrls: boolean; owns: string }>>(
      `select r.rolsuper, r.rolbypassrls, (select count(*) from pg_tables t where t.tableowner = current_user) as owns
         from pg_roles r where r.rolname = current_user`,
    );
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false, owns: "0" });
    const forced = await app.em.execute<Array<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>>(
      "select relname, relrowsecurity, relforcerowsecurity from pg_class where relname like 'neuroflow_%' and relkind = 'r' and relname <> 'neuroflow_migrations'",
    );
    expect(forced.length).toBeGreaterThanOrEqual(14);
    for (const table of forced) expect(table).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true });
  });

  it.each([...tenantTables, "neuroflow_organizations", "neuroflow_users"])("shows zero rows of %s without settings", async (table) => {
    // Public and system templates are readable by everyone by design; private ones are not.
    const where = table === "neuroflow_workflow_templates" ? "organization_id is not null and not is_public" : "true";
    expect(await count(app, "", "", table, where)).toBe(0);
  });

  it.each(tenantTables.filter((t) => t !== "neuroflow_workflow_templates"))("hides org A's rows of %s from org B's member", async (table) => {
    expect(await count(app, a.userId, a.orgId, table)).toBeGreaterThan(0);
    expect(await count(app, b.userId, b.orgId, table, "organization_id = ?", [a.orgId])).toBe(0);
    // Naming org A in the settings is not enough: B's user is not a member of A.
    expect(await count(app, b.userId, a.orgId, table, "organization_id = ?", [a.orgId])).toBe(0);
  });

  it("rejects inserting a row into org A while acting for org B (42501)", async () => {
    await expect(
      as(app, b.userId, b.orgId, `insert into neuroflow_ai_agents (id, organization_id, name, personality, model_config, capabilities, memory, created_at, updated_at)
        values (?, ?, 'intruder', '{}', '{}', '[]', '{}', now(), now())`, [randomUUID(), a.orgId]),
    ).rejects.toMatchObject({ code: "42501" });
  });

  it("changes and deletes none of org A's rows while acting for org B", async () => {
    expect(await changed(app, b.userId, b.orgId, "update neuroflow_ai_agents set name = 'pwned' where organization_id = ?", [a.orgId])).toBe(0);
    expect(await changed(app, b.userId, a.orgId, "update neuroflow_ai_agents set name = 'pwned' where organization_id = ?", [a.orgId])).toBe(0);
    expect(await changed(app, b.userId, b.orgId, "delete from neuroflow_agent_executions where organization_id = ?", [a.orgId])).toBe(0);
    // Moving one's own row into another org is refused too.
    await expect(
      as(app, b.userId, b.orgId, "update neuroflow_ai_agents set organization_id = ? where organization_id = ?", [a.orgId, b.orgId]),
    ).rejects.toMatchObject({ code: "42501" });
    expect(await count(app, a.userId, a.orgId, "neuroflow_ai_agents", "name = 'pwned'")).toBe(0);
  });

  it("carries no tenant from one transaction to the next on a pooled connection", async () => {
    const pool = app.em.fork({ clear: true });
    await pool.transactional(async (em) => {
      await em.execute("select set_config('app.user_id', ?, true), set_config('app.org_id', ?, true)", [a.userId, a.orgId]);
    });
    const [row] = await pool.execute<Array<{ org: string | null; n: string }>>(
      "select current_setting('app.org_id', true) as org, (select count(*) from neuroflow_ai_agents) as n",
    );
    expect(row).toMatchObject({ n: "0" });
    expect(row?.org ?? "").toBe("");
  });

  it("lets every org read public templates and none write them through the app role", async () => {
    const template = randomUUID();
    await cp.db.asSystem(null, (em) =>
      em.execute(`insert into neuroflow_workflow_templates (id, organization_id, name, category, nodes, edges, tags, is_public, is_system, created_at, updated_at)
        values (?, null, 'system template', 'SUPPORT', '[]', '[]', '[]', true, true, now(), now())`, [template]),
    );
    expect(await count(app, b.userId, b.orgId, "neuroflow_workflow_templates", "id = ?", [template])).toBe(1);
    expect(await changed(app, b.userId, b.orgId, "update neuroflow_workflow_templates set name = 'mine' where id = ?", [template])).toBe(0);
    expect(await changed(app, b.userId, b.orgId, "delete from neuroflow_workflow_templates where id = ?", [template])).toBe(0);
    await expect(
      as(app, b.userId, b.orgId, `insert into neuroflow_workflow_templates (id, organization_id, name, category, nodes, edges, tags, is_public, created_at, updated_at)
        values (?, null, 'fake system', 'SUPPORT', '[]', '[]', '[]', true, now(), now())`, [randomUUID()]),
    ).rejects.toMatchObject({ code: "42501" });
    // Org A's private template stays private.
    expect(await count(app, b.userId, b.orgId, "neuroflow_workflow_templates", "organization_id = ?", [a.orgId])).toBe(0);
  });

  it("confines the system role to the org it names", async () => {
    expect(await count(system, "", "", "neuroflow_ai_agents")).toBe(0);
    expect(await count(system, "", b.orgId, "neuroflow_ai_agents", "organization_id = ?", [a.orgId])).toBe(0);
    expect(await count(system, "", a.orgId, "neuroflow_ai_agents")).toBe(a.agents.length);
  });

  it("runs a system unit of work nested in a user's as the system role, not inside the user's transaction", async () => {
    const roles = await cp.db.asUser({ userId: a.userId, orgId: a.orgId }, async (userEm) => {
      const [outer] = await userEm.execute<Array<{ role: string }>>("select current_user as role");
      const [inner] = await cp.db.asSystem(b.orgId, (systemEm) => systemEm.execute<Array<{ role: string }>>("select current_user as role"));
      return [outer?.role, inner?.role];
    });
    expect(roles).toEqual([expect.stringMatching(/_app$/), expect.stringMatching(/_system$/)]);
  });

  it("shows a user only the organizations they belong to", async () => {
    expect(await count(app, a.userId, "", "neuroflow_organizations")).toBe(1);
    expect(await count(app, a.userId, "", "neuroflow_organizations", "id = ?", [b.orgId])).toBe(0);
    expect(await count(app, a.userId, "", "neuroflow_users", "id = ?", [b.userId])).toBe(0);
  });
});
