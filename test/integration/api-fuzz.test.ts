import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { runnableTrials } from "../../control-plane/experiments/runnable.js";
import { BODY_LIMIT_BYTES } from "../../control-plane/http/app.js";
import { unstorableIn } from "../../control-plane/http/json-body.js";
import { demoAgents } from "../../control-plane/persistence/seed.js";
import type { ControlPlane } from "../../control-plane/server.js";
import type { MembershipRole } from "../../entities/index.js";
import { parseExperimentSpec } from "../../runtime/experiments/index.js";
import {
  addMemberBodySchema,
  assertSoundGraphChange,
  createAgentBodySchema,
  createApiKeyBodySchema,
  createExperimentBodySchema,
  createIntegrationBodySchema,
  createOrgBodySchema,
  createTaskBodySchema,
  createTeamBodySchema,
  createTemplateBodySchema,
  createWorkflowBodySchema,
  createWorkflowExecutionBodySchema,
  errorBodySchema,
  instantiateTemplateBodySchema,
  integrationConfigSchema,
  rateTemplateBodySchema,
  signupBodySchema,
  teamDefinitionSchema,
  teamMemberInputSchema,
  teamRoleSchema,
  updateAgentBodySchema,
  updateIntegrationBodySchema,
  updateMemberBodySchema,
  updateOrgBodySchema,
  updateTeamBodySchema,
  updateTeamMemberBodySchema,
  updateTemplateBodySchema,
  updateWorkflowBodySchema,
  type TeamMemberInput,
} from "../../runtime/protocol/index.js";
import {
  agentFields,
  agentPool,
  changeGraph,
  createGraph,
  credentials,
  description,
  difficulty,
  email,
  fuzzBodies,
  isoDateTime,
  jsonRecord,
  name,
  nonEmpty,
  orgRole,
  priority,
  providerConfig,
  tags,
  teamDefinition,
  teamRole,
  templateCategory,
  text,
  uuid,
  type Graph,
  type WireBody,
} from "../support/body-arbitraries.js";
import { experimentBody } from "../support/experiment-arbitraries.js";
import { api, createTestOrg, login, startTestControlPlane, type TestOrg } from "../support/harness.js";

/**
 * Every write endpoint with a body gets 1,000 generated bodies (test/support/body-arbitraries.ts):
 * valid ones built by hand from the protocol schema's rules, arbitrary JSON, valid ones with one
 * thing wrong (a type, an unknown key, a length, deep nesting, NUL / lone surrogates / emoji) and
 * bytes that are not JSON, all sent as application/json by the org's OWNER. The schema is the
 * oracle: a body it rejects must get 400 VALIDATION_FAILED with the zod issues; one it accepts must
 * get the route's own answer (2xx, or the 4xx the route documents for a duplicate, a missing
 * reference or a rule across rows) — or a 400 when it holds text Postgres can't store or is nested
 * absurdly deep, which no schema describes. Nothing may ever get a 5xx, an oversized body gets a
 * 413, and the rows made before the fuzzing are unchanged after it. FUZZ_STATS=1 prints each
 * endpoint's status counts.
 */

const RUNS = 1_000;
const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });

interface TeamState {
  structure: string;
  coordination: unknown;
  members: TeamMemberInput[];
}

/** Rows made in beforeAll: the org, its five agents, and one dedicated row for each endpoint that changes a row. */
interface Fixture {
  orgId: string;
  slug: string;
  /** Prefixes the slugs and emails the fuzz makes, so they can't meet other tests' rows. */
  token: string;
  ownerId: string;
  agentIds: string[];
  /** A second org of the same OWNER, for PATCH /orgs/:id. */
  spareOrg: { id: string; slug: string };
  /** Already members (409 on add) and users who are not (201). */
  memberEmails: string[];
  outsiderEmails: string[];
  /** Accounts made by the sign-up fuzz (409 the second time). */
  signedUp: Set<string>;
  /** The member whose role the fuzz changes. */
  memberUserId: string;
  agentToPatch: string;
  /** Takes the tasks; answers at once (simulated latency 0). */
  agentForTasks: string;
  workflowToPatch: string;
  workflowToPatchGraph: Graph;
  workflowToRun: string;
  /** The org's own templates; a workflow may name them. */
  templateIds: string[];
  templateToPatch: string;
  templateToPatchGraph: Graph;
  /** Rated and instantiated. */
  templateToUse: string;
  teamToPatch: string;
  teamToPatchState: TeamState;
  /** Members are added to it (and removed again). */
  teamToGrow: string;
  teamToGrowState: TeamState;
  /** One of its members is re-roled. */
  teamToReRole: string;
  teamToReRoleState: TeamState;
  memberToReRole: { id: string; agentId: string };
  integrationToPatch: string;
  /** Rows no endpoint under test may change. */
  untouched: { agents: string[]; workflow: string; template: string; team: string; integration: string; apiKey: string };
}

// ── The endpoints ────────────────────────────────────────────────────────────────────────────────

