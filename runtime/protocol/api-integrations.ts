import { z } from "zod";
import { orgIdSchema } from "./ids.js";

/** HTTP bodies of integrations. */

export const integrationIdSchema = z.uuid();

// ── Integrations ────────────────────────────────────────────────────────────────────────────────

export const integrationProviderSchema = z.enum(["SLACK", "GMAIL", "WEBHOOK", "HTTP"]);
export const integrationStatusSchema = z.enum(["CONNECTED", "DISCONNECTED", "ERROR", "TESTING"]);

const loopbackHosts = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Where a webhook or HTTP integration sends: `https://` anywhere, plain `http://` only to this
 * machine (local services and test fakes), since anything else would cross a network in clear.
 * No user or password in the URL: config is stored and shown in clear, secrets go in `credentials`.
 */
export const integrationUrlSchema = z
  .string()
  .max(2_000)
  .superRefine((value, context) => {
    const url = URL.canParse(value) ? new URL(value) : null;
    if (!url) return context.addIssue({ code: "custom", message: "must be an absolute URL" });
    if (url.protocol !== "https:" && !(url.protocol === "http:" && loopbackHosts.has(url.hostname))) {
      context.addIssue({ code: "custom", message: "must be https:// (plain http:// only to localhost, 127.0.0.1 or [::1])" });
    }
    if (url.username || url.password) context.addIssue({ code: "custom", message: "must not carry a user or password: put secrets in credentials" });
  });

/** `#channel-name` or a channel id (`C…`, `G…`, `D…`). */
const slackChannelSchema = z
  .string()
  .regex(/^(#[a-z0-9][a-z0-9_-]{0,79}|[CGD][A-Z0-9]{8,20})$/, "must be #channel-name (lowercase) or a channel id like C0123456789");

const slack = z.strictObject({ provider: z.literal("SLACK"), config: z.strictObject({ channel: slackChannelSchema }) });
const gmail = z.strictObject({ provider: z.literal("GMAIL"), config: z.strictObject({ from: z.email().max(320) }) });
const webhook = z.strictObject({ provider: z.literal("WEBHOOK"), config: z.strictObject({ url: integrationUrlSchema }) });
const http = z.strictObject({
  provider: z.literal("HTTP"),
  config: z.strictObject({ url: integrationUrlSchema, method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]).default("POST") }),
});

/** A provider with its config, strict so a secret can't be slipped into the (clear-text) config. */
export const integrationConfigSchema = z.discriminatedUnion("provider", [slack, gmail, webhook, http]);
export type IntegrationConfig = z.infer<typeof integrationConfigSchema>;

/** Write-only secrets (tokens, passwords); stored encrypted and never returned. */
export const integrationCredentialsSchema = z
  .record(z.string().min(1).max(100), z.string().min(1).max(10_000))
  .refine((credentials) => Object.keys(credentials).length <= 20, "at most 20 credentials");

const integrationFields = { name: z.string().trim().min(1).max(200), credentials: integrationCredentialsSchema.optional() };

export const createIntegrationBodySchema = z.discriminatedUnion("provider", [
  slack.extend(integrationFields),
  gmail.extend(integrationFields),
  webhook.extend(integrationFields),
  http.extend(integrationFields),
]);
export type CreateIntegrationBody = z.infer<typeof createIntegrationBodySchema>;

/**
 * PATCH an integration. The provider is fixed; `config` is checked against it by the route;
 * `credentials` replaces all of them, `null` removes them.
 */
export const updateIntegrationBodySchema = z
  .strictObject({
    name: integrationFields.name,
    config: z.record(z.string(), z.unknown()),
    credentials: integrationCredentialsSchema.nullable(),
  })
  .partial()
  .refine((body) => Object.keys(body).length > 0, "give at least one field to change");
export type UpdateIntegrationBody = z.infer<typeof updateIntegrationBodySchema>;

/** An integration as the API shows it: never its credentials, only whether it has some. */
export const integrationViewSchema = z.object({
  id: integrationIdSchema,
  orgId: orgIdSchema,
  provider: integrationProviderSchema,
  name: z.string(),
  config: z.record(z.string(), z.unknown()),
  hasCredentials: z.boolean(),
  status: integrationStatusSchema,
  lastTestedAt: z.iso.datetime().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type IntegrationView = z.infer<typeof integrationViewSchema>;
