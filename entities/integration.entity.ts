import { defineEntity, type InferEntity } from "@mikro-orm/core";
import { integrationProviders, integrationStatuses } from "./enums.js";
import { Organization } from "./organization.entity.js";
import { timestamps, uuidPrimaryKey } from "./timestamps.js";
import { User } from "./user.entity.js";

/**
 * A connection to an outside service. Credentials are stored only encrypted (AES-256-GCM,
 * `encryptedCredentials`) and never leave the control plane in a response or a log.
 */
export const Integration = defineEntity({
  name: "Integration",
  tableName: "neuroflow_integrations",
  indexes: [{ properties: ["organization", "createdAt"] }, { properties: ["organization", "status"] }],
  properties: (p) => ({
    id: uuidPrimaryKey(),
    organization: () => p.manyToOne(Organization).deleteRule("cascade"),
    provider: p.enum([...integrationProviders]),
    name: p.string().length(200),
    config: p.json<Record<string, unknown>>(),
    encryptedCredentials: p.text().nullable().hidden(),
    status: p.enum([...integrationStatuses]).default("DISCONNECTED"),
    lastTestedAt: p.datetime().columnType("timestamptz").nullable(),
    lastError: p.text().nullable(),
    createdBy: () => p.manyToOne(User).nullable().deleteRule("set null").index(),
    ...timestamps(),
  }),
});
export type IIntegration = InferEntity<typeof Integration>;