interface WriteEndpoint {
  method: "POST" | "PATCH";
  /** The route as registered. */
  route: string;
  path: (f: Fixture) => string;
  /** The least role the route needs ("session": every logged-in user, "none": no login); the fuzz calls it as the org's OWNER. */
  minRole: MembershipRole | "session" | "none";
  schema: z.ZodType;
  valid: (f: Fixture) => fc.Arbitrary<unknown>;
  /** The status for a body the schema accepts: 2xx, or a 4xx the route documents. */
  statusFor: (body: unknown, f: Fixture) => number;
  /** After a 2xx: follow the row it changed, or remove what it made so the run stays bounded. */
  after?: (response: unknown, f: Fixture, request: Requester) => Promise<void> | void;
}
type Requester = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: unknown }>;

/** Types `statusFor` with the schema's output, so the table can't test a field the schema doesn't have. */
function endpoint<S extends z.ZodType>(
  spec: Omit<WriteEndpoint, "schema" | "statusFor"> & { schema: S; statusFor: (body: z.output<S>, f: Fixture) => number },
): WriteEndpoint {
  return { ...spec, statusFor: (body, f) => spec.statusFor(spec.schema.parse(body), f) };
}

const idOf = (key: string, response: unknown) => z.object({ [key]: z.object({ id: z.string() }) }).parse(response)[key]!.id;
const graphOf = (key: string, response: unknown): Graph => z.object({ [key]: z.object({ nodes: z.array(z.unknown()), edges: z.array(z.unknown()) }) }).parse(response)[key]!;
const memberState = z.object({ agentId: z.string(), role: teamRoleSchema, priority: z.int() });
const teamStateOf = (response: unknown): TeamState => {
  const { team } = z.object({ team: z.object({ structure: z.string(), coordination: z.unknown(), members: z.array(memberState) }) }).parse(response);
  return { structure: team.structure, coordination: team.coordination, members: team.members.map(({ agentId, role, priority }) => ({ agentId, role, priority })) };
};
/** 400 when the team with these members would break its structure's rules (what the routes' checkTeam does). */
const teamStatus = (state: TeamState, members: TeamMemberInput[], ok: number) => (teamDefinitionSchema.safeParse({ ...state, members }).success ? ok : 400);
/** 400 when a change with one graph half leaves the graph unsound with the stored other half. */
const graphStatus = (change: { nodes?: unknown; edges?: unknown }, stored: Graph): number | null => {
  try {
    assertSoundGraphChange(change as Parameters<typeof assertSoundGraphChange>[0], stored);
    return null;
  } catch {
    return 400;
  }
};
const roleLabel = (role: WriteEndpoint["minRole"]) => (role === "none" ? "no login" : role === "session" ? "any session" : `${role}+`);
const orgPath = (f: Fixture, rest = "") => `/api/orgs/${f.orgId}${rest}`;

