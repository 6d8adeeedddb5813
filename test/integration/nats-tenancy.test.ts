import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { createAccount, createUser, encodeUser, fmtCreds, fromSeed, type KeyPair } from "@nats-io/jwt";
import { Kvm } from "@nats-io/kv";
import {
  AuthorizationError,
  connect,
  PermissionViolationError,
  RequestError,
  UserAuthenticationExpiredError,
  type ConnectionOptions,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connectOptionsFor,
  createTenancy,
  mintOrgCreds,
  mintServiceCreds,
  readTenancySecrets,
  serverConfig,
  tenancySecretsSchema,
  type MintedCreds,
  type TenancySecrets,
  writeTenancySecrets,
} from "../../common/nats-tenancy.js";
import { parseSubject, subjects } from "../../runtime/protocol/index.js";
import { startSecuredNats } from "../support/nats-auth.js";
import { ensureNatsServer } from "../support/services.js";

/** How long "nothing arrives" is watched for; the positive controls show the same path does deliver. */
const QUIET_MS = 300;

/** Resolves with the promise's value, or rejects after `ms` so a missing event fails fast. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The first status error of `nc` matching `predicate`. Call before the action: status() only sees later events. */
function nextStatusError(nc: NatsConnection, predicate: (error: Error) => boolean): Promise<Error> {
  const statuses = nc.status();
  return (async () => {
    for await (const status of statuses) {
      if (status.type === "error" && predicate(status.error)) return status.error;
    }
    throw new Error("connection closed before the expected status error");
  })();
}

/** What `fn` throws (undefined when it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Every message `sub` gets until `ms` pass. */
async function collect(sub: Subscription, ms: number): Promise<string[]> {
  const seen: string[] = [];
  const timer = setTimeout(() => sub.unsubscribe(), ms);
  for await (const msg of sub) seen.push(`${msg.subject}:${msg.string()}`);
  clearTimeout(timer);
  return seen;
}

