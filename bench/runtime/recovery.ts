import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { Kvm, type KV } from "@nats-io/kv";
import { z } from "zod";
import { BUCKETS } from "../../common/runtime-streams.js";
import { callAgent } from "../../runtime/messaging/agent-client.js";
import {
  agentCallReplySchema,
  decodeJson,
  encodeJson,
  NeuroflowError,
  SHARD_COUNT,
  shardOf,
  subjects,
} from "../../runtime/protocol/index.js";
import { startWorker, type BenchBus, type BenchWorker } from "./bus.js";
import { benchTask } from "./calls.js";
import { summarize, type LatencySummary } from "./stats.js";

/** Options of the recovery run. */
export interface RecoveryOptions {
  /** Kill-and-recover rounds; each kills a fresh worker A. */
  trials: number;
  /** Agents of worker A followed per trial. */
  agents: number;
  /** Timeout of each call while waiting for recovery (then it is retried), ms. */
  callTimeoutMs: number;
  /** Pause between a failed call and the next, ms. */
  retryPauseMs: number;
  /** Give up on an agent this long after the kill, ms. */
  giveUpMs: number;
  say: (line: string) => void;
}

/** One kill of a worker and what followed. */
export interface RecoveryTrial {
  victim: string;
  agents: number;
  shards: number;
  /** Kill → first successful call, per agent (ms). */
  serveAgainMs: LatencySummary;
  /** Kill → every shard of the victim leased by the survivor (ms). */
  leasesMovedMs: number;
  /** Calls made while waiting (all agents together). */
  attempts: number;
  /** Agents that did not serve again within `giveUpMs`. */
  failed: number;
}

/** What {@link measureRecovery} measured over all trials. */
export interface RecoveryResult {
  trials: RecoveryTrial[];
  /** Kill → first success, every agent of every trial (ms). */
  serveAgainMs: LatencySummary;
  failed: number;
}

const leaseSchema = z.object({ workerId: z.string(), expiresAt: z.number() });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Who holds each shard's lease right now (live leases only), from the runtime's lease bucket. */
async function owners(kv: KV): Promise<Map<number, string>> {
  const now = Date.now();
  const entries = await Promise.all(Array.from({ length: SHARD_COUNT }, (_, shard) => kv.get(`shard.${shard}`)));
  const held = new Map<number, string>();
  entries.forEach((entry, shard) => {
    if (!entry || entry.operation !== "PUT") return;
    const lease = leaseSchema.safeParse(entry.json());
    if (lease.success && lease.data.expiresAt > now) held.set(shard, lease.data.workerId);
  });
  return held;
}

/** Waits until `a` and `b` hold half the shards each (the pool's balance). */
async function balanced(kv: KV, a: string, b: string, timeoutMs = 30_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const held = await owners(kv);
    const ofA = [...held].filter(([, owner]) => owner === a).map(([shard]) => shard);
    const ofB = [...held].filter(([, owner]) => owner === b).length;
    if (ofA.length === SHARD_COUNT / 2 && ofB === SHARD_COUNT / 2) return ofA;
    if (Date.now() > deadline) throw new Error(`shards not balanced in ${timeoutMs} ms: ${a} ${ofA.length}, ${b} ${ofB}`);
    await sleep(100);
  }
}

/** Agents hosted by `victim`: one call each to candidates on its shards, kept when the reply names it. */
async function agentsOf(nc: NatsConnection, orgId: string, victim: string, shards: number[], wanted: number): Promise<string[]> {
  const mine = new Set(shards);
  const candidates: string[] = [];
  while (candidates.length < wanted) {
    const agentId = randomUUID();
    if (mine.has(shardOf(agentId))) candidates.push(agentId);
  }
  const hosted = await Promise.all(
    candidates.map(async (agentId) => {
      // The reply (AgentCallReply) names the worker that ran the task; callAgent returns only the execution.
      const reply = await nc.request(subjects.agentCall(orgId, agentId), encodeJson(benchTask(orgId, agentId)), { timeout: 10_000 });
      const parsed = decodeJson(agentCallReplySchema, reply.data, "agent call reply");
      return parsed.ok && parsed.workerId === victim ? agentId : undefined;
    }),
  );
  return hosted.filter((agentId): agentId is string => agentId !== undefined);
}

/**
 * Recovery after SIGKILL: two worker processes with the default lease timing (TTL 1200 ms,
 * heartbeat 250 ms); agents that worker A hosts (each has done one task, so its snapshot is stored)
 * are called in a loop from the moment A is SIGKILLed — short timeouts, retried on UNAVAILABLE or
 * TIMEOUT — and the time from the kill to each agent's first successful call is recorded.
 */
export async function measureRecovery(bus: BenchBus, nc: NatsConnection, options: RecoveryOptions): Promise<RecoveryResult> {
  const kv = await new Kvm(nc).open(BUCKETS.runtime);
  const survivor = await startWorker(bus, { workerId: "bench-recovery-b" });
  let victim: BenchWorker | undefined;
  const trials: RecoveryTrial[] = [];
  const samples: number[] = [];
  try {
    for (let trial = 1; trial <= options.trials; trial++) {
      const victimId = `bench-recovery-a${trial}`;
      victim = await startWorker(bus, { workerId: victimId });
      const shards = await balanced(kv, victimId, "bench-recovery-b");
      const orgId = randomUUID();
      const agents = await agentsOf(nc, orgId, victimId, shards, options.agents);
      if (agents.length === 0) throw new Error(`no agent answered from ${victimId}`);

      victim.process.kill("SIGKILL");
      const killedAt = performance.now();
      let attempts = 0;
      const leasesMoved = (async () => {
        for (;;) {
          const held = await owners(kv);
          if (shards.every((shard) => held.get(shard) === "bench-recovery-b")) return performance.now() - killedAt;
          if (performance.now() - killedAt > options.giveUpMs) return Number.NaN;
          await sleep(25);
        }
      })();
      const serveAgain = await Promise.all(
        agents.map(async (agentId) => {
          while (performance.now() - killedAt < options.giveUpMs) {
            attempts++;
            try {
              await callAgent(nc, benchTask(orgId, agentId), { timeoutMs: options.callTimeoutMs });
              return performance.now() - killedAt;
            } catch (error) {
              const retry = error instanceof NeuroflowError && (error.code === "UNAVAILABLE" || error.code === "TIMEOUT");
              if (!retry) throw error;
              await sleep(options.retryPauseMs);
            }
          }
          return Number.NaN;
        }),
      );
      const served = serveAgain.filter((ms) => Number.isFinite(ms));
      samples.push(...served);
      const result: RecoveryTrial = {
        victim: victimId,
        agents: agents.length,
        shards: shards.length,
        serveAgainMs: summarize(served),
        leasesMovedMs: await leasesMoved,
        attempts,
        failed: agents.length - served.length,
      };
      trials.push(result);
      options.say(
        `  trial ${trial}: ${agents.length} agents of ${victimId} serve again after p50 ${result.serveAgainMs.p50.toFixed(0)} ms, ` +
          `max ${result.serveAgainMs.max.toFixed(0)} ms (leases moved after ${result.leasesMovedMs.toFixed(0)} ms, ${attempts} calls)`,
      );
      await victim.stop();
      victim = undefined;
    }
  } finally {
    if (victim) await victim.stop();
    await survivor.stop();
  }
  return {
    trials,
    serveAgainMs: summarize(samples),
    failed: trials.reduce((sum, trial) => sum + trial.failed, 0),
  };
}