const endpoints: WriteEndpoint[] = [
  endpoint({
    method: "POST",
    route: "/api/auth/signup",
    path: () => "/api/auth/signup",
    minRole: "none",
    schema: signupBodySchema,
    valid: (f) =>
      fc.record({
        // A fresh address (this run's prefix keeps other tests' accounts apart), or one that has an account (409).
        email: fc.oneof(
          { weight: 4, arbitrary: email.map((address) => `fz${f.token}.${address}`) },
          { weight: 1, arbitrary: fc.mixedCase(fc.constantFrom(...f.memberEmails, ...f.outsiderEmails)) },
        ),
        name,
        password: text({ min: 10, max: 1_024 }),
      }),
    statusFor: (body, f) => {
      const address = body.email.toLowerCase();
      return [...f.memberEmails, ...f.outsiderEmails, ...f.signedUp].includes(address) ? 409 : 201;
    },
    // Accounts can't be deleted through the API; they belong to no org, so they are left.
    after: (response, f) => {
      f.signedUp.add(z.object({ user: z.object({ email: z.string() }) }).parse(response).user.email.toLowerCase());
    },
  }),
  endpoint({
    method: "POST",
    route: "/api/orgs",
    path: () => "/api/orgs",
    minRole: "session",
    schema: createOrgBodySchema,
    valid: (f) =>
      fc.record({
        name,
        // A fresh slug (this run's prefix keeps other tests' orgs out of the way), or a taken one (409).
        slug: fc.oneof(
          { weight: 9, arbitrary: fc.stringMatching(/^[a-z0-9-]{0,80}$/).map((rest) => `fz${f.token}-${rest}`) },
          { weight: 1, arbitrary: fc.constantFrom(f.slug, f.spareOrg.slug) },
        ),
      }),
    statusFor: (body, f) => ([f.slug, f.spareOrg.slug].includes(body.slug) ? 409 : 201),
    after: async (response, _f, request) => {
      expect((await request("DELETE", `/api/orgs/${idOf("organization", response)}`)).status).toBe(204);
    },
  }),
  endpoint({
    method: "PATCH",
    route: "/api/orgs/:orgId",
    path: (f) => `/api/orgs/${f.spareOrg.id}`,
    minRole: "OWNER",
    schema: updateOrgBodySchema,
    valid: () => fc.record({ name }),
    statusFor: () => 200,
  }),
  endpoint({
    method: "POST",
    route: "/api/orgs/:orgId/members",
    path: (f) => orgPath(f, "/members"),
    minRole: "OWNER",
    schema: addMemberBodySchema,
    valid: (f) =>
      fc.record({
        email: fc.oneof(
          { weight: 2, arbitrary: fc.mixedCase(fc.constantFrom(...f.outsiderEmails)) },
          { weight: 1, arbitrary: fc.mixedCase(fc.constantFrom(...f.memberEmails)) },
          { weight: 1, arbitrary: email },
        ),
        role: orgRole,
      }),
    statusFor: (body, f) => {
      const address = body.email.toLowerCase();
      return f.memberEmails.includes(address) ? 409 : f.outsiderEmails.includes(address) ? 201 : 404;
    },
    after: async (response, f, request) => {
      const { member } = z.object({ member: z.object({ userId: z.string() }) }).parse(response);
      expect((await request("DELETE", orgPath(f, `/members/${member.userId}`))).status).toBe(204);
    },
  }),
  endpoint({
    method: "PATCH",
    route: "/api/orgs/:orgId/members/:userId",
    path: (f) => orgPath(f, `/members/${f.memberUserId}`),
    minRole: "OWNER",
    schema: updateMemberBodySchema,
    valid: () => fc.record({ role: orgRole }),
    statusFor: () => 200,
  }),
  endpoint({
    method: "POST",
    route: "/api/orgs/:orgId/api-keys",
    path: (f) => orgPath(f, "/api-keys"),
    minRole: "OWNER",
    schema: createApiKeyBodySchema,
    valid: () => {
      const day = 24 * 3600 * 1000;
      return fc.record(
        {
          name,
          role: orgRole,
          expiresAt: fc.oneof(
            { weight: 3, arbitrary: isoDateTime(new Date(Date.now() + day), new Date("9998-12-31T00:00:00Z")) },
            { weight: 1, arbitrary: isoDateTime(new Date("0001-01-01T00:00:00Z"), new Date(Date.now() - day)) },
          ),
        },
        { requiredKeys: ["name"] },
      );
    },
    // The route refuses a key that is already expired.
    statusFor: (body) => (body.expiresAt !== undefined && Date.parse(body.expiresAt) <= Date.now() ? 400 : 201),
  }),
  endpoint({
    method: "POST",
    route: "/api/orgs/:orgId/agents",
    path: (f) => orgPath(f, "/agents"),
    minRole: "ADMIN",
    schema: createAgentBodySchema,
    valid: () => fc.record(agentFields, { requiredKeys: ["name", "modelConfig"] }),
    statusFor: () => 201,
  }),
  endpoint({
    method: "PATCH",
    route: "/api/orgs/:orgId/agents/:agentId",
    path: (f) => orgPath(f, `/agents/${f.agentToPatch}`),
    minRole: "ADMIN",
    schema: updateAgentBodySchema,
    valid: () => fc.record(agentFields, { requiredKeys: [] }).filter(nonEmpty),
    statusFor: () => 200,
  }),
  endpoint({
    method: "POST",
    route: "/api/orgs/:orgId/agents/:agentId/tasks",
    path: (f) => orgPath(f, `/agents/${f.agentForTasks}/tasks`),
    minRole: "MEMBER",
    schema: createTaskBodySchema,
    valid: () => fc.record({ prompt: text({ min: 1, max: 20_000, trim: true }) }),
    statusFor: () => 202,
  }),
  endpoint({
    method: "POST",
    route: "/api/orgs/:orgId/workflows",
    path: (f) => orgPath(f, "/workflows"),
    minRole: "ADMIN",
    schema: createWorkflowBodySchema,
    valid: (f) =>
      fc
        .tuple(
          fc.record(
            { name, description: fc.option(description, { nil: null }), settings: jsonRecord, isActive: fc.boolean(), tags, templateId: fc.oneof(fc.constantFrom(...f.templateIds), uuid) },
            { requiredKeys: ["name"] },
          ),
          createGraph,
        )
        .map(([fields, g]) => ({ ...fields, ...g })),
    // A template it can't read is a 404.
    statusFor: (body, f) => (body.templateId !== undefined && !f.templateIds.includes(body.templateId) ? 404 : 201),
  }),
  endpoint({
    method: "PATCH",
    route: "/api/orgs/:orgId/workflows/:workflowId",
    path: (f) => orgPath(f, `/workflows/${f.workflowToPatch}`),
    minRole: "ADMIN",
    schema: updateWorkflowBodySchema,
    valid: (f) =>
      fc
        .tuple(
          fc.record(
            {
              name,
              description: fc.option(description, { nil: null }),
              settings: jsonRecord,
              isActive: fc.boolean(),
              tags,
              templateId: fc.oneof(fc.constant(null), fc.constantFrom(...f.templateIds), uuid),
            },
            { requiredKeys: [] },
          ),
          fc.option(changeGraph, { nil: {} }),
        )
        .map(([fields, g]) => ({ ...fields, ...g }))
        .filter(nonEmpty),
    statusFor: (body, f) =>
      graphStatus(body, f.workflowToPatchGraph) ?? (body.templateId && !f.templateIds.includes(body.templateId) ? 404 : 200),
    after: (response, f) => {
      f.workflowToPatchGraph = graphOf("workflow", response);
    },
  }),
  endpoint({
    method: "POST",
    route: "/api/orgs/:orgId/workflows/:workflowId/executions",
    path: (f) => orgPath(f, `/workflows/${f.workflowToRun}/executions`),
    minRole: "MEMBER",
    schema: createWorkflowExecutionBodySchema,
    valid: () => fc.record({ input: jsonRecord }, { requiredKeys: [] }),
    statusFor: () => 201,
  }),
  endpoint({
    method: "POST",
    route: "/api/orgs/:orgId/templates",
    path: (f) => orgPath(f, "/templates"),
    minRole: "ADMIN",
    schema: createTemplateBodySchema,
    valid: () =>
      fc
        .tuple(
          fc.record(
            { name, description: fc.option(description, { nil: null }), category: templateCategory, difficulty, tags, isPublic: fc.boolean() },
            { requiredKeys: ["name", "category"] },
          ),
          createGraph,
        )
        .map(([fields, g]) => ({ ...fields, ...g })),
    statusFor: () => 201,
    // Published templates are every org's to read: don't leave fuzz output in other tests' lists.
    after: async (response, f, request) => {
      const { template } = z.object({ template: z.object({ id: z.string(), isPublic: z.boolean() }) }).parse(response);
      if (template.isPublic) expect((await request("DELETE", orgPath(f, `/templates/${template.id}`))).status).toBe(204);
    },
  }),
  endpoint({
    method: "PATCH",
    route: "/api/orgs/:orgId/templates/:templateId",
    path: (f) => orgPath(f, `/templates/${f.templateToPatch}`),
    minRole: "ADMIN",
    schema: updateTemplateBodySchema,
    valid: () =>
      fc
        .tuple(
          fc.record(
            { name, description: fc.option(description, { nil: null }), category: templateCategory, difficulty, tags, isPublic: fc.boolean() },
            { requiredKeys: [] },
          ),
          fc.option(changeGraph, { nil: {} }),
        )
        .map(([fields, g]) => ({ ...fields, ...g }))
        .filter(nonEmpty),
    statusFor: (body, f) => graphStatus(body, f.templateToPatchGraph) ?? 200,
    after: (response, f) => {
      f.templateToPatchGraph = graphOf("template", response);
    },
  }),
  endpoint({
    method: "POST",
    route: "/api/orgs/:orgId/templates/:templateId/rate",
    path: (f) => orgPath(f, `/templates/${f.templateToUse}/rate`),
    minRole: "MEMBER",
    schema: rateTemplateBodySchema,
    valid: () => fc.record({ rating: fc.integer({ min: 1, max: 5 }) }),
    statusFor: () => 200,
  }),
  endpoint({
    method: "POST",
    route: "/api/orgs/:orgId/templates/:templateId/instantiate",
    path: (f) => orgPath(f, `/templates/${f.templateToUse}/instantiate`),
    minRole: "ADMIN",
    schema: instantiateTemplateBodySchema,
    valid: () => fc.record({ name, description: fc.option(description, { nil: null }) }, { requiredKeys: [] }),
    statusFor: () => 201,
  }),
  endpoint({
    method: "POST",
    route: "/api/orgs/:orgId/teams",
    path: (f) => orgPath(f, "/teams"),
    minRole: "ADMIN",
    schema: createTeamBodySchema,
    valid: (f) =>
      fc
        .tuple(fc.record({ name, description: fc.option(description, { nil: null }), isActive: fc.boolean() }, { requiredKeys: ["name"] }), agentPool(f.agentIds).chain(teamDefinition))
        .map(([fields, definition]) => ({ ...fields, ...definition })),
    // Every member must be an agent of the org.
    statusFor: (body, f) => (body.members.every((m) => f.agentIds.includes(m.agentId)) ? 201 : 404),
  }),
  endpoint({
    method: "PATCH",
    route: "/api/orgs/:orgId/teams/:teamId",
    path: (f) => orgPath(f, `/teams/${f.teamToPatch}`),
    minRole: "ADMIN",
    schema: updateTeamBodySchema,
    valid: (f) =>
      fc
        .tuple(
          fc.record({ name, description: fc.option(description, { nil: null }), isActive: fc.boolean() }, { requiredKeys: [] }),
          agentPool(f.agentIds).chain(teamDefinition),
          fc.subarray(["structure", "coordination", "members"] as const),
        )
        .map(([fields, definition, keys]) => ({ ...fields, ...Object.fromEntries(keys.map((key) => [key, definition[key]])) }))
        .filter(nonEmpty),
    // The team that would result is checked as a whole (400); a structure change needs its coordination; members must be agents (404).
    statusFor: (body, f) => {
      const state = f.teamToPatchState;
      if (body.structure === undefined && body.coordination === undefined && body.members === undefined) return 200;
      if (body.structure !== undefined && body.structure !== state.structure && body.coordination === undefined) return 400;
      const candidate = { structure: body.structure ?? state.structure, coordination: body.coordination ?? state.coordination, members: body.members ?? state.members };
      if (!teamDefinitionSchema.safeParse(candidate).success) return 400;
      return body.members && !body.members.every((m) => f.agentIds.includes(m.agentId)) ? 404 : 200;
    },
    after: (response, f) => {
      f.teamToPatchState = teamStateOf(response);
    },
  }),
  endpoint({
    method: "POST",
    route: "/api/orgs/:orgId/teams/:teamId/members",
    path: (f) => orgPath(f, `/teams/${f.teamToGrow}/members`),
    minRole: "ADMIN",
    schema: teamMemberInputSchema,
    valid: (f) =>
      fc.record(
        { agentId: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...f.agentIds) }, { weight: 1, arbitrary: uuid }), role: teamRole, priority },
        { requiredKeys: ["agentId"] },
      ),
    // An unknown agent is a 404 before the team's rules are checked with the new member (400).
    statusFor: (body, f) => (f.agentIds.includes(body.agentId) ? teamStatus(f.teamToGrowState, [...f.teamToGrowState.members, body], 201) : 404),
    after: async (response, f, request) => {
      const { member } = z.object({ member: z.object({ id: z.string() }) }).parse(response);
      expect((await request("DELETE", orgPath(f, `/teams/${f.teamToGrow}/members/${member.id}`))).status).toBe(204);
    },
  }),
  endpoint({
    method: "PATCH",
    route: "/api/orgs/:orgId/teams/:teamId/members/:memberId",
    path: (f) => orgPath(f, `/teams/${f.teamToReRole}/members/${f.memberToReRole.id}`),
    minRole: "ADMIN",
    schema: updateTeamMemberBodySchema,
    valid: () => fc.record({ role: teamRole, priority }, { requiredKeys: [] }).filter(nonEmpty),
    statusFor: (body, f) => {
      const state = f.teamToReRoleState;
      return teamStatus(state, state.members.map((m) => (m.agentId === f.memberToReRole.agentId ? { ...m, ...body } : m)), 200);
    },
    after: (response, f) => {
      const { member } = z.object({ member: memberState }).parse(response);
      const state = f.teamToReRoleState;
      state.members = state.members.map((m) => (m.agentId === member.agentId ? { agentId: member.agentId, role: member.role, priority: member.priority } : m));
    },
  }),
  endpoint({
    method: "POST",
    route: "/api/orgs/:orgId/integrations",
    path: (f) => orgPath(f, "/integrations"),
    minRole: "ADMIN",
    schema: createIntegrationBodySchema,
    valid: () =>
      fc.oneof(
        ...(["SLACK", "GMAIL", "WEBHOOK", "HTTP"] as const).map((provider) =>
          fc.record({ provider: fc.constant(provider), config: providerConfig[provider], name, credentials }, { requiredKeys: ["provider", "config", "name"] }),
        ),
      ),
    statusFor: () => 201,
  }),
  endpoint({
    method: "PATCH",
    route: "/api/orgs/:orgId/integrations/:integrationId",
    path: (f) => orgPath(f, `/integrations/${f.integrationToPatch}`),
    minRole: "ADMIN",
    schema: updateIntegrationBodySchema,
    valid: () =>
      fc
        .record(
          { name, config: fc.oneof(...Object.values(providerConfig)), credentials: fc.option(credentials, { nil: null }) },
          { requiredKeys: [] },
        )
        .filter(nonEmpty),
    // The provider (WEBHOOK here) is fixed: a config of another provider is a 400.
    statusFor: (body) => (body.config !== undefined && !integrationConfigSchema.safeParse({ provider: "WEBHOOK", config: body.config }).success ? 400 : 200),
  }),
  endpoint({
    method: "POST",
    route: "/api/orgs/:orgId/experiments",
    path: (f) => orgPath(f, "/experiments"),
    minRole: "MEMBER",
    schema: createExperimentBodySchema,
    valid: () => experimentBody,
    // YAML is checked by the route like a JSON spec; a spec the pool can't run, or YAML spelling
    // text Postgres can't store, is a 400 too.
    statusFor: (body) => {
      try {
        const spec = body.spec ?? parseExperimentSpec(body.yaml ?? "", "yaml");
        if (unstorableIn(spec)) return 400;
        runnableTrials(spec);
        return 202;
      } catch {
        return 400;
      }
    },
    // Stop the run it started (it may have ended already: 409), so the fuzz leaves nothing running.
    after: async (response, f, request) => {
      const { status } = await request("POST", orgPath(f, `/experiments/${idOf("experiment", response)}/cancel`));
      expect([200, 409]).toContain(status);
    },
  }),
];

