import { chmod, readFile, rename, writeFile } from "node:fs/promises";
import {
  createAccount,
  createOperator,
  createUser,
  decode,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  fromSeed,
  type KeyPair,
  type OperatorLimits,
  type User,
} from "@nats-io/jwt";
import { credsAuthenticator, type Authenticator } from "@nats-io/transport-node";
import { z } from "zod";
import { NeuroflowError } from "../runtime/protocol/errors.js";
import { SUBJECT_PREFIX, subjects } from "../runtime/protocol/subjects.js";

/**
 * Bus-enforced tenant isolation: nats-server runs in operator mode (decentralized JWT auth) with one
 * NeuroFlow account. Whoever holds that account's signing key mints user JWTs at run time — per
 * organization (`nf.<orgId>.>` plus its own reply inbox) or for services (`nf.>` and JetStream) — so a new
 * organization needs no server restart, and the server itself refuses what a tenant may not do.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Account limits must be explicit: left out, every limit is 0 and clients only see a connect timeout.
 *  The JetStream limits are also what enable JetStream for the account. -1 = unlimited. */
const accountLimits: OperatorLimits = {
  conn: -1,
  leaf: -1,
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
};

/** Services use an inbox token no org id can take (`$` is outside SUBJECT_TOKEN), so no org's
 *  `_INBOX.<orgId>.>` permission can ever cover a service's replies. */
export const SERVICE_INBOX_PREFIX = "_INBOX.$svc";

const seed = (prefix: "SO" | "SA") =>
  z.string().regex(new RegExp(`^${prefix}[A-Z2-7]{56}$`), `expected an nkey seed starting with ${prefix}`);
const jwtString = z.string().regex(/^[\w-]+\.[\w-]+\.[\w-]+$/, "expected a JWT");

/** Checks that a stored JWT belongs to the stored seed and was issued by the expected key. */
function checkJwt(ctx: z.RefinementCtx, path: string[], jwt: string, seedText: string, issuer: string): void {
  try {
    const claims = decode(jwt);
    const subject = fromSeed(encoder.encode(seedText)).getPublicKey();
    if (claims.sub !== subject) ctx.addIssue({ code: "custom", path, message: "JWT subject does not match the seed" });
    if (claims.iss !== issuer) ctx.addIssue({ code: "custom", path, message: "JWT is not signed by the operator" });
  } catch (cause) {
    ctx.addIssue({ code: "custom", path, message: `unreadable JWT or seed: ${String(cause)}` });
  }
}

/**
 * The trust chain of one NeuroFlow deployment: operator, system account and the NeuroFlow account with
 * its signing key. Seeds are secrets (file mode 0600); the JWTs are signed public claims. Loading checks
 * that every JWT matches its seed and was issued by the operator, so a hand-edited file fails early.
 */
export const tenancySecretsSchema = z
  .object({
    version: z.literal(1),
    operator: z.object({ name: z.string().min(1), seed: seed("SO"), jwt: jwtString }),
    systemAccount: z.object({ name: z.string().min(1), seed: seed("SA"), jwt: jwtString }),
    account: z.object({ name: z.string().min(1), seed: seed("SA"), signingSeed: seed("SA"), jwt: jwtString }),
  })
  .superRefine((secrets, ctx) => {
    let operatorKey: string;
    try {
      operatorKey = fromSeed(encoder.encode(secrets.operator.seed)).getPublicKey();
    } catch (cause) {
      ctx.addIssue({ code: "custom", path: ["operator", "seed"], message: `invalid seed: ${String(cause)}` });
      return;
    }
    checkJwt(ctx, ["operator", "jwt"], secrets.operator.jwt, secrets.operator.seed, operatorKey);
    checkJwt(ctx, ["systemAccount", "jwt"], secrets.systemAccount.jwt, secrets.systemAccount.seed, operatorKey);
    checkJwt(ctx, ["account", "jwt"], secrets.account.jwt, secrets.account.seed, operatorKey);
  });
export type TenancySecrets = z.infer<typeof tenancySecretsSchema>;

const keyPair = (seedText: string): KeyPair => fromSeed(encoder.encode(seedText));
const seedOf = (kp: KeyPair): string => decoder.decode(kp.getSeed());

/**
 * Generates a fresh operator, system account and NeuroFlow account (with a separate signing key, so the
 * account identity key can stay offline) and their JWTs. Callers persist the result (see
 * {@link writeTenancySecrets}); a server started from it trusts exactly these keys.
 * Fails only if key generation or signing fails (no I/O).
 */
