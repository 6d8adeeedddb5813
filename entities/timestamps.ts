import { p } from "@mikro-orm/core";

/** `created_at` / `updated_at` as timestamptz, set by the ORM. */
export const timestamps = () => ({
  createdAt: p.datetime().columnType("timestamptz").onCreate(() => new Date()),
  updatedAt: p
    .datetime()
    .columnType("timestamptz")
    .onCreate(() => new Date())
    .onUpdate(() => new Date()),
});

export const uuidPrimaryKey = () => p.uuid().primary().onCreate(() => crypto.randomUUID());
