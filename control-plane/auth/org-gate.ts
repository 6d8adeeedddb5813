import type { IncomingHttpHeaders } from "node:http";
import type { EntityManager } from "@mikro-orm/postgresql";
import { ApiKey, type MembershipRole } from "../../entities/index.js";
import { NeuroflowError, orgIdSchema } from "../../runtime/protocol/index.js";
import type { Database } from "../persistence/database.js";
import { requireOrgRole, type OrgAccess } from "./access.js";
import { apiKeyOrg, hashApiKey, isApiKey } from "./api-keys.js";
import { tokenFrom, type SessionTokens } from "./session.js";

/** Who is calling: a logged-in user, or a program with an org's API key (acting for its creator). */
export type Principal =
  | { kind: "session"; userId: string }
  | { kind: "api-key"; keyId: string; orgId: string; userId: string; role: MembershipRole };

const rank: Record<MembershipRole, number> = { VIEWER: 0, MEMBER: 1, ADMIN: 2, OWNER: 3 };
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * The one door into an organization's data: authenticates the request (session cookie,
 * `Authorization: Bearer <session JWT>` or `Bearer nfk_…` API key), checks the org id, runs the
 * work as that user inside the org under row-level security, and checks the role. An API key
 * works only for its own org (NOT_FOUND elsewhere, like any org one doesn't belong to) and never
 * grants more than its creator's current role.
 */
export class OrgGate {
  constructor(private readonly deps: { db: Database; tokens: SessionTokens }) {}

  /** Throws UNAUTHENTICATED when there are no credentials or they are bad, expired or revoked. */
  async principal(headers: IncomingHttpHeaders): Promise<Principal> {
    const token = tokenFrom(headers);
    if (!token) throw new NeuroflowError("UNAUTHENTICATED", "no credentials: log in first");
    if (!isApiKey(token)) return { kind: "session", userId: (await this.deps.tokens.verify(token)).userId };

    const orgId = apiKeyOrg(token);
    const now = new Date();
    const key = await this.deps.db.asSystem(orgId, async (em) => {
      const found = await em.findOne(ApiKey, { secretHash: hashApiKey(token), organization: orgId });
      if (found && (!found.lastUsedAt || now.getTime() - found.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS)) {
        found.lastUsedAt = now;
        await em.flush();
      }
      return found;
    });
    if (!key || key.revokedAt || (key.expiresAt && key.expiresAt <= now) || !key.createdBy) {
      throw new NeuroflowError("UNAUTHENTICATED", "API key is invalid, expired or revoked");
    }
    return { kind: "api-key", keyId: key.id, orgId, userId: key.createdBy.id, role: key.role };
  }

  /**
   * Runs `work` in one transaction as the caller inside `orgId`, once the caller is known to hold
   * at least `minimum` there. NOT_FOUND for a malformed org id or one the caller can't see.
   */
  async run<T>(
    headers: IncomingHttpHeaders,
    orgId: string,
    minimum: MembershipRole,
    work: (em: EntityManager, access: OrgAccess) => Promise<T>,
  ): Promise<T> {
    const principal = await this.principal(headers);
    // Checked before it becomes a session setting: the policies cast it to uuid.
    if (!orgIdSchema.safeParse(orgId).success) throw new NeuroflowError("NOT_FOUND", "organization not found");
    if (principal.kind === "api-key" && principal.orgId !== orgId) throw new NeuroflowError("NOT_FOUND", "organization not found");
    return this.deps.db.asUser({ userId: principal.userId, orgId }, async (em) => {
      const access = await requireOrgRole(em, principal.userId, orgId, "VIEWER");
      const role = principal.kind === "api-key" && rank[principal.role] < rank[access.role] ? principal.role : access.role;
      if (rank[role] < rank[minimum]) {
        throw new NeuroflowError("FORBIDDEN", `this needs the ${minimum} role or higher; you have ${role}`);
      }
      return work(em, { ...access, role });
    });
  }
}
