import { defineEntity, type InferEntity } from "@mikro-orm/core";
import { timestamps, uuidPrimaryKey } from "./timestamps.js";

/** A tenant. Every other tenant row carries its `organization_id`; deleting an org removes them. */
export const Organization = defineEntity({
  name: "Organization",
  tableName: "neuroflow_organizations",
  properties: (p) => ({
    id: uuidPrimaryKey(),
    name: p.string().length(200),
    slug: p.string().length(100).unique(),
    ...timestamps(),
  }),
});
export type IOrganization = InferEntity<typeof Organization>;
