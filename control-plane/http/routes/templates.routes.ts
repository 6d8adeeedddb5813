import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteDeps } from "../route-deps.js";

/** Workflow templates. */
export function templateRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  void deps;
  return async () => {};
}
