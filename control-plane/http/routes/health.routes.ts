import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteDeps } from "../route-deps.js";

/** `/healthz`: 200 when Postgres answers a query and the NATS connection is up, else 503. */
export function healthRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/healthz", async (_request, reply) => {
      const database = (await deps.db.healthy()) ? "ok" : "down";
      const nats = deps.nc.isClosed() ? "down" : "ok";
      const ok = database === "ok" && nats === "ok";
      return reply.status(ok ? 200 : 503).send({ status: ok ? "ok" : "degraded", database, nats });
    });
  };
}
