import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteDeps } from "../route-deps.js";

/** Agent teams, their members and executions. */
export function teamRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  void deps;
  return async () => {};
}
