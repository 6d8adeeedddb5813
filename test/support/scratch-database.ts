import { randomUUID } from "node:crypto";
import { MikroORM } from "@mikro-orm/postgresql";
import { ormConfig } from "../../control-plane/persistence/mikro-orm.config.js";

export interface ScratchDatabase {
  /** The owner's URL of the new database (Database.open migrates it). */
  url: string;
  /** Drops it, closing whatever is still connected. */
  drop(): Promise<void>;
}

/**
 * A database of its own on the run's Postgres server. For tests whose services live on a bus of
 * their own: on the shared database, the sweepers of other test files' control planes would take
 * their PENDING rows and run them on the shared bus.
 */
export async function createScratchDatabase(serverUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomUUID().replaceAll("-", "")}`;
  const admin = await MikroORM.init(ormConfig(serverUrl));
  try {
    await admin.em.getConnection().execute(`create database "${name}"`);
  } catch (error) {
    await admin.close();
    throw error;
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.em.getConnection().execute(`drop database if exists "${name}" with (force)`);
      await admin.close();
    },
  };
}
