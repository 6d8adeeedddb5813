import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { controlPlaneEnvSchema } from "../../control-plane/config.js";
import { runtimeEnvSchema } from "../../runtime/config.js";
import { providerEnvSchema } from "../../runtime/providers/registry-from-env.js";

/**
 * Static checks of docker-compose.yml: Docker isn't available where the tests run, so this test guards what
 * `docker compose up --build --scale runtime=3` depends on (service wiring, health-gated start order, JetStream
 * durability, and environment variable names that the processes actually read).
 */

/** Every variable control-plane/main.ts and runtime/main.ts read (from their env schemas); the same names `npm start` uses. */
const KNOWN_ENV = [
  ...Object.keys(controlPlaneEnvSchema.shape),
  ...Object.keys(runtimeEnvSchema.shape),
  ...Object.keys(providerEnvSchema.shape),
  "LOG_LEVEL",
  "LOG_PRETTY",
];

const environmentSchema = z.union([
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  z.array(z.string()),
]);

const serviceSchema = z.object({
  image: z.string().optional(),
  build: z.unknown().optional(),
  command: z.union([z.string(), z.array(z.string())]).optional(),
  container_name: z.string().optional(),
  environment: environmentSchema.optional(),
  ports: z.array(z.unknown()).optional(),
  depends_on: z
    .union([z.array(z.string()), z.record(z.string(), z.object({ condition: z.string() }))])
    .optional(),
  healthcheck: z.object({ test: z.union([z.string(), z.array(z.string())]) }).optional(),
  volumes: z.array(z.string()).optional(),
  configs: z.array(z.object({ source: z.string(), target: z.string() })).optional(),
});

const composeSchema = z.object({
  services: z.record(z.string(), serviceSchema),
  configs: z.record(z.string(), z.object({ content: z.string() })).optional(),
  volumes: z.record(z.string(), z.unknown()).optional(),
});

type Service = z.infer<typeof serviceSchema>;

const compose = composeSchema.parse(
  parse(readFileSync(new URL("../../docker-compose.yml", import.meta.url), "utf8")),
);

function service(name: string): Service {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

/** Environment as name → value, whichever of the two compose forms (map or `NAME=value` list) is used. */
function environment(name: string): Map<string, string> {
  const env = service(name).environment ?? {};
  if (Array.isArray(env)) {
    return new Map(
      env.map((entry): [string, string] => {
        const eq = entry.indexOf("=");
        return eq === -1 ? [entry, ""] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return new Map(Object.entries(env).map(([key, value]): [string, string] => [key, String(value ?? "")]));
}

function command(name: string): string {
  const cmd = service(name).command;
  return Array.isArray(cmd) ? cmd.join(" ") : (cmd ?? "");
}

describe("docker-compose.yml", () => {
  it("defines nats, postgres, the control plane and the runtime worker", () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(["nats", "postgres", "control-plane", "runtime"]),
    );
    expect(command("control-plane")).toBe("node --import tsx control-plane/main.ts");
    expect(command("runtime")).toBe("node --import tsx runtime/main.ts");
  });

  it("lets the runtime scale: no published ports and no fixed container name", () => {
    const runtime = service("runtime");
    expect(runtime.ports).toBeUndefined();
    expect(runtime.container_name).toBeUndefined();
  });

  it("runs both app services from the one image built from the Dockerfile", () => {
    const controlPlane = service("control-plane");
    const runtime = service("runtime");
    expect(controlPlane.build).toBeDefined();
    expect(controlPlane.image).toBeDefined();
    expect(runtime.image).toBe(controlPlane.image);
  });

  it("points both app services at the nats service", () => {
    expect(environment("control-plane").get("NATS_URL")).toBe("nats://nats:4222");
    expect(environment("runtime").get("NATS_URL")).toBe("nats://nats:4222");
  });

  it("gives the control plane its database, secret and a listen address reachable from outside", () => {
    const env = environment("control-plane");
    expect(env.get("DATABASE_URL")).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
    expect(env.get("HOST")).toBe("0.0.0.0");
    expect(env.get("PORT")).toBe("3000");
    expect(service("control-plane").ports).toEqual([expect.stringMatching(/:3000$/)]);

    // Either required from the caller (`${AUTH_SECRET:?…}`) or a dev default the control plane accepts (≥ 32 chars).
    const secret = env.get("AUTH_SECRET") ?? "";
    const fallback = /^\$\{AUTH_SECRET:-(.*)\}$/.exec(secret)?.[1];
    if (fallback !== undefined) expect(fallback.length).toBeGreaterThanOrEqual(32);
    else expect(secret).toMatch(/^\$\{AUTH_SECRET:\?.+\}$/);
  });

  it("uses only environment variable names the processes read", () => {
    for (const name of ["control-plane", "runtime"]) {
      for (const key of environment(name).keys()) expect(KNOWN_ENV, `${name}: ${key}`).toContain(key);
    }
  });

  it("enables JetStream on a named volume with an fsync before every acknowledgement", () => {
    const nats = service("nats");
    const mount = nats.configs?.[0];
    expect(mount).toBeDefined();
    expect(command("nats")).toContain(`--config ${mount?.target}`);

    const content = compose.configs?.[mount?.source ?? ""]?.content ?? "";
    const withoutComments = content.replace(/#.*$/gm, "");
    const jetstream = /jetstream\s*\{([^}]*)\}/.exec(withoutComments)?.[1] ?? "";
    expect(jetstream).toMatch(/\bsync_interval\s*[:=]\s*"?always"?/);
    expect(jetstream).toMatch(/\bstore_dir\s*[:=]\s*"?\/data"?/);

    const dataVolume = nats.volumes?.find((volume) => volume.endsWith(":/data"))?.split(":")[0];
    expect(dataVolume).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(dataVolume);
    expect(nats.healthcheck?.test).toEqual(expect.arrayContaining([expect.stringContaining(":8222/healthz")]));
  });

  it("starts services only after what they depend on is healthy", () => {
    expect(Object.keys(service("control-plane").depends_on ?? {}).sort()).toEqual(["nats", "postgres"]);
    expect(Object.keys(service("runtime").depends_on ?? {})).toEqual(["nats"]);

    for (const [name, svc] of Object.entries(compose.services)) {
      const dependsOn = svc.depends_on ?? {};
      if (Array.isArray(dependsOn)) expect.unreachable(`${name}: depends_on needs a condition per service`);
      for (const [target, { condition }] of Object.entries(dependsOn)) {
        expect(condition, `${name} → ${target}`).toBe("service_healthy");
        expect(service(target).healthcheck, `${target} needs a healthcheck`).toBeDefined();
      }
    }
    expect(service("postgres").healthcheck?.test).toEqual(expect.arrayContaining(["pg_isready"]));
    expect(service("control-plane").healthcheck?.test).toEqual(
      expect.arrayContaining([expect.stringContaining("/healthz")]),
    );
  });
});