describe("NATS tenant isolation (operator mode, per-org user JWTs)", () => {
  let dir: string;
  let secrets: TenancySecrets;
  let nats: Awaited<ReturnType<typeof startSecuredNats>>;
  const orgA = crypto.randomUUID();
  const orgB = crypto.randomUUID();
  const agent = crypto.randomUUID();
  const opened: NatsConnection[] = [];

  const open = async (minted: MintedCreds, extra: Partial<ConnectionOptions> = {}) => {
    const nc = await connect({ servers: nats.url, ...connectOptionsFor(minted), timeout: 2_000, ...extra });
    opened.push(nc);
    return nc;
  };
  const asOrg = async (orgId: string, extra: Partial<ConnectionOptions> = {}) =>
    open(await mintOrgCreds(secrets, orgId, { ttlSeconds: 60 }), extra);
  const asService = async (name: string) => open(await mintServiceCreds(secrets, name, { ttlSeconds: 60 }));
  const credsBytes = (text: string) => new TextEncoder().encode(text);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "neuroflow-nats-tenancy-"));
    // Round-trip through JSON and the schema, as a persisted secrets file would be loaded.
    secrets = tenancySecretsSchema.parse(JSON.parse(JSON.stringify(await createTenancy())));
    nats = await startSecuredNats({ binary: ensureNatsServer(() => undefined), dataDir: join(dir, "nats"), secrets });
  });

  afterAll(async () => {
    await Promise.all(opened.map((nc) => nc.close().catch(() => undefined)));
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("lets an org publish, subscribe and do request/reply on its own subjects, replies via its own inbox", async () => {
    const responder = await asOrg(orgA);
    const requester = await asOrg(orgA);
    const replyTos: string[] = [];
    responder.subscribe(subjects.agentTask(orgA, agent), {
      callback: (_error, msg) => {
        replyTos.push(msg.reply ?? "");
        msg.respond(`ack ${msg.string()}`);
      },
    });
    await responder.flush();

    const reply = await requester.request(subjects.agentTask(orgA, agent), "task-1", { timeout: 1_000 });
    expect(reply.string()).toBe("ack task-1");
    expect(replyTos[0]).toMatch(new RegExp(`^_INBOX\\.${orgA}\\.`));

    const events = responder.subscribe(subjects.org(orgA), { max: 1 });
    await responder.flush();
    requester.publish(subjects.agentTask(orgA, agent), "work");
    expect(await within(collect(events, QUIET_MS), 2_000, "org message")).toContain(`${subjects.agentTask(orgA, agent)}:work`);
  });

  it("lets an org read its status events and team log, but only services write them (the ledger's record)", async () => {
    const reader = await asOrg(orgA);
    const writer = await asOrg(orgA);
    const service = await asService("ledger-writer");
    const teamId = crypto.randomUUID();
    const execution = crypto.randomUUID();
    const recorded = [subjects.agentStatus(orgA, agent), subjects.teamExecEvents(orgA, teamId, execution)];
    const heard = reader.subscribe(subjects.org(orgA));
    await reader.flush();
    for (const target of recorded) {
      const violation = nextStatusError(writer, (error) => error instanceof PermissionViolationError);
      writer.publish(target, "forged");
      expect(await within(violation, 2_000, `refusal of ${target}`)).toMatchObject({ operation: "publish", subject: target });
      // Positive control: the same subject from a service arrives.
      service.publish(target, "real");
    }
    await service.flush();
    expect(await collect(heard, QUIET_MS)).toEqual(recorded.map((target) => `${target}:real`));
    expect(writer.isClosed()).toBe(false);
  });

  it("refuses an org's subscriptions outside its scope with a permission error, and keeps the connection", async () => {
    const nc = await asOrg(orgA);
    for (const subject of [subjects.org(orgB), "nf.>", subjects.anyAgentTask, "_INBOX.>", `_INBOX.${orgB}.>`, ">"]) {
      const closed = await within(nc.subscribe(subject).closed, 2_000, `refusal of ${subject}`);
      expect(closed).toBeInstanceOf(PermissionViolationError);
      expect(closed).toMatchObject({ operation: "subscription", subject, message: `Permissions Violation for Subscription to "${subject}"` });
    }
    expect(nc.isClosed()).toBe(false);
    // The connection still works for its own subjects.
    const own = nc.subscribe(subjects.org(orgA), { max: 1 });
    await nc.flush();
    nc.publish(subjects.agentTask(orgA, agent), "still here");
    expect(await within(collect(own, QUIET_MS), 2_000, "own message")).toHaveLength(1);
  });

  it("drops an org's publish into another org and reports the violation on status()", async () => {
    const a = await asOrg(orgA);
    const b = await asOrg(orgB);
    const target = subjects.agentTask(orgB, agent);
    const inbox = b.subscribe(target);
    await b.flush();
    const violation = nextStatusError(a, (error) => error instanceof PermissionViolationError);

    a.publish(target, "intrusion");
    const error = await within(violation, 2_000, "publish violation");
    expect(error).toMatchObject({ operation: "publish", subject: target, message: `Permissions Violation for Publish to "${target}"` });

    // Positive control: the same subscriber gets B's own message, so the silence above is the server's drop.
    const b2 = await asOrg(orgB);
    b2.publish(target, "legit");
    expect(await collect(inbox, QUIET_MS)).toEqual([`${target}:legit`]);
  });

  it("fails an org's request into another org, and never hands it another org's replies", async () => {
    const a = await asOrg(orgA);
    const b = await asOrg(orgB);
    const served: string[] = [];
    b.subscribe(subjects.agentTask(orgB, agent), {
      callback: (_error, msg) => {
        served.push(msg.string());
        msg.respond("for B only");
      },
    });
    await b.flush();

    const refused = await a.request(subjects.agentTask(orgB, agent), "x", { timeout: 1_000 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RequestError);
    expect(refused).toMatchObject({ cause: expect.any(PermissionViolationError) });
    expect(served).toEqual([]);

    // A listens on its whole inbox while B does request/reply: B's reply goes to B's inbox only.
    const aInbox = a.subscribe(`_INBOX.${orgA}.>`);
    await a.flush();
    expect((await b.request(subjects.agentTask(orgB, agent), "1", { timeout: 1_000 })).string()).toBe("for B only");
    expect(served).toEqual(["1"]);
    expect(await collect(aInbox, QUIET_MS)).toEqual([]);

    // A client with A's creds claiming B's inbox prefix can't even make a request: its reply subscription is refused.
    const spoof = await asOrg(orgA, { inboxPrefix: `_INBOX.${orgB}` });
    const spoofed = await spoof.request(subjects.agentTask(orgA, agent), "x", { timeout: 1_000 }).catch((error: unknown) => error);
    expect(spoofed).toBeInstanceOf(RequestError);
    expect(spoofed).toMatchObject({ cause: { operation: "subscription", subject: expect.stringMatching(new RegExp(`^_INBOX\\.${orgB}\\.`)) } });
  });

  it("lets a service serve every org's agent tasks through one wildcard and reply to each org; orgs reply to it", async () => {
    const orgC = crypto.randomUUID();
    const orgD = crypto.randomUUID();
    const worker = await asService("worker-1");
    worker.subscribe(subjects.anyAgentTask, {
      queue: "workers",
      callback: (_error, msg) => void msg.respond(`${parseSubject(msg.subject).orgId}:${msg.string()}`),
    });
    await worker.flush();
    const [c, d] = await Promise.all([asOrg(orgC), asOrg(orgD)]);
    const [fromC, fromD] = await Promise.all([
      c.request(subjects.agentTask(orgC, agent), "c-task", { timeout: 1_000 }),
      d.request(subjects.agentTask(orgD, agent), "d-task", { timeout: 1_000 }),
    ]);
    expect(fromC.string()).toBe(`${orgC}:c-task`);
    expect(fromD.string()).toBe(`${orgD}:d-task`);

    // The other direction: an org answers a service's request (allowed once per request by `resp`).
    c.subscribe(subjects.agentStatus(orgC, agent), { callback: (_error, msg) => void msg.respond(`seen by ${orgC}`) });
    await c.flush();
    const answer = await worker.request(subjects.agentStatus(orgC, agent), "ping", { timeout: 1_000 });
    expect(answer.string()).toBe(`seen by ${orgC}`);
  });

  it("admits an organization minted after the server started, without a restart", async () => {
    const pid = nats.process.pid;
    const late = `late-${crypto.randomUUID()}`;
    const nc = await asOrg(late);
    const sub = nc.subscribe(subjects.org(late), { max: 1 });
    await nc.flush();
    nc.publish(subjects.agentTask(late, agent), "hello");
    expect(await within(collect(sub, QUIET_MS), 2_000, "late org message")).toEqual([`${subjects.agentTask(late, agent)}:hello`]);
    expect(nats.process.pid).toBe(pid);
    expect(nats.process.exitCode).toBeNull();
  });

  it("refuses creds from an unknown account, an unregistered signing key, or an edited JWT", async () => {
    const stranger = createAccount();
    const accountKey = fromSeed(credsBytes(secrets.account.seed)).getPublicKey();
    const user = createUser();
    const foreign = await encodeUser("x", user, stranger, { pub: { allow: [">"] }, sub: { allow: [">"] } });
    // Claims to be our account, but signed by a key the account JWT does not list.
    const rogueSigner = await encodeUser("x", user, accountKey, { pub: { allow: [">"] }, sub: { allow: [">"] } }, { signer: createAccount() });
    // A real org JWT with its permissions widened by hand: the signature no longer matches.
    const real = await mintOrgCreds(secrets, orgA, { ttlSeconds: 60 });
    const [header, payload, signature] = real.jwt.split(".");
    const widened = Buffer.from(Buffer.from(payload ?? "", "base64url").toString("utf8").replaceAll(`nf.${orgA}.>`, "nf.>")).toString("base64url");
    const edited = `${header}.${widened}.${signature}`;
    expect(edited).not.toBe(real.jwt);

    // Each JWT is paired with its user's real seed, so the refusal is about the JWT, not the nonce signature.
    const realUser = fromSeed(credsBytes(real.seed));
    const cases: Array<[string, KeyPair]> = [[foreign, user], [rogueSigner, user], [edited, realUser]];
    for (const [jwt, key] of cases) {
      const creds = new TextDecoder().decode(fmtCreds(jwt, key));
      const refused = await connect({ servers: nats.url, ...connectOptionsFor({ creds, inboxPrefix: "_INBOX" }), timeout: 2_000, reconnect: false })
        .then(async (nc) => (await nc.close(), "connected"))
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(AuthorizationError);
      expect(refused).toMatchObject({ message: "Authorization Violation" });
    }
  });

  it("refuses an expired user JWT and disconnects a connection when its JWT expires", async () => {
    const expired = await mintOrgCreds(secrets, orgA, { ttlSeconds: 60, now: new Date(Date.now() - 3_600_000) });
    const refused = await open(expired).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AuthorizationError);

    const shortLived = await mintOrgCreds(secrets, orgA, { ttlSeconds: 2 });
    expect(Date.parse(shortLived.expiresAt) - Date.now()).toBeLessThanOrEqual(2_000);
    // No reconnect: the close reason is then the server's, not whichever reconnect attempt failed last.
    const nc = await open(shortLived, { reconnect: false });
    const expiry = nextStatusError(nc, (error) => error instanceof UserAuthenticationExpiredError);
    const error = await within(expiry, 4_000, "expiry");
    expect(error.message).toBe("User Authentication Expired");
    expect(await within(nc.closed(), 2_000, "close after expiry")).toBeInstanceOf(UserAuthenticationExpiredError);
    // The same JWT can't come back. Within the second of expiry the server may still admit it, and then cuts
    // it at once ("User Authentication Expired"); later it refuses it outright ("Authorization Violation", above).
    const again = await open(shortLived, { reconnect: false }).then(
      (connection) => ({ connection }),
      (error: unknown) => ({ error }),
    );
    const refusal = "connection" in again ? await within(again.connection.closed(), 2_000, "cut after re-admission") : again.error;
    expect(refusal instanceof AuthorizationError || refusal instanceof UserAuthenticationExpiredError).toBe(true);
  });

  it("gives services JetStream (a stream over every org's agent tasks, and KV) and orgs none", async () => {
    const service = await asService("jetstream");
    const jsm = await jetstreamManager(service, { timeout: 2_000 });
    await jsm.streams.add({ name: "TENANCY_TASKS", subjects: [subjects.anyAgentTask] });
    const a = await asOrg(orgA);
    await a.flush();
    a.publish(subjects.agentTask(orgA, agent), "persisted");
    await a.flush();
    const stored = await jsm.streams.getMessage("TENANCY_TASKS", { last_by_subj: subjects.agentTask(orgA, agent) });
    expect(stored?.string()).toBe("persisted");
    expect(stored?.subject).toBe(subjects.agentTask(orgA, agent));

    const kv = await new Kvm(service).create("tenancy_test");
    await kv.put(`org.${orgA}`, "value");
    expect((await kv.get(`org.${orgA}`))?.string()).toBe("value");

    const denied = await jetstreamManager(a, { timeout: 1_000 }).catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(RequestError);
    expect(denied).toMatchObject({ cause: { operation: "publish", subject: "$JS.API.INFO" } });
  });

  it("persists secrets 0600, and rejects invalid inputs and inconsistent secrets with typed errors", async () => {
    expect(serverConfig(secrets, { port: 4222, storeDir: "/tmp/js" })).toContain("resolver: MEMORY");
    expect(thrown(() => serverConfig(secrets, { port: 0, storeDir: "/tmp/js" }))).toMatchObject({ code: "VALIDATION_FAILED" });
    for (const orgId of ["a.b", "*", ">", "", "a b"]) {
      await expect(mintOrgCreds(secrets, orgId, { ttlSeconds: 60 })).rejects.toMatchObject({ code: "INVALID_SUBJECT" });
    }
    await expect(mintOrgCreds(secrets, orgA, { ttlSeconds: 0 })).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
    const tampered = { ...secrets, account: { ...secrets.account, seed: secrets.systemAccount.seed } };
    expect(tenancySecretsSchema.safeParse(tampered).success).toBe(false);

    const file = join(dir, "nats-tenancy.json");
    await writeTenancySecrets(file, secrets);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readTenancySecrets(file)).toEqual(secrets);
    await writeFile(file, JSON.stringify(tampered));
    await expect(readTenancySecrets(file)).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
  });
});
