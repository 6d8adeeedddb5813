import { existsSync } from "node:fs";
import fastifyStatic from "@fastify/static";
import fastifySwagger from "@fastify/swagger";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { installErrorHandling } from "./errors.js";
import { installJsonBodyParser } from "./json-body.js";
import type { RouteDeps } from "./route-deps.js";
import { agentExecutionRoutes } from "./routes/agent-executions.routes.js";
import { agentRoutes } from "./routes/agents.routes.js";
import { apiKeyRoutes } from "./routes/api-keys.routes.js";
import { authRoutes } from "./routes/auth.routes.js";
import { experimentRoutes } from "./routes/experiments.routes.js";
import { busCredentialRoutes } from "./routes/bus-credentials.routes.js";
import { memberRoutes } from "./routes/members.routes.js";
import { organizationRoutes } from "./routes/organizations.routes.js";
import { healthRoutes } from "./routes/health.routes.js";
import { integrationRoutes } from "./routes/integrations.routes.js";
import { teamExecutionRoutes } from "./routes/team-executions.routes.js";
import { teamMemberRoutes } from "./routes/team-members.routes.js";
import { teamRoutes } from "./routes/teams.routes.js";
import { templateRoutes } from "./routes/templates.routes.js";
import { workflowRoutes } from "./routes/workflows.routes.js";

/** Bodies above this are refused with 413 PAYLOAD_TOO_LARGE before they are parsed. */
export const BODY_LIMIT_BYTES = 256 * 1024;

/**
 * The HTTP API (zod-validated in and out) and the console's static files with an SPA fallback.
 * The caller listens and closes it.
 */
export async function buildHttpApp(deps: RouteDeps, options: { consoleDir?: string } = {}): Promise<FastifyInstance> {
  // Per-request lines at info would drown the useful ones; errors still log.
  const logger: FastifyBaseLogger = deps.logger.child({ component: "http" }, { level: "warn" });
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: BODY_LIMIT_BYTES,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  installJsonBodyParser(app);
  deps.metrics.instrument(app);

  // The OpenAPI document is generated from the same zod schemas that validate the requests.
  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: { title: "NeuroFlow Hub API", version: "0.1.0", description: "Errors are { error: { code, message, details } }." },
      components: {
        securitySchemes: {
          session: { type: "apiKey", in: "cookie", name: "nf_session" },
          bearer: { type: "http", scheme: "bearer", description: "a session token or an nfk_ API key" },
        },
      },
      security: [{ session: [] }, { bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.register(authRoutes(deps));
  await app.register(organizationRoutes(deps));
  await app.register(memberRoutes(deps));
  await app.register(apiKeyRoutes(deps));
  await app.register(busCredentialRoutes(deps));
  await app.register(agentRoutes(deps));
  await app.register(agentExecutionRoutes(deps));
  await app.register(workflowRoutes(deps));
  await app.register(templateRoutes(deps));
  await app.register(teamRoutes(deps));
  await app.register(teamMemberRoutes(deps));
  await app.register(teamExecutionRoutes(deps));
  await app.register(integrationRoutes(deps));
  await app.register(experimentRoutes(deps));
  await app.register(healthRoutes(deps));

  const consoleDir = options.consoleDir;
  if (consoleDir && existsSync(consoleDir)) {
    await app.register(fastifyStatic, { root: consoleDir, wildcard: false });
    // Client-side routes get the app shell; unknown /api paths stay a JSON 404.
    app.get("/*", (request, reply) => {
      if (request.url.startsWith("/api/")) {
        return reply.status(404).send({ error: { code: "NOT_FOUND", message: `no route GET ${request.url.split("?")[0]}` } });
      }
      return reply.sendFile("index.html");
    });
  } else {
    deps.logger.warn({ consoleDir }, "console build not found: run `npm run build`; serving the API only");
  }
  return app;
}
