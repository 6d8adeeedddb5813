import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  agentStatusChangedSchema,
  decodeJson,
  encodeJson,
  subjects,
  taskAckSchema,
  type AgentTask,
} from "../runtime/protocol/index.js";
import { startRuntimeWorker } from "../test/support/runtime-worker.js";
import { ensureNatsServer, startNats } from "../test/support/services.js";

/**
 * Task round trip through a real runtime worker process (agent actor, simulated provider with 0
 * latency, status events back over NATS) side by side with raw NATS request/reply on the same
 * nats-server: latency sequentially and throughput at 64 in flight. Prints a table and writes
 * bench/results/runtime-roundtrip.json.
 *
 *   npm run bench [-- --iterations 2000 --seconds 5]
 */
const flags = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) flags.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const iterations = Number(flags.get("iterations") ?? 2000);
const seconds = Number(flags.get("seconds") ?? 5);
const inFlight = 64;
const agents = 64;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function latency(run: () => Promise<void>): Promise<{ p50: number; p99: number; mean: number }> {
  for (let i = 0; i < Math.min(200, iterations); i++) await run(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await run();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

async function throughput(run: (lane: number) => Promise<void>): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, lane) => {
      while (Date.now() < deadline) {
        await run(lane);
        done++;
      }
    }),
  );
  return done / seconds;
}

const dir = mkdtempSync(join(tmpdir(), "neuroflow-bench-"));
const nats = await startNats({ binary: ensureNatsServer((line) => console.error(line)), dataDir: join(dir, "nats") });
const worker = await startRuntimeWorker({ natsUrl: nats.url, workerId: "bench-worker", env: { SIMULATED_LATENCY_MS: "0" } });
const nc: NatsConnection = await connect({ servers: nats.url });
try {
  // Raw NATS: a responder in another connection answers immediately.
  const responderConnection = await connect({ servers: nats.url });
  responderConnection.subscribe("bench.echo", { callback: (_error, msg) => void msg.respond(msg.data) });
  await responderConnection.flush();
  const payload = encodeJson({ hello: "world" });
  const raw = () => nc.request("bench.echo", payload, { timeout: 5000 }).then(() => undefined);

  // Runtime: request the task (ack), then wait for its COMPLETED status event.
  const orgId = randomUUID();
  const agentIds = Array.from({ length: agents }, () => randomUUID());
  const waiting = new Map<string, () => void>();
  nc.subscribe(`nf.${orgId}.agent.*.status`, {
    callback: (_error, msg) => {
      const event = decodeJson(agentStatusChangedSchema, msg.data, "status");
      if (event.execution?.status === "COMPLETED" || event.execution?.status === "FAILED") waiting.get(event.execution.executionId)?.();
    },
  });
  const task = async (lane: number) => {
    const agentId = agentIds[lane % agents]!;
    const message: AgentTask = {
      type: "agent.task",
      executionId: randomUUID(),
      orgId,
      agentId,
      prompt: "What is 2+2?",
      agent: { name: "Bench", personality: {}, modelConfig: { provider: "simulated", model: "sim-1" }, capabilities: [] },
      submittedAt: new Date().toISOString(),
    };
    const completed = new Promise<void>((resolve) => waiting.set(message.executionId, resolve));
    const ack = decodeJson(taskAckSchema, (await nc.request(subjects.agentTask(orgId, agentId), encodeJson(message), { timeout: 5000 })).data, "ack");
    if (!ack.ok) throw new Error(`task refused: ${ack.error.message}`);
    await completed;
    waiting.delete(message.executionId);
  };

  const rawLatency = await latency(raw);
  const taskLatency = await latency(() => task(0));
  const rawRate = await throughput(() => raw());
  const taskRate = await throughput(task);
  await responderConnection.close();

  const rows = [
    { measure: "round trip p50 (ms)", raw: rawLatency.p50, runtime: taskLatency.p50, ratio: taskLatency.p50 / rawLatency.p50, goal: "≤ 1.5×" },
    { measure: "round trip p99 (ms)", raw: rawLatency.p99, runtime: taskLatency.p99, ratio: taskLatency.p99 / rawLatency.p99, goal: "" },
    { measure: `per second, ${inFlight} in flight`, raw: rawRate, runtime: taskRate, ratio: taskRate / rawRate, goal: "≥ 0.5×" },
  ];
  console.table(rows.map((row) => ({ ...row, raw: +row.raw.toFixed(3), runtime: +row.runtime.toFixed(3), ratio: `${row.ratio.toFixed(2)}×` })));
  const results = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(results, { recursive: true });
  writeFileSync(
    join(results, "runtime-roundtrip.json"),
    JSON.stringify({ benchmark: "runtime-roundtrip", at: new Date().toISOString(), node: process.version, iterations, seconds, inFlight, agents, rows }, null, 2),
  );
} finally {
  await nc.close();
  await worker.stop();
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
}
