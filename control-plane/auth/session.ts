import { jwtVerify, SignJWT } from "jose";
import { NeuroflowError } from "../../runtime/protocol/index.js";

/** The console's session cookie: an HS256 JWT, HttpOnly, SameSite=Strict. */
export const SESSION_COOKIE = "nf_session";
const SESSION_TTL_SECONDS = 12 * 60 * 60;
const ISSUER = "neuroflow-control-plane";

export interface Session {
  userId: string;
}

export class SessionTokens {
  readonly #key: Uint8Array;

  constructor(secret: string) {
    this.#key = new TextEncoder().encode(secret);
  }

  issue(userId: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${SESSION_TTL_SECONDS}s`)
      .sign(this.#key);
  }

  /** Throws UNAUTHENTICATED for a token that is malformed, forged, or expired. */
  async verify(token: string): Promise<Session> {
    try {
      const { payload } = await jwtVerify(token, this.#key, { issuer: ISSUER, algorithms: ["HS256"] });
      if (!payload.sub) throw new Error("no subject");
      return { userId: payload.sub };
    } catch (cause) {
      throw new NeuroflowError("UNAUTHENTICATED", "session is invalid or expired", { cause });
    }
  }

  cookie(token: string): string {
    return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_SECONDS}`;
  }

  static clearCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }
}

/** The value of one cookie from a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const index = part.indexOf("=");
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

/** The credential a request carries: `Authorization: Bearer …` first, then the session cookie. */
export function tokenFrom(headers: { authorization?: string | undefined; cookie?: string | undefined }): string | undefined {
  const bearer = headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  return bearer ?? readCookie(headers.cookie, SESSION_COOKIE);
}