// ── The oracle ───────────────────────────────────────────────────────────────────────────────────

/** What fastify's JSON parser refuses before any schema runs: `__proto__` keys and `constructor.prototype` (secure-json-parse). */
function poisoned(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current !== "object" || current === null) continue;
    if (Object.hasOwn(current, "__proto__")) return true;
    const ctor: unknown = Object.hasOwn(current, "constructor") ? (current as Record<string, unknown>).constructor : undefined;
    if (typeof ctor === "object" && ctor !== null && Object.hasOwn(ctor, "prototype")) return true;
    stack.push(...Object.values(current));
  }
  return false;
}

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Nesting past which a body may be refused whatever the schema says (JSON this deep is no one's data; the ORM can't even stringify ~5,000 levels). */
const MAY_REFUSE_DEEPER_THAN = 32;

/**
 * Why the server may refuse (400) a body whatever its schema says: text Postgres can't hold (U+0000
 * anywhere, an unpaired surrogate in jsonb) in any string or key, or nesting past
 * MAY_REFUSE_DEEPER_THAN. Iterative: the bodies can be 100,000 levels deep.
 */
function refusable(value: unknown): string | null {
  const bad = (s: string) => s.includes("\u0000") || loneSurrogate.test(s);
  const stack: Array<[unknown, number]> = [[value, 0]];
  let reason: string | null = null;
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current === "string" && bad(current)) return "text Postgres can't store";
    if (typeof current !== "object" || current === null) continue;
    if (depth > MAY_REFUSE_DEEPER_THAN) reason = "nested too deep";
    if (!Array.isArray(current) && Object.keys(current).some(bad)) return "text Postgres can't store";
    for (const item of Object.values(current)) stack.push([item, depth + 1]);
  }
  return reason;
}

