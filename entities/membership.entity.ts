import { defineEntity, type InferEntity } from "@mikro-orm/core";
import { membershipRoles } from "./enums.js";
import { Organization } from "./organization.entity.js";
import { timestamps, uuidPrimaryKey } from "./timestamps.js";
import { User } from "./user.entity.js";

/** A user's role in one organization; (organization, user) is unique. */
export const Membership = defineEntity({
  name: "Membership",
  tableName: "neuroflow_memberships",
  uniques: [{ properties: ["organization", "user"] }],
  properties: (p) => ({
    id: uuidPrimaryKey(),
    organization: () => p.manyToOne(Organization).deleteRule("cascade"),
    user: () => p.manyToOne(User).deleteRule("cascade").index(),
    role: p.enum([...membershipRoles]),
    ...timestamps(),
  }),
});
export type IMembership = InferEntity<typeof Membership>;
