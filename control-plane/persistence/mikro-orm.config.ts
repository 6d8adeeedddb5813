import { Migrator } from "@mikro-orm/migrations";
import { defineConfig, type Options } from "@mikro-orm/postgresql";
import { allEntities } from "../../entities/index.js";

/**
 * ORM options for a database URL. Migrations are the committed TypeScript files in migrations/,
 * loaded through tsx (every process of ours runs under it).
 */
export function ormConfig(clientUrl: string, overrides: Partial<Options> = {}): Options {
  return defineConfig({
    clientUrl,
    entities: allEntities,
    extensions: [Migrator],
    // Entities are defined with defineEntity: no reflection, no decorators.
    discovery: { warnWhenNoEntities: true },
    migrations: {
      tableName: "neuroflow_migrations",
      path: new URL("../../migrations", import.meta.url).pathname,
      pathTs: new URL("../../migrations", import.meta.url).pathname,
      glob: "!(*.d).{js,ts}",
      transactional: true,
      allOrNothing: true,
      emit: "ts",
      snapshot: false,
    },
    pool: { min: 0, max: 10 },
    ...overrides,
  });
}

/** The CLI's config (`npm run mikro-orm -- …`, `npm run migration:create`); needs DATABASE_URL. */
export default ormConfig(process.env.DATABASE_URL ?? "postgres://postgres:password@127.0.0.1:5432/neuroflow");
