import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { z } from "zod";
import { NeuroflowError } from "../../runtime/protocol/index.js";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const credentialsSchema = z.record(z.string(), z.string());

/**
 * What an integration's sealed credentials are bound to (the cipher's `context`): a sealed value
 * copied into another integration's row, or another org's, fails to open. Whoever decrypts them
 * (the integration actors, later) passes the same.
 */
export function integrationCredentialsContext(orgId: string, integrationId: string): string {
  return `integration:${orgId}:${integrationId}`;
}

/**
 * Seals integration credentials for storage: AES-256-GCM under a key derived from AUTH_SECRET with
 * HKDF-SHA256 (info "neuroflow-integration-credentials", so the key differs from every other use of
 * the secret), a fresh random 12-byte IV per message, and the form `v1.<iv>.<tag>.<ciphertext>`
 * (base64url) so a later key or algorithm can sit beside this one. `context` (the integration's
 * org and id) is bound in as associated data: a sealed value copied into another row won't open.
 * Rotating AUTH_SECRET makes existing sealed values unreadable.
 */
export class CredentialsCipher {
  private readonly key: Buffer;

  /** Throws when the secret is shorter than 32 characters (as the config demands of AUTH_SECRET). */
  constructor(secret: string) {
    if (secret.length < 32) throw new Error("the credentials key needs a secret of at least 32 characters");
    // No salt: the secret is already high-entropy, and one fixed key per deployment is what we want.
    this.key = Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), "neuroflow-integration-credentials", 32));
  }

  /** Never throws for a record of strings; each call gives a different output (random IV). */
  encrypt(credentials: Record<string, string>, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, "utf8"));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(credentials), "utf8"), cipher.final()]);
    return [VERSION, ...[iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString("base64url"))].join(".");
  }

  /**
   * Opens a value made by {@link encrypt} with the same `context`. Throws NeuroflowError INTERNAL,
   * with nothing of the value or the cause in it, when the format or version is wrong, the value
   * was tampered with, the context differs, or the key is not the one that sealed it.
   */
  decrypt(sealed: string, context: string): Record<string, string> {
    try {
      const [version, iv, tag, ciphertext, ...rest] = sealed.split(".");
      if (version !== VERSION || iv === undefined || tag === undefined || ciphertext === undefined || rest.length > 0) {
        throw new Error("unknown format");
      }
      const ivBytes = Buffer.from(iv, "base64url");
      const tagBytes = Buffer.from(tag, "base64url");
      if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) throw new Error("bad lengths");
      const decipher = createDecipheriv("aes-256-gcm", this.key, ivBytes, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(tagBytes);
      const plaintext = Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
      return credentialsSchema.parse(JSON.parse(plaintext));
    } catch {
      // The cause may describe the plaintext (a JSON or zod error); none of it leaves here.
      throw new NeuroflowError("INTERNAL", "stored credentials could not be decrypted");
    }
  }
}
