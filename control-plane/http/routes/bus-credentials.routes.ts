import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { mintOrgCreds } from "../../../common/nats-tenancy.js";
import { NeuroflowError } from "../../../runtime/protocol/index.js";
import type { RouteDeps } from "../route-deps.js";

const credentialsSchema = z.object({
  /** The `.creds` text for `credsAuthenticator`: a secret, shown once. */
  creds: z.string(),
  /** Pass as `inboxPrefix` to `connect()`: the only reply inbox the credentials may use. */
  inboxPrefix: z.string(),
  servers: z.array(z.string()),
  expiresAt: z.iso.datetime(),
  /** Everything the credentials may publish and subscribe to. */
  subjects: z.string(),
});

/**
 * `POST /api/orgs/:orgId/nats-credentials`: short-lived NATS credentials for an external program
 * that joins the bus as this org — limited by the server to `nf.<orgId>.>` and the org's own
 * inbox (docs/nats-tenancy.md). MEMBER and up. 409 when the bus runs without auth.
 */
export function busCredentialRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      "/api/orgs/:orgId/nats-credentials",
      { schema: { params: z.object({ orgId: z.string() }), response: { 201: credentialsSchema } } },
      async (request, reply) => {
        const minted = await deps.gate.run(request.headers, request.params.orgId, "MEMBER", async (_em, access) => {
          const tenancy = deps.bus.tenancy;
          if (!tenancy) throw new NeuroflowError("CONFLICT", "this deployment's NATS runs without authorization; there are no credentials to hand out");
          return { orgId: access.orgId, creds: await mintOrgCreds(tenancy, access.orgId, { ttlSeconds: deps.bus.orgCredsTtlSeconds }) };
        });
        reply.header("cache-control", "no-store");
        return reply.status(201).send({
          creds: minted.creds.creds,
          inboxPrefix: minted.creds.inboxPrefix,
          servers: deps.bus.servers.split(","),
          expiresAt: minted.creds.expiresAt,
          subjects: `nf.${minted.orgId}.>`,
        });
      },
    );
  };
}
