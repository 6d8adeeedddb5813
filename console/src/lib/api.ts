import { z } from "zod";
import {
  agentViewSchema,
  errorBodySchema,
  executionViewSchema,
  experimentSummarySchema,
  experimentViewSchema,
  sessionViewSchema,
  type AgentView,
  type ExecutionView,
  type ExperimentSummary,
  type ExperimentView,
  type SessionView,
} from "../../../runtime/protocol/index.js";

/**
 * Fetch wrappers for the control plane's HTTP API. Same origin, cookie auth; every response body
 * is parsed with the protocol's zod schemas before anyone sees it.
 */

/**
 * A failed API call. `code` is the server's error code when it sent an error body, otherwise
 * `NETWORK` (no response), `INVALID_RESPONSE` (a body that breaks the contract) or `HTTP_<status>`.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** A message fit to show next to the control that caused `error`. Never fails. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return "Something went wrong. Try again.";
}

const agentListSchema = z.object({ agents: z.array(agentViewSchema) });
const executionListSchema = z.object({ executions: z.array(executionViewSchema) });
const createdTaskSchema = z.object({ execution: executionViewSchema });

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

/** Sends a request; resolves with the response only when its status is 2xx. */
async function send(method: "GET" | "POST", path: string, body?: unknown): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: "same-origin",
      // No content-type without a body: the server rejects an empty JSON body.
      headers: body === undefined ? { accept: "application/json" } : { accept: "application/json", "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (cause) {
    throw new ApiError(0, "NETWORK", "Cannot reach the server.", cause);
  }
  if (response.ok) return response;
  const parsed = errorBodySchema.safeParse(await readJson(response));
  if (parsed.success) {
    const { code, message, details } = parsed.data.error;
    throw new ApiError(response.status, code, message, details);
  }
  throw new ApiError(response.status, `HTTP_${response.status}`, `The server answered ${response.status}.`);
}

async function parseBody<S extends z.ZodType>(response: Response, schema: S): Promise<z.output<S>> {
  const parsed = schema.safeParse(await readJson(response));
  if (!parsed.success) {
    throw new ApiError(response.status, "INVALID_RESPONSE", "The server sent an unexpected response.", parsed.error.issues);
  }
  return parsed.data;
}

/**
 * The signed-in user and their memberships, or null when not signed in (401).
 * Throws ApiError for any other failure.
 */
export async function getSession(): Promise<SessionView | null> {
  try {
    return await parseBody(await send("GET", "/api/session"), sessionViewSchema);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

/** Signs in; the server sets the session cookie. Throws ApiError (401 for wrong credentials). */
export async function login(email: string, password: string): Promise<SessionView> {
  return parseBody(await send("POST", "/api/auth/login", { email, password }), sessionViewSchema);
}

/** Ends the session and clears the cookie. Throws ApiError on failure. */
export async function logout(): Promise<void> {
  await send("POST", "/api/auth/logout");
}

/** The organization's agents. Throws ApiError (403 when not a member). */
export async function listAgents(orgId: string): Promise<AgentView[]> {
  const body = await parseBody(await send("GET", `/api/orgs/${encodeURIComponent(orgId)}/agents`), agentListSchema);
  return body.agents;
}

/**
 * Submits a task; resolves with the PENDING execution. Throws ApiError — 400 with the server's
 * validation message (e.g. an empty prompt), 503 UNAVAILABLE when no runtime worker answers.
 */
export async function createTask(orgId: string, agentId: string, prompt: string): Promise<ExecutionView> {
  const path = `/api/orgs/${encodeURIComponent(orgId)}/agents/${encodeURIComponent(agentId)}/tasks`;
  const body = await parseBody(await send("POST", path, { prompt }), createdTaskSchema);
  return body.execution;
}

/** The agent's most recent executions, newest first. Throws ApiError on failure. */
export async function listExecutions(orgId: string, agentId: string, limit = 20): Promise<ExecutionView[]> {
  const path = `/api/orgs/${encodeURIComponent(orgId)}/agents/${encodeURIComponent(agentId)}/executions?limit=${limit}`;
  const body = await parseBody(await send("GET", path), executionListSchema);
  return body.executions;
}

const experimentListSchema = z.object({ experiments: z.array(experimentSummarySchema) });
const experimentBodySchema = z.object({ experiment: experimentViewSchema });
const experimentsPath = (orgId: string) => `/api/orgs/${encodeURIComponent(orgId)}/experiments`;

/** The organization's most recent experiments, newest first. Throws ApiError on failure. */
export async function listExperiments(orgId: string, limit = 50): Promise<ExperimentSummary[]> {
  const body = await parseBody(await send("GET", `${experimentsPath(orgId)}?limit=${limit}`), experimentListSchema);
  return body.experiments;
}

/** One experiment with its spec and (once COMPLETED) its results. Throws ApiError (404 when unknown). */
export async function getExperiment(orgId: string, experimentId: string): Promise<ExperimentView> {
  const body = await parseBody(await send("GET", `${experimentsPath(orgId)}/${encodeURIComponent(experimentId)}`), experimentBodySchema);
  return body.experiment;
}

/**
 * Starts an experiment from its YAML text; resolves with the PENDING experiment. Throws ApiError —
 * 400 with the server's validation message (one line per problem) and the zod issues as `details`,
 * 409 when the organization has too many experiments running.
 */
export async function startExperiment(orgId: string, yaml: string): Promise<ExperimentView> {
  return (await parseBody(await send("POST", experimentsPath(orgId), { yaml }), experimentBodySchema)).experiment;
}

/** Cancels a PENDING or RUNNING experiment. Throws ApiError (409 once it has ended). */
export async function cancelExperiment(orgId: string, experimentId: string): Promise<ExperimentView> {
  const path = `${experimentsPath(orgId)}/${encodeURIComponent(experimentId)}/cancel`;
  return (await parseBody(await send("POST", path), experimentBodySchema)).experiment;
}

/** Where the experiment's results download as CSV. */
export function experimentCsvUrl(orgId: string, experimentId: string): string {
  return `${experimentsPath(orgId)}/${encodeURIComponent(experimentId)}/results.csv`;
}
