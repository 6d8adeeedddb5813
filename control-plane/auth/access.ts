import type { EntityManager } from "@mikro-orm/postgresql";
import { Membership, type MembershipRole } from "../../entities/index.js";
import { NeuroflowError, orgIdSchema } from "../../runtime/protocol/index.js";

const rank: Record<MembershipRole, number> = { VIEWER: 0, MEMBER: 1, ADMIN: 2, OWNER: 3 };

export interface OrgAccess {
  userId: string;
  orgId: string;
  role: MembershipRole;
}

/**
 * The user's role in an org, at least `minimum`. A malformed org id is NOT_FOUND; a user who is
 * not a member gets NOT_FOUND too, so org ids can't be probed; too low a role is FORBIDDEN.
 */
export async function requireOrgRole(
  em: EntityManager,
  userId: string,
  orgId: string,
  minimum: MembershipRole,
): Promise<OrgAccess> {
  if (!orgIdSchema.safeParse(orgId).success) throw new NeuroflowError("NOT_FOUND", "organization not found");
  const membership = await em.findOne(Membership, { user: userId, organization: orgId });
  if (!membership) throw new NeuroflowError("NOT_FOUND", "organization not found");
  if (rank[membership.role] < rank[minimum]) {
    throw new NeuroflowError("FORBIDDEN", `this needs the ${minimum} role or higher; you are ${membership.role}`);
  }
  return { userId, orgId, role: membership.role };
}
