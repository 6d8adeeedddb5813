import { describe, expect, it } from "vitest";
import { CredentialsCipher } from "../../control-plane/auth/credentials-cipher.js";
import { NeuroflowError } from "../../runtime/protocol/index.js";

const secret = "a-test-auth-secret-that-is-long-enough-0001";
const credentials = { token: "xoxb-very-secret-token", signingSecret: "shh, don't tell" };
const context = "integration:org-1:integration-1";

function decryptError(cipher: CredentialsCipher, sealed: string, ctx = context): unknown {
  try {
    cipher.decrypt(sealed, ctx);
  } catch (error) {
    return error;
  }
  throw new Error("decrypt did not fail");
}

/** Flips one bit of one base64url field of a sealed value. */
function tamper(sealed: string, field: 1 | 2 | 3): string {
  const parts = sealed.split(".");
  const bytes = Buffer.from(parts[field]!, "base64url");
  bytes[0] = bytes[0]! ^ 0x01;
  parts[field] = bytes.toString("base64url");
  return parts.join(".");
}

describe("CredentialsCipher", () => {
  const cipher = new CredentialsCipher(secret);

  it("round-trips credentials", () => {
    expect(cipher.decrypt(cipher.encrypt(credentials, context), context)).toEqual(credentials);
    expect(cipher.decrypt(cipher.encrypt({}, context), context)).toEqual({});
  });

  it("writes v1.<iv>.<tag>.<ciphertext> in base64url with a 12-byte IV and 16-byte tag, and no plaintext", () => {
    const sealed = cipher.encrypt(credentials, context);
    const [version, iv, tag, ciphertext, ...rest] = sealed.split(".");
    expect(version).toBe("v1");
    expect(rest).toEqual([]);
    for (const part of [iv, tag, ciphertext]) expect(part).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(iv!, "base64url")).toHaveLength(12);
    expect(Buffer.from(tag!, "base64url")).toHaveLength(16);
    expect(sealed).not.toContain("xoxb");
    expect(Buffer.from(ciphertext!, "base64url").toString("utf8")).not.toContain("xoxb");
  });

  it("uses a fresh IV each time, so equal credentials never seal alike", () => {
    const a = cipher.encrypt(credentials, context);
    const b = cipher.encrypt(credentials, context);
    expect(a).not.toBe(b);
    expect(a.split(".")[1]).not.toBe(b.split(".")[1]);
  });

  it("derives the same key from the same secret (another replica can open it)", () => {
    const sealed = cipher.encrypt(credentials, context);
    expect(new CredentialsCipher(secret).decrypt(sealed, context)).toEqual(credentials);
  });

  it.each([
    ["a flipped IV bit", 1],
    ["a flipped tag bit", 2],
    ["a flipped ciphertext bit", 3],
  ] as const)("refuses %s with INTERNAL, saying nothing of the value", (_what, field) => {
    const error = decryptError(cipher, tamper(cipher.encrypt(credentials, context), field));
    expect(error).toBeInstanceOf(NeuroflowError);
    expect(error).toMatchObject({ code: "INTERNAL", message: "stored credentials could not be decrypted" });
    expect(JSON.stringify(error)).not.toContain("xoxb");
    expect(error instanceof Error ? error.cause : "not an error").toBeUndefined();
  });

  it("refuses another context (a sealed value moved to another row or org)", () => {
    const sealed = cipher.encrypt(credentials, context);
    expect(decryptError(cipher, sealed, "integration:org-2:integration-1")).toMatchObject({ code: "INTERNAL" });
  });

  it("refuses a value sealed under another secret", () => {
    const other = new CredentialsCipher("another-auth-secret-that-is-long-enough-02");
    expect(decryptError(cipher, other.encrypt(credentials, context))).toMatchObject({ code: "INTERNAL" });
  });

  it.each([
    ["an empty string", ""],
    ["plain JSON", JSON.stringify(credentials)],
    ["an unknown version", (s: string) => s.replace(/^v1\./, "v2.")],
    ["a missing part", (s: string) => s.split(".").slice(0, 3).join(".")],
    ["an extra part", (s: string) => `${s}.AAAA`],
    ["a short IV", (s: string) => s.split(".").map((part, i) => (i === 1 ? part.slice(0, 8) : part)).join(".")],
  ])("refuses %s", (_what, make) => {
    const sealed = typeof make === "string" ? make : make(cipher.encrypt(credentials, context));
    expect(decryptError(cipher, sealed)).toMatchObject({ code: "INTERNAL" });
  });

  it("refuses a secret shorter than 32 characters", () => {
    expect(() => new CredentialsCipher("short")).toThrow(/at least 32/);
  });
});
