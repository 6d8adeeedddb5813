import { createHash, randomBytes } from "node:crypto";
import { NeuroflowError, orgIdSchema } from "../../runtime/protocol/index.js";

/**
 * API keys look like `nfk_<org id, 32 hex>_<secret, 43 base64url chars>`: the org id lets the
 * key be found under row-level security before anyone is known; the 256-bit secret is stored
 * only as its SHA-256 (a slow hash buys nothing for a random secret of that size).
 */
export const API_KEY_PREFIX = "nfk_";
const pattern = /^nfk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKey {
  /** Shown once, at creation. */
  key: string;
  /** What is stored. */
  secretHash: string;
  /** What lists show: enough to recognise the key, not to use it. */
  prefix: string;
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function generateApiKey(orgId: string): NewApiKey {
  const key = `${API_KEY_PREFIX}${orgId.replaceAll("-", "")}_${randomBytes(32).toString("base64url")}`;
  return { key, secretHash: hashApiKey(key), prefix: key.slice(0, 12) + "…" + key.slice(-4) };
}

export function isApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

/** The org an API key belongs to. Throws UNAUTHENTICATED for anything not shaped like a key. */
export function apiKeyOrg(key: string): string {
  const hex = pattern.exec(key)?.[1];
  const orgId = hex && `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  if (!orgId || !orgIdSchema.safeParse(orgId).success) throw new NeuroflowError("UNAUTHENTICATED", "malformed API key");
  return orgId;
}
