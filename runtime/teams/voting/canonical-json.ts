import type { z } from "zod";
import { NeuroflowError } from "../../protocol/errors.js";

/** A value that survives `JSON.stringify` → `JSON.parse` unchanged (zod's own JSON type, so schemas agree). */
export type JsonValue = z.core.util.JSONType;

/**
 * A deep, plain copy of `value` that is guaranteed to round-trip through JSON unchanged: the tally
 * stores what it was given, and a stored copy that JSON would alter (an `undefined` property, `NaN`,
 * a `Date`) could never be recounted to the same result. `-0` becomes `0`, since JSON cannot tell
 * them apart either. Own enumerable string keys only; keys are copied with `Object.fromEntries`, so a
 * `"__proto__"` key stays a plain key instead of replacing the prototype.
 *
 * Throws VALIDATION_FAILED naming the path of the first value that is not JSON data, or when the
 * value nests deeper than 64 levels (ballots are flat; deep nesting is an attack, not a vote).
 */
export function toJsonValue(value: unknown, path = "$", depth = 0): JsonValue {
  if (depth > 64) throw notJson(path, "nests deeper than 64 levels");
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw notJson(path, `is ${String(value)}`);
    return value === 0 ? 0 : value;
  }
  if (Array.isArray(value)) {
    return value.map((item: unknown, index) => toJsonValue(item, `${path}[${index}]`, depth + 1));
  }
  if (typeof value === "object") {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw notJson(path, "is not a plain object");
    return Object.fromEntries(
      Object.entries(value).map(([key, item]: [string, unknown]) => [key, toJsonValue(item, `${path}.${key}`, depth + 1)]),
    );
  }
  throw notJson(path, value === undefined ? "is undefined" : `is a ${typeof value}`);
}

/**
 * JSON with object keys sorted by code unit at every level: two equal values always give the same
 * text, whatever order their keys were inserted in (Postgres `jsonb`, for one, reorders keys). Used
 * to compare a stored result with its recount and to order ballots independently of arrival.
 * Throws like {@link toJsonValue} when the value is not JSON data.
 */
export function canonicalJson(value: unknown): string {
  return write(toJsonValue(value));
}

function write(value: JsonValue): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(write).join(",")}]`;
  const keys = Object.keys(value).sort(compareCodeUnits);
  return `{${keys.map((key) => `${JSON.stringify(key)}:${write(value[key] ?? null)}`).join(",")}}`;
}

/**
 * Plain code-unit order, the same in every JS engine and independent of locale — unlike
 * `localeCompare`, whose order depends on the ICU data the process happens to ship.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function notJson(path: string, why: string): NeuroflowError {
  return new NeuroflowError("VALIDATION_FAILED", `${path} ${why}: tally inputs must be JSON data so they can be stored and recounted`);
}
