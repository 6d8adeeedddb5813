import { createHmac } from "node:crypto";
import { MikroORM, type EntityManager } from "@mikro-orm/postgresql";
import type { Logger } from "pino";
import { ormConfig } from "./mikro-orm.config.js";
import { openOrm } from "./orm.js";

export interface DatabaseConfig {
  /** The owner's URL: runs migrations and gives the two roles their passwords. */
  databaseUrl: string;
  /** Role passwords are derived from it, so every control-plane replica agrees without more config. */
  authSecret: string;
  /** Explicit URLs for the two roles (managed databases); when set, no password is changed. */
  appDatabaseUrl?: string;
  systemDatabaseUrl?: string;
}

export interface UserContext {
  userId: string;
  /** The organization the unit of work is about; omitted for "which orgs am I in". */
  orgId?: string;
}

type Work<T> = (em: EntityManager) => Promise<T>;

/** `<db>_app` / `<db>_system` — see migrations/…RowLevelSecurity.ts. */
export function roleName(databaseUrl: string, kind: "app" | "system"): string {
  return `${decodeURIComponent(new URL(databaseUrl).pathname.slice(1))}_${kind}`;
}

function rolePassword(authSecret: string, role: string): string {
  return createHmac("sha256", authSecret).update(`neuroflow-db-role:${role}`).digest("hex");
}

/** The URL a role logs in with when its password is derived from `authSecret` (what `open` sets). */
export function derivedRoleUrl(databaseUrl: string, authSecret: string, kind: "app" | "system"): string {
  const role = roleName(databaseUrl, kind);
  const url = new URL(databaseUrl);
  url.username = encodeURIComponent(role);
  url.password = encodeURIComponent(rolePassword(authSecret, role));
  return url.toString();
}

/**
 * Postgres as the control plane uses it: migrated by the owner, then reached only through two
 * non-owner roles under row-level security. Every unit of work is one transaction that first sets
 * `app.user_id` / `app.org_id` with `set_config(…, true)` (transaction-local), on a fresh
 * EntityManager (`fork({ clear: true })`) so no identity map carries one tenant's rows into another's.
 */
export class Database {
  private constructor(
    private readonly app: MikroORM,
    private readonly system: MikroORM,
  ) {}

  /**
   * Migrates, sets the roles' passwords (unless explicit URLs are given) and opens both pools.
   * Rejects when Postgres is unreachable or a migration fails; closes what it opened.
   */
  static async open(config: DatabaseConfig, logger: Logger): Promise<Database> {
    const owner = await openOrm(config.databaseUrl, logger);
    const urls: Record<"app" | "system", string> = { app: "", system: "" };
    try {
      for (const kind of ["app", "system"] as const) {
        const explicit = kind === "app" ? config.appDatabaseUrl : config.systemDatabaseUrl;
        if (explicit) {
          urls[kind] = explicit;
          continue;
        }
        const role = roleName(config.databaseUrl, kind);
        const password = rolePassword(config.authSecret, role);
        // Every replica derives the same password from the shared AUTH_SECRET, so setting it again is harmless.
        const [statement] = await owner.em.execute<Array<{ sql: string }>>(
          "select format('alter role %I with login password %L', ?::text, ?::text) as sql",
          [role, password],
        );
        if (!statement) throw new Error(`could not prepare the password of role ${role}`);
        await owner.em.execute(statement.sql);
        urls[kind] = derivedRoleUrl(config.databaseUrl, config.authSecret, kind);
      }
    } finally {
      await owner.close();
    }
    const options = { logger: (message: string) => logger.debug({ component: "orm" }, message), ensureDatabase: false };
    // Distinct context names: MikroORM finds "the current transaction" through async-local storage
    // by context name, so with one shared name an asSystem() nested in an asUser() would silently
    // run inside the user's transaction, as the app role.
    const app = await MikroORM.init(ormConfig(urls.app, { ...options, contextName: "neuroflow-app" }));
    try {
      const system = await MikroORM.init(ormConfig(urls.system, { ...options, contextName: "neuroflow-system" }));
      return new Database(app, system);
    } catch (error) {
      await app.close();
      throw error;
    }
  }

  /** A unit of work on behalf of a user, seeing only what row-level security lets that user see. */
  asUser<T>(context: UserContext, work: Work<T>): Promise<T> {
    return this.run(this.app, context.userId, context.orgId ?? "", work);
  }

  /**
   * A unit of work of the system itself (status ledger, seeding), confined to one organization;
   * `null` reaches only organizations, users and public templates.
   */
  asSystem<T>(orgId: string | null, work: Work<T>): Promise<T> {
    return this.run(this.system, "", orgId ?? "", work);
  }

  /**
   * A read-only look across every organization, for the task sweeper: the system role with
   * `app.sweep` on, which only the `sweep_system` policies honour (agent and team executions, select).
   */
  sweep<T>(work: Work<T>): Promise<T> {
    return this.system.em.fork({ clear: true }).transactional(async (em) => {
      await em.execute("select set_config('app.sweep', 'on', true), set_config('app.org_id', '', true)");
      return work(em);
    });
  }

  /** True when Postgres answers as the app role. */
  async healthy(): Promise<boolean> {
    return this.app.em
      .fork()
      .execute("select 1")
      .then(() => true)
      .catch(() => false);
  }

  async close(): Promise<void> {
    await Promise.all([this.app.close(), this.system.close()]);
  }

  private run<T>(orm: MikroORM, userId: string, orgId: string, work: Work<T>): Promise<T> {
    return orm.em.fork({ clear: true }).transactional(async (em) => {
      await em.execute("select set_config('app.user_id', ?, true), set_config('app.org_id', ?, true)", [userId, orgId]);
      return work(em);
    });
  }
}