interface Verdict {
  status: number;
  why: string;
  /** A schema rejection: the 400 must carry the zod issues. */
  issues?: boolean;
  /** Also fine: 400, for text the database can't store, very deep nesting or bytes that are not UTF-8. */
  may400?: boolean;
}

function verdict(endpoint: WriteEndpoint, wire: WireBody, f: Fixture): Verdict {
  const bytes = typeof wire.body === "string" ? encoder.encode(wire.body) : wire.body;
  if (bytes.length > BODY_LIMIT_BYTES) return { status: 413, why: "over the body limit" };
  let wellFormed = true;
  try {
    strictUtf8.decode(bytes);
  } catch {
    wellFormed = false;
  }
  // As fastify reads it: UTF-8 with replacement characters, a leading BOM dropped by the parser.
  let text = lenientUtf8.decode(bytes);
  if (text.length === 0) return { status: 400, why: "empty body" };
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { status: 400, why: "not JSON" };
  }
  if (poisoned(parsed)) return { status: 400, why: "prototype poisoning" };
  const refusal = refusable(parsed);
  const result = endpoint.schema.safeParse(parsed);
  // A body refused before its schema ran (say by the JSON parser) has no zod issues to show.
  if (!result.success) return { status: 400, why: `schema: ${result.error.issues[0]?.message ?? "?"}`, issues: refusal === null };
  return { status: endpoint.statusFor(parsed, f), why: refusal ?? "schema accepts", may400: !wellFormed || refusal !== null };
}

