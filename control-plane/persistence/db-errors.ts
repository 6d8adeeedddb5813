import { DriverException } from "@mikro-orm/core";

/**
 * SQLSTATE classes of errors that say nothing about the statement: the connection (08), a
 * serialization failure or deadlock (40), resources (53), a lock not available (55), an operator
 * or timeout cancelling the query (57), the system (58). Anything else Postgres reports (a data
 * exception 22, a constraint 23, an access rule 42, …) would fail again on the same input.
 */
const transientClasses = new Set(["08", "40", "53", "55", "57", "58"]);

/**
 * Whether retrying the same statements later may succeed: true for the transient SQLSTATE classes
 * above, for socket errors (ECONNREFUSED, ECONNRESET, …) and for driver errors without a SQLSTATE
 * (a connection terminated mid-query, a pool timeout); false for what Postgres reports about the
 * statement or its data, and for anything that is not a database error at all (a bug would fail
 * again). MikroORM's DriverException keeps the driver's `code`, which is how the SQLSTATE is read.
 */
export function isTransientDbError(error: unknown): boolean {
  const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return true;
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return transientClasses.has(code.slice(0, 2));
  return error instanceof DriverException || (error instanceof Error && error.name === "KnexTimeoutError");
}
