import type { FastifyInstance } from "fastify";
import { NeuroflowError } from "../../runtime/protocol/index.js";

/** Whether a parsed JSON value holds a NUL character in any string or key (Postgres can't store one). */
function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === "string") return value.includes("\u0000");
  if (depth > 64 || value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.some((item) => holdsNul(item, depth + 1));
  return Object.entries(value).some(([key, item]) => key.includes("\u0000") || holdsNul(item, depth + 1));
}

/**
 * JSON bodies through fastify's own parser (prototype-poisoning protection kept), then refused
 * with 400 when any string holds U+0000: Postgres text and jsonb can't store it, so letting it
 * through would fail every write endpoint with a 500 at the database instead of a clear error.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    parse(request, typeof body === "string" ? body : body.toString("utf8"), (error: Error | null, value?: unknown) => {
      if (error) return done(error, undefined);
      if (holdsNul(value)) {
        return done(new NeuroflowError("VALIDATION_FAILED", "strings must not contain the NUL character (U+0000)"), undefined);
      }
      done(null, value);
    });
  });
}