const validationError = z.strictObject({
  error: z.strictObject({ code: z.literal("VALIDATION_FAILED"), message: z.string().min(1), details: z.unknown().optional() }),
});

// ── The tests ────────────────────────────────────────────────────────────────────────────────────

describe("every write endpoint under fuzzed bodies", () => {
  let cp: ControlPlane;
  let org: TestOrg;
  let cookie: string;
  let f: Fixture;
  let baseline: unknown;
  const tallies = new Map<string, Record<string, number>>();

  const request: Requester = (method, path, body) => api(cp.url, path, { method, cookie, ...(body === undefined ? {} : { body }) });
  const created = async (path: string, body: unknown) => {
    const response = await request("POST", path, body);
    if (response.status !== 201) throw new Error(`setup: POST ${path} answered ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  };

  /** The rows no endpoint under test may change, read straight from the tables. */
  const snapshot = () =>
    cp.db.asSystem(f.orgId, async (em) => {
      const { untouched: u } = f;
      const rows = (table: string, where: string, params: unknown[]) => em.execute(`select * from ${table} where ${where} order by id`, params);
      return {
        organization: await rows("neuroflow_organizations", "id = ?", [f.orgId]),
        owner: await rows("neuroflow_memberships", "organization_id = ? and user_id = ?", [f.orgId, f.ownerId]),
        agents: await rows("neuroflow_ai_agents", `id in (${u.agents.map(() => "?").join(", ")})`, u.agents),
        workflow: await rows("neuroflow_workflows", "id = ?", [u.workflow]),
        template: await rows("neuroflow_workflow_templates", "id = ?", [u.template]),
        team: await rows("neuroflow_agent_teams", "id = ?", [u.team]),
        teamMembers: await rows("neuroflow_team_members", "team_id = ?", [u.team]),
        integration: await rows("neuroflow_integrations", "id = ?", [u.integration]),
        apiKey: await rows("neuroflow_api_keys", "id = ?", [u.apiKey]),
      };
    });

  beforeAll(async () => {
    cp = await startTestControlPlane();
    org = await createTestOrg(cp, { agents: demoAgents });
    const [member, ...outsiders] = await Promise.all([1, 2, 3].map(() => createTestOrg(cp, { agents: [] })));
    cookie = await login(cp.url, org.email, org.password);
    const orgBase = `/api/orgs/${org.orgId}`;
    const agentIds = org.agents.map((agent) => agent.id);
    const [a0, a1, a2] = agentIds as [string, string, string];
    const token = randomUUID().slice(0, 8);
    const { slug } = z.object({ organization: z.object({ slug: z.string() }) }).parse((await request("GET", orgBase)).body).organization;

    await created(`${orgBase}/members`, { email: member!.email, role: "MEMBER" });
    const spare = z.object({ organization: z.object({ id: z.string(), slug: z.string() }) }).parse(
      await created("/api/orgs", { name: "Spare", slug: `fz${token}-spare` }),
    ).organization;
    const agent = (name: string) =>
      created(`${orgBase}/agents`, { name, modelConfig: { provider: "simulated", model: "sim-1", simulated: { latencyMs: 0 } } }).then((body) => idOf("agent", body));
    const someGraph = {
      nodes: [
        { id: "in", type: "input", position: { x: 0, y: 0 }, data: { label: "In" } },
        { id: "out", position: { x: 0, y: 100 }, data: {} },
      ],
      edges: [{ id: "e", source: "in", target: "out" }],
    };
    const template = (name: string) => created(`${orgBase}/templates`, { name, category: "AUTOMATION", ...someGraph });
    const workflow = (name: string) => created(`${orgBase}/workflows`, { name, ...someGraph });
    const team = (body: object) => created(`${orgBase}/teams`, { name: "Team", ...body });
    const hierarchical = {
      structure: "HIERARCHICAL",
      coordination: {},
      members: [
        { agentId: a0, role: "LEADER" },
        { agentId: a1, role: "WORKER" },
        { agentId: a2, role: "SPECIALIST" },
      ],
    };
    const collaborative = { structure: "COLLABORATIVE", coordination: {}, members: [{ agentId: a0 }] };
    const integration = (body: object) => created(`${orgBase}/integrations`, { name: "Integration", ...body }).then((b) => idOf("integration", b));

    const [untouchedTemplate, templateToPatch, templateToUse] = await Promise.all(["Untouched", "To patch", "To use"].map(template));
    const [untouchedWorkflow, workflowToPatch, workflowToRun] = await Promise.all(["Untouched", "To patch", "To run"].map(workflow));
    const [untouchedTeam, teamToPatch, teamToGrow, teamToReRole] = await Promise.all([hierarchical, collaborative, collaborative, hierarchical].map(team));
    const reRoled = z.object({ team: z.object({ members: z.array(z.object({ id: z.string(), agentId: z.string() })) }) }).parse(teamToReRole).team.members.find((m) => m.agentId === a1)!;
    const apiKey = z.object({ apiKey: z.object({ id: z.string() }) }).parse(await created(`${orgBase}/api-keys`, { name: "Untouched" })).apiKey.id;

    f = {
      orgId: org.orgId,
      slug,
      token,
      ownerId: org.userId,
      agentIds,
      spareOrg: spare,
      memberEmails: [org.email, member!.email],
      outsiderEmails: outsiders.map((o) => o.email),
      signedUp: new Set(),
      memberUserId: member!.userId,
      agentToPatch: await agent("To patch"),
      agentForTasks: await agent("Takes tasks"),
      workflowToPatch: idOf("workflow", workflowToPatch),
      workflowToPatchGraph: graphOf("workflow", workflowToPatch),
      workflowToRun: idOf("workflow", workflowToRun),
      templateIds: [untouchedTemplate, templateToPatch, templateToUse].map((t) => idOf("template", t)),
      templateToPatch: idOf("template", templateToPatch),
      templateToPatchGraph: graphOf("template", templateToPatch),
      templateToUse: idOf("template", templateToUse),
      teamToPatch: idOf("team", teamToPatch),
      teamToPatchState: teamStateOf(teamToPatch),
      teamToGrow: idOf("team", teamToGrow),
      teamToGrowState: teamStateOf(teamToGrow),
      teamToReRole: idOf("team", teamToReRole),
      teamToReRoleState: teamStateOf(teamToReRole),
      memberToReRole: { id: reRoled.id, agentId: reRoled.agentId },
      integrationToPatch: await integration({ provider: "WEBHOOK", config: { url: "https://hooks.example.com/in" } }),
      untouched: {
        agents: agentIds,
        workflow: idOf("workflow", untouchedWorkflow),
        template: idOf("template", untouchedTemplate),
        team: idOf("team", untouchedTeam),
        integration: await integration({ provider: "SLACK", config: { channel: "#general" }, credentials: { token: "xoxb-untouched" } }),
        apiKey,
      },
    };
    baseline = await snapshot();
  });

  afterAll(async () => {
    if (process.env.FUZZ_STATS) for (const [name, tally] of tallies) process.stdout.write(`${name} ${JSON.stringify(tally)}\n`);
    await cp?.stop();
  });

  it("builds valid bodies the schemas accept (the arbitraries follow the rules)", () => {
    for (const endpoint of endpoints) {
      for (const body of fc.sample(endpoint.valid(f), 300)) {
        const result = endpoint.schema.safeParse(body);
        expect(result.success, `${endpoint.route}: ${JSON.stringify(body)} ${result.error?.message}`).toBe(true);
        expect(refusable(body), `${endpoint.route}: ${JSON.stringify(body)}`).toBeNull();
      }
    }
  });

  it("answers an oversized body (> 256 KiB) to every write endpoint with 413 PAYLOAD_TOO_LARGE", async () => {
    const oversized = JSON.stringify({ pad: "x".repeat(BODY_LIMIT_BYTES + 1) });
    const others: Array<[string, string]> = [
      ["POST", "/api/auth/login"],
      ["POST", "/api/auth/logout"],
      ["POST", orgPath(f, "/nats-credentials")],
      ["POST", orgPath(f, `/executions/${randomUUID()}/cancel`)],
      ["POST", orgPath(f, `/experiments/${randomUUID()}/cancel`)],
      ["DELETE", `/api/orgs/${f.spareOrg.id}`],
      ["DELETE", orgPath(f, `/members/${f.memberUserId}`)],
      ["DELETE", orgPath(f, `/api-keys/${f.untouched.apiKey}`)],
      ["DELETE", orgPath(f, `/agents/${f.untouched.agents[0]}`)],
      ["DELETE", orgPath(f, `/workflows/${f.untouched.workflow}`)],
      ["DELETE", orgPath(f, `/templates/${f.untouched.template}`)],
      ["DELETE", orgPath(f, `/teams/${f.untouched.team}`)],
      ["DELETE", orgPath(f, `/teams/${f.teamToReRole}/members/${f.memberToReRole.id}`)],
      ["DELETE", orgPath(f, `/integrations/${f.untouched.integration}`)],
    ];
    for (const [method, path] of [...endpoints.map((e): [string, string] => [e.method, e.path(f)]), ...others]) {
      const response = await api(cp.url, path, { method, cookie, rawBody: oversized });
      expect(response, `${method} ${path}`).toEqual({ status: 413, body: { error: { code: "PAYLOAD_TOO_LARGE", message: "request body is too large" } } });
    }
  });

  // Each endpoint writes its own rows, so they can run side by side: the test's and the server's
  // work on the one Node thread then overlaps with Postgres'.
  describe.concurrent(`${RUNS} generated bodies per write endpoint`, () => {
    for (const endpoint of endpoints) {
      it(`${endpoint.method} ${endpoint.route} (${roleLabel(endpoint.minRole)}): ${RUNS} generated bodies, never a 5xx, the schema decides 400 or the route's answer`, async () => {
        const tally: Record<string, number> = {};
        tallies.set(`${endpoint.method} ${endpoint.route}`, tally);
        const probe = async (wire: WireBody) => {
          const expected = verdict(endpoint, wire, f);
          const response = await fetch(`${cp.url}${endpoint.path(f)}`, {
            method: endpoint.method,
            headers: { cookie, "content-type": "application/json" },
            body: wire.body,
          });
          const text = await response.text();
          const { status } = response;
          const said = `${endpoint.method} ${endpoint.route} <- ${wire.kind}: expected ${expected.status} (${expected.why}), got ${status} ${text.slice(0, 300)}`;
          tally[status] = (tally[status] ?? 0) + 1;
          if (status >= 500) throw new Error(said);
          if (status === 400) {
            const body = validationError.safeParse(JSON.parse(text));
            if (!body.success) throw new Error(`${said}\nnot a VALIDATION_FAILED body`);
            if (expected.issues && !(Array.isArray(body.data.error.details) && body.data.error.details.length > 0)) throw new Error(`${said}\nno zod details`);
          }
          if (status === 413) expect(errorBodySchema.parse(JSON.parse(text)).error.code).toBe("PAYLOAD_TOO_LARGE");
          if (status !== expected.status && !(expected.may400 && status === 400)) throw new Error(said);
          if (status >= 200 && status < 300) await endpoint.after?.(text ? JSON.parse(text) : undefined, f, request);
        };
        await fc.assert(fc.asyncProperty(fuzzBodies(endpoint.valid(f)), probe), { numRuns: RUNS });
        // The valid bodies reached the route's success path, not just its refusals.
        const succeeded = Object.entries(tally).filter(([code]) => code.startsWith("2")).reduce((sum, [, n]) => sum + n, 0);
        expect(succeeded, JSON.stringify(tally)).toBeGreaterThanOrEqual(RUNS / 20);
      }, 300_000);
    }
  });

  it("changed none of the rows made before the fuzzing", async () => {
    expect(await snapshot()).toEqual(baseline);
    // The dedicated rows were changed, as they may be, but are all still there.
    const still = async (path: string) => expect((await request("GET", path)).status, path).toBe(200);
    await still(`/api/orgs/${f.spareOrg.id}`);
    await still(orgPath(f, `/agents/${f.agentToPatch}`));
    await still(orgPath(f, `/workflows/${f.workflowToPatch}`));
    await still(orgPath(f, `/templates/${f.templateToPatch}`));
    await still(orgPath(f, `/teams/${f.teamToPatch}`));
    await still(orgPath(f, `/teams/${f.teamToReRole}`));
    await still(orgPath(f, `/integrations/${f.integrationToPatch}`));
    const members = z.object({ members: z.array(z.object({ userId: z.string() })) }).parse((await request("GET", orgPath(f, "/members"))).body).members;
    expect(members.map((m) => m.userId).sort()).toEqual([f.ownerId, f.memberUserId].sort());
    // Don't leave a fuzzed template published to every org.
    expect((await request("PATCH", orgPath(f, `/templates/${f.templateToPatch}`), { isPublic: false })).status).toBe(200);
  });
});
