import { DriverException } from "@mikro-orm/core";
import { describe, expect, it } from "vitest";
import { isTransientDbError } from "../../control-plane/persistence/db-errors.js";

const driverError = (code: string | undefined, message = "failed") => new DriverException(Object.assign(new Error(message), code === undefined ? {} : { code }));

describe("isTransientDbError", () => {
  it("retries what says nothing about the statement: lost connections, deadlocks, shutdowns, timeouts", () => {
    for (const code of ["08006", "40P01", "40001", "53300", "55P03", "57P01", "57014", "ECONNREFUSED", "ECONNRESET"]) {
      expect(isTransientDbError(driverError(code)), code).toBe(true);
    }
    expect(isTransientDbError(driverError(undefined, "Connection terminated unexpectedly"))).toBe(true);
    expect(isTransientDbError(Object.assign(new Error("Knex: Timeout acquiring a connection"), { name: "KnexTimeoutError" }))).toBe(true);
  });

  it("does not retry what the same input would hit again: data, constraints, access rules, bugs", () => {
    for (const code of ["22001", "22P05", "22P02", "23505", "23503", "42501", "42601"]) {
      expect(isTransientDbError(driverError(code)), code).toBe(false);
    }
    expect(isTransientDbError(new TypeError("cannot read properties of undefined"))).toBe(false);
    expect(isTransientDbError("a string")).toBe(false);
  });
});
