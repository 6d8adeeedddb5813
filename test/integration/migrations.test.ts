import { readdirSync } from "node:fs";
import { MikroORM } from "@mikro-orm/postgresql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { ormConfig } from "../../control-plane/persistence/mikro-orm.config.js";
import { migrationsList } from "../../migrations/index.js";

/** Runs the committed migrations on a database of its own: up from empty, and down to empty. */
describe("migrations", () => {
  const database = `migrations_${Date.now()}`;
  let admin: MikroORM;
  let orm: MikroORM;

  beforeAll(async () => {
    admin = await MikroORM.init(ormConfig(inject("databaseUrl")));
    await admin.em.getConnection().execute(`create database "${database}"`);
    const url = new URL(inject("databaseUrl"));
    url.pathname = `/${database}`;
    orm = await MikroORM.init(ormConfig(url.toString()));
  });

  afterAll(async () => {
    await orm?.close();
    await admin?.em.getConnection().execute(`drop database if exists "${database}"`);
    await admin?.close();
  });

  const tables = async () =>
    (
      await orm.em.getConnection().execute<Array<{ table_name: string }>>(
        "select table_name from information_schema.tables where table_schema = 'public' and table_name like 'neuroflow_%' order by table_name",
      )
    ).map((row) => row.table_name);

  it("lists every migration file in migrations/index.ts", () => {
    const files = readdirSync(new URL("../../migrations/", import.meta.url))
      .filter((file) => /^Migration\d+.*\.ts$/.test(file))
      .map((file) => file.replace(/\.ts$/, ""))
      .sort();
    expect(migrationsList.map((m) => m.name)).toEqual(files);
  });

  it("migrates up from empty to a schema that matches the entities, and back down to empty", async () => {
    const migrator = orm.getMigrator();
    await migrator.up();
    expect(await tables()).toEqual(
      expect.arrayContaining(["neuroflow_organizations", "neuroflow_users", "neuroflow_memberships", "neuroflow_ai_agents", "neuroflow_agent_executions"]),
    );
    // The entities and the committed migrations agree: nothing left to generate.
    const diff = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
    expect(diff.trim()).toBe("");

    await migrator.down({ to: 0 });
    expect(await tables()).toEqual(["neuroflow_migrations"]);
  });
});
