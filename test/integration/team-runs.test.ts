import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoAgents, type AgentSeed } from "../../control-plane/persistence/seed.js";
import type { ControlPlane } from "../../control-plane/server.js";
import { TeamExecution } from "../../entities/index.js";
import {
  cancelReplySchema,
  decodeJson,
  encodeJson,
  errorBodySchema,
  subjects,
  teamExecEventsOf,
  teamExecEventsSchema,
  teamRunReplySchema,
  teamRunRequestSchema,
  type ServerFrame,
  type TeamExecEvents,
  type TeamEventFrame,
} from "../../runtime/protocol/index.js";
import { api, createTestOrg, login, startTestControlPlane, type TestOrg } from "../support/harness.js";
import { startRuntimeWorker, type RuntimeWorker } from "../support/runtime-worker.js";
import { ensureNatsServer, startNats } from "../support/services.js";
import {
  balancedPlacement,
  createTeam,
  endedExecution,
  executionOf,
  member,
  runTeam,
  storedLog,
  watchAgentStatus,
  workersOf,
  type TeamApi,
} from "../support/team-runs.js";
import { openFrameLog, type FrameLog } from "../support/ws-client.js";

const WORKERS = ["team-a", "team-b"] as const;
const answerKey = { options: ["red", "green", "blue"], correct: "green" };
const isTeamEvent = (executionId: string) => (frame: ServerFrame): frame is TeamEventFrame => frame.type === "team.event" && frame.executionId === executionId;
const errorOf = (body: unknown) => errorBodySchema.parse(body).error;

/**
 * Team executions end to end on the runtime pool: a control plane, two runtime worker processes
 * and a nats-server of this file's own. Members are agents spread over both workers, so every run
 * asks members on both; outcomes, logs and totals are read back through the API and the WebSocket.
 */
