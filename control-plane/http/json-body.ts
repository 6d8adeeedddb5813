import type { FastifyInstance } from "fastify";
import { NeuroflowError } from "../../runtime/protocol/index.js";

/** Deeper than this a JSON body is nobody's data; ~5,000 levels overflow JSON.stringify when the ORM writes jsonb. */
export const MAX_JSON_DEPTH = 64;

// An unpaired UTF-16 surrogate: JSON can carry one ("\ud800"); Postgres jsonb refuses it, text columns silently store U+FFFD.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const storable = (text: string) => !text.includes("\u0000") && !LONE_SURROGATE.test(text);
const pointer = (path: string, key: string) => `${path}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;

/**
 * The first thing in a parsed body that Postgres can't store and no schema checks — U+0000 or an
 * unpaired surrogate in any string or key, or nesting past MAX_JSON_DEPTH — as a JSON pointer and
 * a message; null when there is none. Iterative, so a body nested 100,000 deep is fine to check.
 */
export function unstorableIn(value: unknown): { path: string; message: string } | null {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path: "", depth: 0 }];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const { value: current, path, depth } = next;
    if (typeof current === "string") {
      if (!storable(current)) return { path, message: "must not contain U+0000 or an unpaired surrogate" };
      continue;
    }
    if (typeof current !== "object" || current === null) continue;
    if (depth >= MAX_JSON_DEPTH) return { path, message: `is nested deeper than ${MAX_JSON_DEPTH} levels` };
    for (const [key, item] of Object.entries(current)) {
      const at = pointer(path, key);
      if (!storable(key)) return { path: at, message: "key must not contain U+0000 or an unpaired surrogate" };
      stack.push({ value: item, path: at, depth: depth + 1 });
    }
  }
  return null;
}

/**
 * JSON bodies through fastify's own parser (prototype-poisoning protection kept), then refused
 * with 400 VALIDATION_FAILED when they hold what Postgres can't store (see unstorableIn): letting
 * it through would fail a write endpoint with a 500 at the database, or in the ORM, instead.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    parse(request, typeof body === "string" ? body : body.toString("utf8"), (error: Error | null, value?: unknown) => {
      if (error) return done(error, undefined);
      const problem = unstorableIn(value);
      if (problem) {
        const where = problem.path || "(root)";
        return done(
          new NeuroflowError("VALIDATION_FAILED", `invalid body: ${where} ${problem.message}`, {
            details: [{ path: problem.path, code: "custom", message: problem.message }],
          }),
          undefined,
        );
      }
      done(null, value);
    });
  });
  // Query strings reach SQL too (search, tag filters): the same rule, before validation.
  app.addHook("preValidation", async (request) => {
    const problem = unstorableIn(request.query);
    if (problem) {
      throw new NeuroflowError("VALIDATION_FAILED", `invalid query: ${problem.path} ${problem.message}`, {
        details: [{ path: problem.path, code: "custom", message: problem.message }],
      });
    }
  });
}
