import { MikroORM } from "@mikro-orm/postgresql";
import type { Logger } from "pino";
import { ormConfig } from "./mikro-orm.config.js";

/**
 * Opens the ORM and brings the schema up to the newest committed migration.
 * Fails (rejects) when the database is unreachable or a migration fails; a failed migration is
 * rolled back as a whole (`allOrNothing`).
 */
export async function openOrm(databaseUrl: string, logger: Logger): Promise<MikroORM> {
  const orm = await MikroORM.init(
    ormConfig(databaseUrl, {
      logger: (message) => logger.debug({ component: "orm" }, message),
    }),
  );
  const applied = await orm
    .getMigrator()
    .up()
    .catch(async (error: unknown) => {
      await orm.close();
      throw error;
    });
  if (applied.length > 0) logger.info({ migrations: applied.map((m) => m.name) }, "migrations applied");
  return orm;
}
