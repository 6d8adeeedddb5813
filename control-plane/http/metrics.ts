import type { FastifyInstance } from "fastify";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The control plane's Prometheus metrics, in a registry of its own (several control planes can
 * live in one process, as in the tests). Served at `/metrics`.
 */
export class ControlPlaneMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: "neuroflow_http_request_duration_seconds",
    help: "HTTP request duration by route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly statusEvents = new Counter({
    name: "neuroflow_status_events_total",
    help: "agent.status.changed events received, by outcome",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly tasksDispatched = new Counter({
    name: "neuroflow_tasks_dispatched_total",
    help: "tasks given to agents, by result",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  /**
   * Writers that batch (org-batch-writer.ts): `stream` is `status` or `team` (bus subscribers), or
   * `team-reply` (the TeamRunner's run replies).
   */
  readonly ingestBatchSize = new Histogram({
    name: "neuroflow_ingest_batch_size",
    help: "events taken per write cycle of a bus subscriber, by stream",
    labelNames: ["stream"] as const,
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [this.registry],
  });
  readonly ingestLag = new Histogram({
    name: "neuroflow_ingest_lag_seconds",
    help: "time from receiving a bus event to having it stored (or dropped), by stream",
    labelNames: ["stream"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60],
    registers: [this.registry],
  });
  readonly ingestQueued = new Gauge({
    name: "neuroflow_ingest_queued",
    help: "bus events received and not yet taken into a write cycle, by stream",
    labelNames: ["stream"] as const,
    registers: [this.registry],
  });
  readonly ingestRecoveries = new Counter({
    name: "neuroflow_ingest_recoveries_total",
    help: "failed writes of a bus subscriber, by stream and what followed (retry, one-by-one, dropped)",
    labelNames: ["stream", "action"] as const,
    registers: [this.registry],
  });

  constructor(options: { wsClients: () => number }) {
    collectDefaultMetrics({ register: this.registry, prefix: "neuroflow_" });
    new Gauge({
      name: "neuroflow_ws_clients",
      help: "open console WebSocket connections",
      registers: [this.registry],
      collect() {
        this.set(options.wsClients());
      },
    });
  }

  /** Times every request (by route pattern, never by raw URL, so ids don't explode the label set). */
  instrument(app: FastifyInstance): void {
    app.addHook("onResponse", async (request, reply) => {
      const route = request.routeOptions.url ?? "unmatched";
      this.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });
    app.get("/metrics", { schema: { hide: true } }, async (_request, reply) => {
      reply.header("content-type", this.registry.contentType);
      return this.registry.metrics();
    });
  }
}
