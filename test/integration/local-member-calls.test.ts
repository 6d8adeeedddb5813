import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTaskStream, openRuntimeStores } from "../../common/runtime-streams.js";
import {
  agentStatusChangedSchema,
  decodeJson,
  encodeJson,
  SHARD_COUNT,
  subjects,
  teamRunReplySchema,
  teamRunRequestSchema,
  type AgentStatusChanged,
  type AgentTask,
} from "../../runtime/protocol/index.js";
import { defaultPrices } from "../../runtime/providers/prices.js";
import { providersFromEnv } from "../../runtime/providers/registry-from-env.js";
import { AgentHost } from "../../runtime/system/agent-host.js";
import { TeamHost } from "../../runtime/system/team-host.js";
import { eventually } from "../support/harness.js";
import { ensureNatsServer, startNats } from "../support/services.js";

/**
 * A team run asks the members its own worker hosts in process (AgentHost.callHere), not over the
 * bus: one worker in this process, on a nats-server of this file's own, holds every shard. What
 * crosses the bus is watched: no agent call may, while the members' status events still do.
 */
describe("members hosted on the team's worker are asked in process", () => {
  let dir: string;
  let nats: Awaited<ReturnType<typeof startNats>>;
  let nc: NatsConnection;
  let watcher: NatsConnection;
  let host: AgentHost;
  let teams: TeamHost;
  const calls: Msg[] = [];
  const statuses: AgentStatusChanged[] = [];
  const orgId = randomUUID();
  let stopped = false;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "neuroflow-local-calls-"));
    nats = await startNats({ binary: ensureNatsServer(() => undefined), dataDir: join(dir, "nats") });
    nc = await connect({ servers: nats.url });
    watcher = await connect({ servers: nats.url });
    watcher.subscribe(subjects.anyAgentCall, { callback: (_, msg) => void calls.push(msg) });
    watcher.subscribe(`nf.${orgId}.agent.*.status`, {
      callback: (_, msg) => void statuses.push(decodeJson(agentStatusChangedSchema, msg.data, "status event")),
    });
    await watcher.flush();
    await ensureTaskStream(nc);
    const logger = pino({ level: "silent" });
    host = new AgentHost({
      nc,
      stores: await openRuntimeStores(nc),
      workerId: "local-calls",
      providers: providersFromEnv({}, { simulated: { latencyMs: 0 } }),
      prices: defaultPrices,
      logger,
    });
    await host.start();
    await eventually(async () => (host.shards.length === SHARD_COUNT ? true : undefined), 15_000, "the worker holding every shard");
    teams = new TeamHost({ nc, workerId: "local-calls", logger, callHere: (task) => host.callHere(task) });
    await teams.start();
  }, 60_000);

  afterAll(async () => {
    if (!stopped) {
      await teams?.stop(1_000);
      await host?.stop(1_000);
    }
    await watcher?.close();
    await nc?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const task = (agentId: string, org = orgId): AgentTask => ({
    type: "agent.task",
    executionId: randomUUID(),
    orgId: org,
    agentId,
    prompt: "What is 2+2?",
    agent: { name: "Local", personality: {}, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: [] },
    submittedAt: new Date().toISOString(),
  });

  it("answers a call in process as the bus would, publishes its status, and refuses another org's agent", async () => {
    const agentId = randomUUID();
    const first = task(agentId);
    const reply = await host.callHere(first);
    expect(reply).toMatchObject({ ok: true, workerId: "local-calls", execution: { executionId: first.executionId, status: "COMPLETED", output: expect.any(String) } });
    await expect.poll(() => statuses.some((event) => event.execution?.executionId === first.executionId && event.execution.status === "COMPLETED")).toBe(true);

    // The same agent id, now hosted here for this org, asked for by another org.
    const foreign = await host.callHere(task(agentId, randomUUID()));
    expect(foreign).toEqual({ ok: false, error: expect.objectContaining({ code: "INVALID_MESSAGE", message: "no such agent in this organization" }) });
    expect(calls).toHaveLength(0);
  });

  it("runs a 7-member vote with every member asked in process: no agent call on the bus", async () => {
    const members: string[] = Array.from({ length: 7 }, () => randomUUID());
    const profile = { name: "Voter", personality: {}, modelConfig: { provider: "simulated", model: "sim-1", simulated: { accuracy: 0.7 } }, capabilities: [] };
    const request = teamRunRequestSchema.parse({
      type: "team.run",
      orgId,
      teamId: randomUUID(),
      executionId: randomUUID(),
      task: { prompt: "Which colour?", answerKey: { options: ["red", "green"], correct: "green" } },
      members: members.map((agentId) => ({ agentId, name: "Voter", role: "WORKER", priority: 1, capabilities: [], profile })),
      coordination: { structure: "DEMOCRATIC", coordination: { rule: { kind: "majority" } } },
      seed: 7,
    });
    const message = await nc.request(subjects.teamExecRun(request.orgId, request.teamId, request.executionId), encodeJson(request), { timeout: 10_000 });
    const reply = decodeJson(teamRunReplySchema, message.data, "team run reply");
    if (!reply.ok) throw new Error(`team run failed: ${JSON.stringify(reply.error)}`);
    expect(reply.output.status).toBe("COMPLETED");
    const ballots = reply.output.log.filter((entry) => entry.event.type === "team.ballot");
    expect(ballots).toHaveLength(7);
    expect(reply.output.participation.map((entry) => entry.agentId).sort()).toEqual([...members].sort());

    // Each member's task ran here and said so on the bus; none was called over it.
    await expect.poll(() => new Set(statuses.filter((e) => e.execution?.status === "COMPLETED" && members.includes(e.agentId)).map((e) => e.agentId)).size).toBe(7);
    expect(calls).toHaveLength(0);
  });

  it("is declined once the worker stops: callers fall back to the bus", async () => {
    stopped = true;
    await teams.stop(1_000);
    await host.stop(1_000);
    expect(host.callHere(task(randomUUID()))).toBeUndefined();
  });
});
