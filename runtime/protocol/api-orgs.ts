import { z } from "zod";
import { membershipRoleSchema } from "./api.js";
import { orgIdSchema } from "./ids.js";

/** HTTP bodies of organizations, their members and their API keys. */

export const createOrgBodySchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  slug: z
    .string()
    .min(2)
    .max(100)
    .regex(/^[a-z0-9][a-z0-9-]*$/, "lowercase letters, digits and dashes, starting with a letter or digit"),
});
export const updateOrgBodySchema = z.strictObject({ name: z.string().trim().min(1).max(200) });

export const orgViewSchema = z.object({
  id: orgIdSchema,
  name: z.string(),
  slug: z.string(),
  role: membershipRoleSchema,
  createdAt: z.iso.datetime(),
});
export type OrgView = z.infer<typeof orgViewSchema>;

export const memberViewSchema = z.object({
  userId: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: membershipRoleSchema,
  joinedAt: z.iso.datetime(),
});
export type MemberView = z.infer<typeof memberViewSchema>;

export const addMemberBodySchema = z.strictObject({ email: z.email().max(320), role: membershipRoleSchema });
export const updateMemberBodySchema = z.strictObject({ role: membershipRoleSchema });

export const createApiKeyBodySchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  role: membershipRoleSchema.default("MEMBER"),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

export const apiKeyViewSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  role: membershipRoleSchema,
  createdBy: z.uuid().nullable(),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable(),
  expiresAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});
export type ApiKeyView = z.infer<typeof apiKeyViewSchema>;
