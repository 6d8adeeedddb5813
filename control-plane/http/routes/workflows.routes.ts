import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteDeps } from "../route-deps.js";

/** Workflows and their executions. */
export function workflowRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  void deps;
  return async () => {};
}