export async function createTenancy(names: { operator?: string; account?: string } = {}): Promise<TenancySecrets> {
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const signing = createAccount();
  const operatorName = names.operator ?? "neuroflow";
  const accountName = names.account ?? "NEUROFLOW";
  return {
    version: 1,
    operator: {
      name: operatorName,
      seed: seedOf(operator),
      jwt: await encodeOperator(operatorName, operator, { system_account: system.getPublicKey() }),
    },
    systemAccount: {
      name: "SYS",
      seed: seedOf(system),
      // The system account only carries server traffic; it still needs connection limits to be usable.
      jwt: await encodeAccount("SYS", system, { limits: { conn: -1, subs: -1, data: -1, payload: -1, wildcards: true } }, { signer: operator }),
    },
    account: {
      name: accountName,
      seed: seedOf(account),
      signingSeed: seedOf(signing),
      jwt: await encodeAccount(
        accountName,
        account,
        { limits: accountLimits, signing_keys: [signing.getPublicKey()] },
        { signer: operator },
      ),
    },
  };
}

/**
 * Reads and validates a secrets file written by {@link writeTenancySecrets}.
 * Throws the fs error when the file can't be read, and NeuroflowError("VALIDATION_FAILED") (zod issues in
 * `details`) when it is not valid JSON or not a consistent tenancy.
 */
export async function readTenancySecrets(path: string): Promise<TenancySecrets> {
  const text = await readFile(path, "utf8");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new NeuroflowError("VALIDATION_FAILED", `${path} is not JSON`, { cause });
  }
  const parsed = tenancySecretsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new NeuroflowError("VALIDATION_FAILED", `${path} is not a valid NATS tenancy: ${parsed.error.message}`, {
      details: parsed.error.issues,
    });
  }
  return parsed.data;
}

/**
 * Writes the secrets with mode 0600 (they hold the seeds), via a temp file and rename so a crash never
 * leaves a half-written file. Throws the fs error on failure.
 */
export async function writeTenancySecrets(path: string, secrets: TenancySecrets): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

export interface ServerConfigOptions {
  port: number;
  /** JetStream store directory. */
  storeDir: string;
  /** Listen address; defaults to 127.0.0.1. */
  host?: string;
}

/** A nats.conf string literal; JSON's escaping is a subset of what the config lexer accepts. */
const quote = (value: string) => JSON.stringify(value);

/**
 * The nats-server (2.9+) config text for this tenancy: operator JWT inline (so there is one file, and it
 * holds no seeds), the account JWTs preloaded into the MEMORY resolver, JetStream on. Accounts are fixed at
 * server start; users are not, so new organizations never need a restart or reload.
 * Throws NeuroflowError("VALIDATION_FAILED") for a port outside 1–65535 or a host/dir with a newline.
 */
export function serverConfig(secrets: TenancySecrets, options: ServerConfigOptions): string {
  const host = options.host ?? "127.0.0.1";
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65_535) {
    throw new NeuroflowError("VALIDATION_FAILED", `invalid port ${options.port}`);
  }
  if (/[\r\n]/.test(host + options.storeDir)) {
    throw new NeuroflowError("VALIDATION_FAILED", "host and storeDir must be single-line");
  }
  const systemKey = keyPair(secrets.systemAccount.seed).getPublicKey();
  const accountKey = keyPair(secrets.account.seed).getPublicKey();
  return [
    `# Generated by runtime/messaging/nats-tenancy.ts — operator mode, tenant isolation by user JWT permissions.`,
    `listen: ${quote(`${host}:${options.port}`)}`,
    `operator: ${quote(secrets.operator.jwt)}`,
    `system_account: ${quote(systemKey)}`,
    `resolver: MEMORY`,
    `resolver_preload: {`,
    `  ${systemKey}: ${quote(secrets.systemAccount.jwt)}`,
    `  ${accountKey}: ${quote(secrets.account.jwt)}`,
    `}`,
    `jetstream: {`,
    `  store_dir: ${quote(options.storeDir)}`,
    `}`,
    ``,
  ].join("\n");
}

