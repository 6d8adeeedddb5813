import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { callAgent } from "../../runtime/messaging/agent-client.js";
import { encodeJson, type AgentTask } from "../../runtime/protocol/index.js";
import { cpuTimeMs } from "./bus.js";
import { msSince, summarize, type LatencySummary } from "./stats.js";

/** What the raw NATS echo responder (echo-responder.ts) subscribes to: shaped like agent subjects. */
export const ECHO_SUBJECTS = "nf.*.agent.*.echo";

/** The echo subject standing for agent `agentId` of `orgId`. */
export function echoSubject(orgId: string, agentId: string): string {
  return `nf.${orgId}.agent.${agentId}.echo`;
}

/** One task for the benchmark agent: simulated provider, default limits (memory window 10). */
export function benchTask(orgId: string, agentId: string, prompt = "What is 2+2?"): AgentTask {
  return {
    type: "agent.task",
    executionId: randomUUID(),
    orgId,
    agentId,
    prompt,
    agent: { name: "Bench", personality: {}, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: [] },
    submittedAt: new Date().toISOString(),
  };
}

/** One request of a column; `lane` picks the agent (or echo subject) under load. */
export type Call = (lane: number) => Promise<void>;

/**
 * An agent call (runtime/messaging/agent-client.ts) to agent `agentIds[lane % n]`: request on
 * `nf.<org>.agent.<id>.call`, reply = the ended execution. Rejects unless it COMPLETED.
 */
export function agentCall(nc: NatsConnection, orgId: string, agentIds: readonly string[], timeoutMs = 10_000): Call {
  return async (lane) => {
    const agentId = agentIds[lane % agentIds.length]!;
    const execution = await callAgent(nc, benchTask(orgId, agentId), { timeoutMs });
    if (execution.status !== "COMPLETED") throw new Error(`bench task ended ${execution.status}: ${JSON.stringify(execution.error)}`);
  };
}

/**
 * Raw NATS request/reply with the same request bytes an agent call sends (a fresh task each time),
 * to the echo responder, on the echo subject of `agentIds[lane % n]`.
 */
export function echoCall(nc: NatsConnection, orgId: string, agentIds: readonly string[], timeoutMs = 10_000): Call {
  return async (lane) => {
    const agentId = agentIds[lane % agentIds.length]!;
    await nc.request(echoSubject(orgId, agentId), encodeJson(benchTask(orgId, agentId)), { timeout: timeoutMs });
  };
}

/** Latencies (ms) of `iterations` calls one after another (lane 0), after `warmup` unmeasured ones. */
export async function sequentialSamples(call: Call, options: { iterations: number; warmup: number }): Promise<number[]> {
  for (let i = 0; i < options.warmup; i++) await call(0);
  const samples: number[] = [];
  for (let i = 0; i < options.iterations; i++) {
    const start = process.hrtime.bigint();
    await call(0);
    samples.push(msSince(start));
  }
  return samples;
}

/** What {@link pipelinedRate} measured. */
export interface RateResult {
  /** Calls completed per second of the measured window. */
  perSecond: number;
  completed: number;
  /** Per-call latency under that load. */
  latency: LatencySummary;
}

/**
 * Calls per second with `inFlight` lanes, each starting its next call when its last one ended, for
 * `seconds` after `warmupSeconds` of the same load. `during` runs alongside the measured window
 * (e.g. CPU accounting) and its result is returned with the rate.
 */
export async function pipelinedRate<T>(
  call: Call,
  options: { inFlight: number; seconds: number; warmupSeconds: number },
  during: (window: Promise<void>) => Promise<T>,
): Promise<RateResult & { during: T }> {
  const run = async (ms: number, samples: number[] | undefined) => {
    const deadline = Date.now() + ms;
    let completed = 0;
    await Promise.all(
      Array.from({ length: options.inFlight }, async (_, lane) => {
        while (Date.now() < deadline) {
          const start = process.hrtime.bigint();
          await call(lane);
          samples?.push(msSince(start));
          completed++;
        }
      }),
    );
    return completed;
  };
  await run(options.warmupSeconds * 1000, undefined);
  const samples: number[] = [];
  const start = process.hrtime.bigint();
  const window = run(options.seconds * 1000, samples);
  const [completed, observed] = await Promise.all([window, during(window.then(() => undefined))]);
  const elapsedSeconds = msSince(start) / 1000;
  return { perSecond: completed / elapsedSeconds, completed, latency: summarize(samples), during: observed };
}

/** {@link pipelinedRate} plus the CPU each process used in the measured window. */
export interface ColumnRate {
  perSecond: number;
  completed: number;
  latency: LatencySummary;
  /** CPU ms per process in the window (`bench` is this process). */
  cpuMs: Record<string, number | undefined>;
  /** The measured window, CLOCK_MONOTONIC µs (to cut a CPU profile to it). */
  window: { fromUs: number; toUs: number };
}

/** Measures one column at `inFlight` and the CPU that `pids` (name → process id) used meanwhile. */
export async function measureColumn(
  call: Call,
  options: { inFlight: number; seconds: number; warmupSeconds: number },
  pids: Record<string, number | undefined>,
): Promise<ColumnRate> {
  const result = await pipelinedRate(call, options, async (done) => {
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const before = await Promise.all(Object.values(pids).map(cpuTimeMs));
    const self = process.cpuUsage();
    await done;
    const used = process.cpuUsage(self);
    const after = await Promise.all(Object.values(pids).map(cpuTimeMs));
    const cpuMs: Record<string, number | undefined> = { bench: (used.user + used.system) / 1000 };
    Object.keys(pids).forEach((name, i) => {
      const [b, a] = [before[i], after[i]];
      cpuMs[name] = a !== undefined && b !== undefined ? a - b : undefined;
    });
    return { cpuMs, window: { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) } };
  });
  return { perSecond: result.perSecond, completed: result.completed, latency: result.latency, ...result.during };
}