describe("team runs on the runtime pool", () => {
  let dir: string;
  let nats: Awaited<ReturnType<typeof startNats>>;
  let nc: NatsConnection;
  let cp: ControlPlane;
  let org: TestOrg;
  let client: TeamApi;
  let frames: FrameLog;
  let workers: RuntimeWorker[] = [];
  let status: ReturnType<typeof watchAgentStatus>;
  /** Pool agents by hosting worker; one whose provider is not configured; one slower than any member deadline. */
  let onA: string[];
  let onB: string[];
  let broken: string;
  let slow: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "neuroflow-team-runs-"));
    nats = await startNats({ binary: ensureNatsServer(() => undefined), dataDir: join(dir, "nats") });
    nc = await connect({ servers: nats.url });
    cp = await startTestControlPlane({ NATS_URL: nats.url });
    // Priced, so the summed costs are not all zero.
    const prices = join(dir, "prices.json");
    await writeFile(prices, JSON.stringify({ simulated: { "*": { input: 1_000, output: 2_000 } } }));
    workers = await Promise.all(
      WORKERS.map((workerId) => startRuntimeWorker({ natsUrl: nats.url, workerId, env: { SIMULATED_LATENCY_MS: "5", PRICES_FILE: prices } })),
    );
    // Enough that each worker surely hosts five of them, wherever the shards fall.
    const pool: AgentSeed[] = Array.from({ length: 40 }, (_, i) => ({ ...demoAgents[i % demoAgents.length]!, name: `Member ${i}` }));
    const brokenSeed: AgentSeed = { ...demoAgents[0]!, name: "Broken", modelConfig: { provider: "openai", model: "gpt-4o-mini" } };
    const slowSeed: AgentSeed = { ...demoAgents[1]!, name: "Slow", modelConfig: { provider: "simulated", model: "sim-1", simulated: { latencyMs: 5_000 } } };
    org = await createTestOrg(cp, { agents: [...pool, brokenSeed, slowSeed] });
    client = { baseUrl: cp.url, orgId: org.orgId, cookie: await login(cp.url, org.email, org.password) };
    frames = await openFrameLog(cp.url, org.orgId, client.cookie);
    status = watchAgentStatus(nc, org.orgId);
    const hostOf = await balancedPlacement(nc, WORKERS);
    const poolIds = org.agents.slice(0, pool.length).map((agent) => agent.id);
    onA = poolIds.filter((id) => hostOf(id) === WORKERS[0]);
    onB = poolIds.filter((id) => hostOf(id) === WORKERS[1]);
    broken = org.agents[pool.length]!.id;
    slow = org.agents[pool.length + 1]!.id;
    expect(onA.length).toBeGreaterThanOrEqual(5);
    expect(onB.length).toBeGreaterThanOrEqual(5);
  }, 120_000);

  afterAll(async () => {
    status?.subscription.unsubscribe();
    await frames?.close();
    await Promise.all(workers.map((worker) => worker.stop().catch(() => undefined)));
    await cp?.stop();
    await nc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A RUNNING execution of the team inserted directly, as if started by a control plane that is not this one; its id. */
  const runningRow = (teamId: string, structure: "DEMOCRATIC" | "PIPELINE", coordination: Record<string, unknown>, input: Record<string, unknown>) =>
    cp.db.asSystem(org.orgId, async (em) => {
      const row = em.create(TeamExecution, {
        organization: org.orgId,
        team: teamId,
        structure,
        coordination,
        status: "RUNNING",
        input,
        output: null,
        error: null,
        agentParticipation: [],
        results: [],
        log: [],
        startedAt: new Date(),
      });
      await em.flush();
      return row.id;
    });

  /** Six members, three hosted on each worker (HIERARCHICAL: the leader on one, its workers on the other). */
  const teams = {
    HIERARCHICAL: () => ({ structure: "HIERARCHICAL", coordination: {}, members: [member(onA[0]!, "LEADER", 10), ...onB.slice(0, 5).map((id) => member(id))] }),
    COLLABORATIVE: () => ({ structure: "COLLABORATIVE", coordination: { maxRounds: 2 }, members: [...onA.slice(0, 3), ...onB.slice(0, 3)].map((id) => member(id)) }),
    PIPELINE: () => ({ structure: "PIPELINE", coordination: {}, members: [onA[0]!, onB[0]!, onA[1]!, onB[1]!, onA[2]!, onB[2]!].map((id, i) => member(id, "WORKER", i + 1)) }),
    DEMOCRATIC: () => ({ structure: "DEMOCRATIC", coordination: { rule: { kind: "majority" } }, members: [...onA.slice(0, 3), ...onB.slice(0, 3)].map((id) => member(id)) }),
  } as const;

  it.each(Object.keys(teams) as (keyof typeof teams)[])("%s: completes on both workers; log, totals and WebSocket events match", async (structure) => {
    const definition = teams[structure]();
    const teamId = await createTeam(client, definition);
    const seen = status.events.length;
    const started = await runTeam(client, teamId, { prompt: `Plan a ${structure.toLowerCase()} launch`, ...(structure === "DEMOCRATIC" ? { answerKey } : {}) });
    expect(started.status).toBe(202);
    const view = executionOf(started.body);
    expect(view).toMatchObject({ teamId, structure, status: "RUNNING", log: [], output: null, input: { prompt: `Plan a ${structure.toLowerCase()} launch`, seed: expect.any(Number) } });

    const ended = await endedExecution(client, view.id, { expectResults: true });
    expect(ended.status, JSON.stringify(ended.error)).toBe("COMPLETED");
    expect(ended.output).toEqual({ answer: expect.stringMatching(/\S/) });
    if (structure === "DEMOCRATIC") expect(ended.output).toEqual({ answer: "green" });
    const log = storedLog(ended);
    expect(log.map((entry) => entry.seq)).toEqual(log.map((_, i) => i + 1));
    expect(log[0]?.event).toMatchObject({ type: "team.started", structure });
    const last = log.at(-1)?.event;
    expect(last?.type).toBe("team.completed");

    // Totals: the row's are the sums over the members, and match the log's final entry.
    const participation = ended.agentParticipation as { agentId: string; calls: number; tokens: { promptTokens: number; completionTokens: number }; costMicroUsd: number }[];
    expect(participation.map((entry) => entry.agentId).sort()).toEqual(definition.members.map((m) => m.agentId).sort());
    const tokens = participation.reduce((sum, entry) => sum + entry.tokens.promptTokens + entry.tokens.completionTokens, 0);
    const micro = participation.reduce((sum, entry) => sum + entry.costMicroUsd, 0);
    expect(tokens).toBeGreaterThan(0);
    expect(ended.tokensUsed).toBe(tokens);
    expect(micro).toBeGreaterThan(0);
    expect(ended.cost).toBeCloseTo(micro / 1_000_000, 9);
    expect(last).toMatchObject({ costMicroUsd: micro });
    expect(ended.duration).toEqual(expect.any(Number));

    // Members ran on both workers.
    const asked = participation.filter((entry) => entry.calls > 0).map((entry) => entry.agentId);
    expect([...workersOf(status.events.slice(seen), asked)].sort()).toEqual([...WORKERS]);

    // Every entry reached the org's WebSocket, in order.
    await frames.waitFor((frame) => isTeamEvent(view.id)(frame) && frame.event.type === "team.completed");
    expect(frames.frames.filter(isTeamEvent(view.id)).map((frame) => frame.seq)).toEqual(log.map((entry) => entry.seq));

    const team = await api(cp.url, `/api/orgs/${org.orgId}/teams/${teamId}`, { cookie: client.cookie });
    expect(team.body).toMatchObject({ team: { totalExecutions: 1, successRate: 1 } });
  });

  it("DEMOCRATIC: a step's log entries cross the bus in one message; the log stored from them is the reply's", async () => {
    const definition = teams.DEMOCRATIC();
    const teamId = await createTeam(client, definition);
    // The row a TeamRunner would have written; the run is then requested here, so its reply comes
    // to this test and the control plane stores the log from the bus messages alone.
    const executionId = await runningRow(teamId, "DEMOCRATIC", definition.coordination, { prompt: "Which colour?", seed: 3 });
    const messages: TeamExecEvents[] = [];
    const watch = nc.subscribe(subjects.teamExecEvents(org.orgId, teamId, executionId), {
      callback: (_error, msg) => void messages.push(decodeJson(teamExecEventsSchema, msg.data, "team events")),
    });
    await nc.flush();
    const profile = { name: "Voter", personality: {}, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: [] };
    const request = teamRunRequestSchema.parse({
      type: "team.run",
      orgId: org.orgId,
      teamId,
      executionId,
      task: { prompt: "Which colour?", answerKey },
      members: definition.members.map(({ agentId }, i) => ({ agentId, name: `Voter ${i}`, role: "WORKER", priority: 0, capabilities: [], profile })),
      coordination: { structure: "DEMOCRATIC", coordination: definition.coordination },
      seed: 3,
    });
    const reply = decodeJson(teamRunReplySchema, (await nc.request(subjects.teamExecRun(org.orgId, teamId, executionId), encodeJson(request), { timeout: 10_000 })).data, "reply");
    if (!reply.ok) throw new Error(`team run failed: ${JSON.stringify(reply.error)}`);
    expect(reply.output.status).toBe("COMPLETED");

    // Sent before the reply, so all here once the subscription has caught up.
    await nc.flush();
    watch.unsubscribe();
    const entries = messages.flatMap(teamExecEventsOf);
    expect(reply.output.log.filter((entry) => entry.event.type === "team.ballot")).toHaveLength(definition.members.length);
    expect(messages.length).toBeLessThan(entries.length);
    expect(messages.length).toBeLessThanOrEqual(reply.output.log.length / 2);
    expect(entries.map(({ seq, at, event }) => ({ seq, at, event }))).toEqual(reply.output.log);

    const ended = await endedExecution(client, executionId);
    expect(ended.status).toBe("COMPLETED");
    expect(ended.results).toEqual([]); // The reply came here: the stored record is the bus's alone.
    expect(ended.log).toEqual(reply.output.log);
  });

  it("DEMOCRATIC meets its quorum without a failing and a timed-out member, and fails clearly when it cannot", async () => {
    const members = [...onA.slice(0, 2), ...onB.slice(0, 2), broken, slow].map((id) => member(id));
    const coordination = (quorum: number) => ({ rule: { kind: "majority", quorum }, memberTimeoutMs: 1_000 });
    const lenient = await createTeam(client, { structure: "DEMOCRATIC", coordination: coordination(0.6), members });
    const ok = await endedExecution(client, executionOf((await runTeam(client, lenient, { prompt: "Which colour?", answerKey })).body).id);
    expect(ok.status, JSON.stringify(ok.error)).toBe("COMPLETED");
    expect(ok.output).toEqual({ answer: "green" });
    const failures = storedLog(ok).flatMap((entry) => (entry.event.type === "team.member.failed" ? [[entry.event.agentId, entry.event.error.code]] : []));
    expect(failures).toEqual(expect.arrayContaining([[broken, "PROVIDER_ERROR"], [slow, "TIMEOUT"]]));
    const participation = ok.agentParticipation as { agentId: string; failures: number }[];
    expect(participation.find((entry) => entry.agentId === broken)?.failures).toBe(1);

    const strict = await createTeam(client, { structure: "DEMOCRATIC", coordination: coordination(0.9), members });
    const failed = await endedExecution(client, executionOf((await runTeam(client, strict, { prompt: "Which colour?", answerKey })).body).id);
    expect(failed.status).toBe("FAILED");
    expect(failed.error).toEqual({ code: "UNAVAILABLE", message: expect.stringContaining("no quorum: 4 of 6 members voted") });
    expect(failed.output).toBeNull();
    expect(storedLog(failed).at(-1)?.event).toMatchObject({ type: "team.failed", error: { code: "UNAVAILABLE" } });
  });

  it("PIPELINE skips a failing stage with `skip`, and fails naming it with `stop`", async () => {
    const stages = [onA[0]!, onB[0]!, broken, onA[1]!, onB[1]!, onA[2]!];
    const body = (onStageFailure: string) => ({ structure: "PIPELINE", coordination: { onStageFailure }, members: stages.map((id, i) => member(id, "WORKER", i + 1)) });
    const skipping = await createTeam(client, body("skip"));
    const skipped = await endedExecution(client, executionOf((await runTeam(client, skipping, { prompt: "Draft, edit, publish" })).body).id, { expectResults: true });
    expect(skipped.status, JSON.stringify(skipped.error)).toBe("COMPLETED");
    expect(storedLog(skipped).map((entry) => entry.event)).toContainEqual({ type: "team.stage", stage: 2, agentId: broken, attempt: 1, status: "skipped" });
    expect(skipped.results).toContainEqual({ stage: 2, agentId: broken, status: "skipped", attempts: 1 });

    const stopping = await createTeam(client, body("stop"));
    const stopped = await endedExecution(client, executionOf((await runTeam(client, stopping, { prompt: "Draft, edit, publish" })).body).id);
    expect(stopped.status).toBe("FAILED");
    expect(stopped.error).toEqual({ code: "PROVIDER_ERROR", message: expect.stringContaining("stage 3 (Broken) failed") });
  });

  it("cancels a run mid-way: it ends CANCELLED and the waiting member's task is cancelled", async () => {
    const teamId = await createTeam(client, { structure: "PIPELINE", coordination: {}, members: [member(slow, "WORKER", 1), member(onA[0]!, "WORKER", 2)] });
    const seen = status.events.length;
    const view = executionOf((await runTeam(client, teamId, { prompt: "Take your time" })).body);
    const slowRunning = () => status.events.slice(seen).find((event) => event.agentId === slow && event.execution?.status === "RUNNING");
    await frames.waitFor((frame) => isTeamEvent(view.id)(frame) && frame.seq === 1);
    await expect.poll(slowRunning, { timeout: 10_000 }).toBeDefined();

    const path = `/api/orgs/${org.orgId}/teams/${teamId}/executions/${view.id}/cancel`;
    const cancelled = await api(cp.url, path, { cookie: client.cookie, method: "POST" });
    expect(cancelled.status).toBe(202);
    const ended = await endedExecution(client, view.id);
    expect(ended.status).toBe("CANCELLED");
    expect(ended.error).toEqual({ code: "CANCELLED", message: "team execution cancelled" });
    expect(storedLog(ended).at(-1)?.event).toMatchObject({ type: "team.cancelled" });
    const memberTask = slowRunning()?.execution?.executionId;
    await expect.poll(() => status.events.some((event) => event.execution?.executionId === memberTask && event.execution?.status === "CANCELLED"), { timeout: 10_000 }).toBe(true);

    const again = await api(cp.url, path, { cookie: client.cookie, method: "POST" });
    expect(again.status).toBe(409);
    expect(errorOf(again.body)).toMatchObject({ code: "CONFLICT", message: "team execution already ended: CANCELLED" });
  });

  it("refuses bad bodies (400), other orgs' teams (404), inactive teams (409) and unknown executions (404)", async () => {
    const teamId = await createTeam(client, teams.COLLABORATIVE());
    for (const body of [{}, { prompt: "" }, { prompt: "x", extra: 1 }, { prompt: "x", seed: -1 }, { prompt: "x", answerKey: { options: ["a", "b"], correct: "c" } }]) {
      const response = await runTeam(client, teamId, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(response.body).code).toBe("VALIDATION_FAILED");
    }
    const other = await createTestOrg(cp);
    const otherClient = { baseUrl: cp.url, orgId: other.orgId, cookie: await login(cp.url, other.email, other.password) };
    expect((await runTeam({ ...otherClient, orgId: org.orgId }, teamId, { prompt: "x" })).status).toBe(404);
    expect((await runTeam(otherClient, teamId, { prompt: "x" })).status).toBe(404);

    await api(cp.url, `/api/orgs/${org.orgId}/teams/${teamId}`, { cookie: client.cookie, method: "PATCH", body: { isActive: false } });
    const inactive = await runTeam(client, teamId, { prompt: "x" });
    expect(inactive.status).toBe(409);
    expect(errorOf(inactive.body)).toMatchObject({ code: "CONFLICT", message: "this team is deactivated" });

    const unknown = await api(cp.url, `/api/orgs/${org.orgId}/teams/${teamId}/executions/${crypto.randomUUID()}/cancel`, { cookie: client.cookie, method: "POST" });
    expect(unknown.status).toBe(404);
  });

  it("answers malformed run and cancel requests on the bus with typed errors", async () => {
    const [teamId, executionId] = [crypto.randomUUID(), crypto.randomUUID()];
    const run = subjects.teamExecRun(org.orgId, teamId, executionId);
    const ask = async (subject: string, payload: unknown) =>
      decodeJson(teamRunReplySchema, (await nc.request(subject, typeof payload === "string" ? new TextEncoder().encode(payload) : encodeJson(payload), { timeout: 5_000 })).data, "reply");
    const valid = {
      type: "team.run",
      orgId: org.orgId,
      teamId,
      executionId,
      task: { prompt: "x" },
      members: [onA[0]!, onB[0]!].map((agentId, i) => ({ agentId, name: `m${i}`, role: "WORKER", priority: i, capabilities: [], profile: { name: `m${i}`, personality: {}, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: [] } })),
      coordination: { structure: "HIERARCHICAL", coordination: { maxSubtasks: 5, allowRedelegation: true, reviewResults: true, leaderMayAnswer: false } },
      seed: 1,
    };
    expect(await ask(run, "{not json")).toMatchObject({ ok: false, error: { code: "INVALID_MESSAGE" } });
    expect(await ask(run, { ...valid, members: [] })).toMatchObject({ ok: false, error: { code: "INVALID_MESSAGE" } });
    expect(await ask(run, { ...valid, executionId: crypto.randomUUID() })).toMatchObject({ ok: false, error: { code: "INVALID_MESSAGE", message: expect.stringContaining("do not match its subject") } });
    // Valid in shape, but a HIERARCHICAL team without a LEADER cannot run.
    expect(await ask(run, valid)).toMatchObject({ ok: false, error: { code: "INVALID_MESSAGE", message: expect.stringContaining("exactly one LEADER") } });

    const cancel = await nc.request(subjects.teamExecCancel(org.orgId, teamId, executionId), encodeJson({ type: "team.exec.cancel" }), { timeout: 5_000 });
    expect(decodeJson(cancelReplySchema, cancel.data, "cancel reply")).toMatchObject({ ok: false, error: { code: "INVALID_MESSAGE" } });
  });

  it("cancels a RUNNING execution no worker runs in the database, saying so", async () => {
    const teamId = await createTeam(client, teams.PIPELINE());
    const orphan = await runningRow(teamId, "PIPELINE", { onStageFailure: "stop", maxRetries: 1 }, { prompt: "lost", seed: 1 });
    const cancelled = await api(cp.url, `/api/orgs/${org.orgId}/teams/${teamId}/executions/${orphan}/cancel`, { cookie: client.cookie, method: "POST" });
    expect(cancelled.status).toBe(200);
    expect(executionOf(cancelled.body)).toMatchObject({
      status: "CANCELLED",
      error: { code: "CANCELLED", message: "cancelled on request; no runtime worker was running it" },
      completedAt: expect.any(String),
    });
  });

  // Last: it stops the workers.
  it("with no worker taking team runs, records the run FAILED (UNAVAILABLE); workers stop cleanly", async () => {
    expect(await Promise.all(workers.map((worker) => worker.stop()))).toEqual([0, 0]);
    const teamId = await createTeam(client, teams.DEMOCRATIC());
    const started = await runTeam(client, teamId, { prompt: "Anyone there?", answerKey });
    expect(started.status).toBe(202);
    const ended = await endedExecution(client, executionOf(started.body).id);
    expect(ended).toMatchObject({ status: "FAILED", error: { code: "UNAVAILABLE", message: "no runtime worker is taking team runs" }, log: [] });
  });
});