/** What a client needs to connect as one minted user. */
export interface MintedCreds {
  /** The `.creds` file text (user JWT + seed): a secret. */
  readonly creds: string;
  readonly jwt: string;
  /** The user's nkey seed (`SU…`): a secret. */
  readonly seed: string;
  /** Pass as `inboxPrefix` to `connect()`: the only inbox the user may subscribe to. */
  readonly inboxPrefix: string;
  /** When the server disconnects the user and refuses the JWT (ISO 8601). */
  readonly expiresAt: string;
}

export interface MintOptions {
  /** Lifetime in whole seconds. Revoking needs a server reload with the MEMORY resolver, so keep it short
   *  and re-mint instead. */
  ttlSeconds: number;
  /** The clock (tests pass a past time to mint already-expired credentials). */
  now?: Date;
}

async function mint(
  secrets: TenancySecrets,
  name: string,
  permissions: Pick<User, "pub" | "sub" | "resp">,
  inboxPrefix: string,
  options: MintOptions,
): Promise<MintedCreds> {
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds < 1) {
    throw new NeuroflowError("VALIDATION_FAILED", `ttlSeconds must be a positive integer, got ${options.ttlSeconds}`);
  }
  const issuedAt = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const exp = issuedAt + options.ttlSeconds;
  const user = createUser();
  // Issuer is the account's identity; the signature comes from its signing key (claims carry issuer_account).
  const jwt = await encodeUser(name, user, keyPair(secrets.account.seed).getPublicKey(), permissions, {
    signer: keyPair(secrets.account.signingSeed),
    exp,
  });
  return {
    creds: decoder.decode(fmtCreds(jwt, user)),
    jwt,
    seed: seedOf(user),
    inboxPrefix,
    expiresAt: new Date(exp * 1000).toISOString(),
  };
}

/**
 * Mints credentials for one organization: publish and subscribe on `nf.<orgId>.>`, subscribe on its own
 * inbox `_INBOX.<orgId>.>` (a shared `_INBOX.>` would let a tenant read other tenants' replies), and reply
 * to requests it received (`resp`), e.g. from a service. It may not publish agent status events or team
 * execution log entries: the control plane stores those as the record of what ran, so only runtime
 * services write them. Everything else is refused by the server.
 * Throws NeuroflowError("INVALID_SUBJECT") when orgId is not a subject token, ("VALIDATION_FAILED") for a
 * bad ttl.
 */
export async function mintOrgCreds(secrets: TenancySecrets, orgId: string, options: MintOptions): Promise<MintedCreds> {
  const orgScope = subjects.org(orgId);
  const inbox = `_INBOX.${orgId}`;
  return mint(
    secrets,
    `org-${orgId}`,
    {
      pub: { allow: [orgScope], deny: [subjects.orgAgentStatus(orgId), subjects.orgTeamExecEvents(orgId)] },
      sub: { allow: [orgScope, `${inbox}.>`] },
      // One reply per received request, within a minute (ttl is in nanoseconds, as in Go's time.Duration).
      resp: { max: 1, ttl: 60_000_000_000 },
    },
    inbox,
    options,
  );
}

/**
 * Mints credentials for a trusted service (runtime worker, control plane): every org's subjects, every
 * inbox (to reply to any org), and the JetStream/KV APIs. Its own inbox prefix is one no org can claim.
 * Throws NeuroflowError("VALIDATION_FAILED") for an empty name or a bad ttl.
 */
export async function mintServiceCreds(secrets: TenancySecrets, name: string, options: MintOptions): Promise<MintedCreds> {
  if (name.trim() === "") throw new NeuroflowError("VALIDATION_FAILED", "service name must not be empty");
  return mint(
    secrets,
    `service-${name}`,
    {
      pub: { allow: [`${SUBJECT_PREFIX}.>`, "_INBOX.>", "$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "$KV.>"] },
      sub: { allow: [`${SUBJECT_PREFIX}.>`, "_INBOX.>"] },
    },
    SERVICE_INBOX_PREFIX,
    options,
  );
}

/**
 * The auth part of `connect()` options for minted credentials:
 * `connect({ servers, ...connectOptionsFor(minted) })`. Without the returned `inboxPrefix`, an org
 * client's requests fail, because it may only subscribe to its own inbox.
 * Never throws; bad creds surface as an AuthorizationError from `connect()`.
 */
export function connectOptionsFor(minted: Pick<MintedCreds, "creds" | "inboxPrefix">): {
  authenticator: Authenticator;
  inboxPrefix: string;
} {
  return { authenticator: credsAuthenticator(encoder.encode(minted.creds)), inboxPrefix: minted.inboxPrefix };
}
