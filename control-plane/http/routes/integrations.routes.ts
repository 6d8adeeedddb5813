import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteDeps } from "../route-deps.js";

/** Integrations. */
export function integrationRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  void deps;
  return async () => {};
}
