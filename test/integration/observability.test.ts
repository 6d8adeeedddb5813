import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../../control-plane/server.js";
import { api, createTestOrg, login, startTestControlPlane } from "../support/harness.js";

describe("health, metrics and the OpenAPI document", () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await startTestControlPlane();
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it("reports healthy when Postgres and NATS answer", async () => {
    expect(await api(cp.url, "/healthz")).toEqual({ status: 200, body: { status: "ok", database: "ok", nats: "ok" } });
  });

  it("serves an OpenAPI 3.1 document generated from the route schemas", async () => {
    const { status, body } = await api(cp.url, "/api/openapi.json");
    expect(status).toBe(200);
    const doc = body as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> } }>> };
    expect(doc.openapi).toBe("3.1.0");
    for (const path of ["/api/auth/login", "/api/orgs/{orgId}/agents", "/api/orgs/{orgId}/agents/{agentId}/tasks", "/api/orgs/{orgId}/executions", "/api/orgs/{orgId}/api-keys", "/api/orgs/{orgId}/experiments", "/api/orgs/{orgId}/experiments/{experimentId}/results.csv"]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    const taskBody = doc.paths["/api/orgs/{orgId}/agents/{agentId}/tasks"]?.["post"]?.requestBody?.content["application/json"]?.schema;
    expect(Object.keys(taskBody?.properties ?? {})).toEqual(["prompt"]);
    expect(Object.keys(doc.paths)).not.toContain("/metrics");
  });

  it("exposes Prometheus metrics labelled by route pattern, not by raw URL", async () => {
    const org = await createTestOrg(cp);
    const cookie = await login(cp.url, org.email, org.password);
    await api(cp.url, `/api/orgs/${org.orgId}/agents`, { cookie });
    const response = await fetch(`${cp.url}/metrics`);
    const text = await response.text();
    expect(response.headers.get("content-type")).toContain("text/plain");
    expect(text).toContain('neuroflow_http_request_duration_seconds_count{method="GET",route="/api/orgs/:orgId/agents",status="200"}');
    expect(text).not.toContain(org.orgId);
    expect(text).toMatch(/neuroflow_ws_clients \d+/);
    expect(text).toContain("neuroflow_process_cpu_user_seconds_total");
  });
});
