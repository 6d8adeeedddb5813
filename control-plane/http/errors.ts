import type { FastifyError, FastifyInstance } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { NeuroflowError, type ErrorBody } from "../../runtime/protocol/index.js";
import { httpStatusOf } from "./error-table.js";

function body(code: string, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/**
 * Every error leaves as `{ error: { code, message, details } }`. Typed errors take their status
 * from the one table; fastify's own 4xx (bad JSON, body too large, wrong content type) keep
 * theirs; anything else is a 500 whose text stays in the log.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const where = error.validationContext ?? "request";
      const summary = error.validation
        .slice(0, 3)
        .map((issue) => `${issue.instancePath || "(root)"} ${issue.message}`)
        .join("; ");
      return reply
        .status(400)
        .send(
          body(
            "VALIDATION_FAILED",
            `invalid ${where}: ${summary}`,
            error.validation.map((issue) => ({ path: issue.instancePath, code: issue.keyword, message: issue.message })),
          ),
        );
    }
    if (error instanceof NeuroflowError) {
      return reply.status(httpStatusOf[error.code]).send(body(error.code, error.message, error.details));
    }
    const status = error.statusCode ?? 500;
    if (status === 413) return reply.status(413).send(body("PAYLOAD_TOO_LARGE", "request body is too large"));
    if (status >= 400 && status < 500) {
      return reply.status(status).send(body("VALIDATION_FAILED", error.message));
    }
    request.log.error({ err: error }, "unhandled error");
    return reply.status(500).send(body("INTERNAL", "internal error"));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(body("NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0]}`));
  });
}
