import { defineEntity, type InferEntity } from "@mikro-orm/core";
import { timestamps, uuidPrimaryKey } from "./timestamps.js";

/** A person who logs in. Belongs to organizations through Membership. */
export const User = defineEntity({
  name: "User",
  tableName: "neuroflow_users",
  properties: (p) => ({
    id: uuidPrimaryKey(),
    email: p.string().length(320).unique(),
    name: p.string().length(200),
    /** argon2id hash; never serialized (views map fields explicitly). */
    passwordHash: p.text().hidden(),
    ...timestamps(),
  }),
});
export type IUser = InferEntity<typeof User>;
