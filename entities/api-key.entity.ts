import { defineEntity, type InferEntity } from "@mikro-orm/core";
import { membershipRoles } from "./enums.js";
import { Organization } from "./organization.entity.js";
import { timestamps, uuidPrimaryKey } from "./timestamps.js";
import { User } from "./user.entity.js";

/**
 * An org-scoped key for programs. Only a SHA-256 of the secret is stored (keys are 256-bit
 * random, so a fast hash is enough); `prefix` identifies the key in lists without revealing it.
 */
export const ApiKey = defineEntity({
  name: "ApiKey",
  tableName: "neuroflow_api_keys",
  properties: (p) => ({
    id: uuidPrimaryKey(),
    organization: () => p.manyToOne(Organization).deleteRule("cascade").index(),
    name: p.string().length(200),
    prefix: p.string().length(32),
    secretHash: p.string().length(64).unique().hidden(),
    role: p.enum([...membershipRoles]).default("MEMBER"),
    createdBy: () => p.manyToOne(User).nullable().deleteRule("set null").index(),
    lastUsedAt: p.datetime().columnType("timestamptz").nullable(),
    expiresAt: p.datetime().columnType("timestamptz").nullable(),
    revokedAt: p.datetime().columnType("timestamptz").nullable(),
    ...timestamps(),
  }),
});
export type IApiKey = InferEntity<typeof ApiKey>;
