import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { Membership, User } from "../../../entities/index.js";
import { loginBodySchema, NeuroflowError, sessionViewSchema, signupBodySchema, type SessionView } from "../../../runtime/protocol/index.js";
import { hashPassword, verifyPassword } from "../../auth/password.js";
import { SessionTokens } from "../../auth/session.js";
import type { RouteDeps } from "../route-deps.js";

function sessionView(deps: RouteDeps, userId: string): Promise<SessionView> {
  return deps.db.asUser({ userId }, async (em) => {
    const user = await em.findOne(User, { id: userId });
    if (!user) throw new NeuroflowError("UNAUTHENTICATED", "this account no longer exists");
    const memberships = await em.find(Membership, { user }, { populate: ["organization"], orderBy: { createdAt: "asc" } });
    return {
      user: { id: user.id, email: user.email, name: user.name },
      memberships: memberships.map((m) => ({ orgId: m.organization.id, orgName: m.organization.name, role: m.role })),
    };
  });
}

/** Email + password sign-up and login (argon2), the session cookie, and who am I. */
export function authRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  // An unknown email still costs one argon2 verification, so timing doesn't tell which emails exist.
  const decoyHash = hashPassword("decoy-password-for-unknown-emails");
  return async (app) => {
    app.post(
      "/api/auth/signup",
      { schema: { body: signupBodySchema, response: { 201: sessionViewSchema } } },
      async (request, reply) => {
        const email = request.body.email.toLowerCase();
        const passwordHash = await hashPassword(request.body.password);
        // Nobody is logged in yet: accounts are created by the system role.
        const user = await deps.db.asSystem(null, async (em) => {
          if (await em.findOne(User, { email })) throw new NeuroflowError("CONFLICT", "an account with that email exists; log in instead");
          const created = em.create(User, { email, name: request.body.name, passwordHash });
          await em.flush();
          return created;
        });
        reply.header("set-cookie", deps.tokens.cookie(await deps.tokens.issue(user.id)));
        return reply.status(201).send(await sessionView(deps, user.id));
      },
    );

    app.post(
      "/api/auth/login",
      { schema: { body: loginBodySchema, response: { 200: sessionViewSchema } } },
      async (request, reply) => {
        // Who is logging in is not known yet: the lookup by email is the system's.
        const user = await deps.db.asSystem(null, (em) => em.findOne(User, { email: request.body.email.toLowerCase() }));
        const valid = await verifyPassword(user?.passwordHash ?? (await decoyHash), request.body.password);
        if (!user || !valid) {
          throw new NeuroflowError("UNAUTHENTICATED", "wrong email or password");
        }
        reply.header("set-cookie", deps.tokens.cookie(await deps.tokens.issue(user.id)));
        return sessionView(deps, user.id);
      },
    );

    app.post("/api/auth/logout", async (_request, reply) => {
      reply.header("set-cookie", SessionTokens.clearCookie()).status(204).send();
    });

    app.get("/api/session", { schema: { response: { 200: sessionViewSchema } } }, async (request) => {
      const { userId } = await deps.gate.principal(request.headers);
      return sessionView(deps, userId);
    });
  };
}
