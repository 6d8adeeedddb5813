import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { z } from "zod";
import { openRuntimeStores } from "../../common/runtime-streams.js";
import { agentStatusChangedSchema, decodeJson, SHARD_COUNT, shardOf, teamExecutionViewSchema, teamLogEntrySchema, teamViewSchema, type AgentStatusChanged, type TeamExecutionView, type TeamLogEntry } from "../../runtime/protocol/index.js";
import { api, eventually } from "./harness.js";

/** Helpers for the team-run integration tests: teams through the API, runs to their end, where members ran. */

export const executionOf = (body: unknown): TeamExecutionView => z.object({ execution: teamExecutionViewSchema }).parse(body).execution;

/** A stored log entry: `{ seq, at, event }`, as published (or as the run's reply repeats it). */
export const storedLogSchema = z.array(teamLogEntrySchema.extend({ at: z.iso.datetime() }));

export const storedLog = (execution: TeamExecutionView): TeamLogEntry[] => storedLogSchema.parse(execution.log);

export const member = (agentId: string, role = "WORKER", priority = 0) => ({ agentId, role, priority });

export interface TeamApi {
  baseUrl: string;
  orgId: string;
  cookie: string;
}

/** Creates a team through the API and returns its id. */
export async function createTeam(client: TeamApi, body: Record<string, unknown>): Promise<string> {
  const response = await api(client.baseUrl, `/api/orgs/${client.orgId}/teams`, { cookie: client.cookie, body: { name: `Team ${String(body.structure)}`, ...body } });
  if (response.status !== 201) throw new Error(`team not created: ${response.status} ${JSON.stringify(response.body)}`);
  return z.object({ team: teamViewSchema }).parse(response.body).team.id;
}

/** Starts a run (POST …/executions); returns the response as is. */
export function runTeam(client: TeamApi, teamId: string, body: unknown) {
  return api(client.baseUrl, `/api/orgs/${client.orgId}/teams/${teamId}/executions`, { cookie: client.cookie, body });
}

/**
 * Waits until the execution has ended and the run's reply has landed too (its `results` are set;
 * a run with no results at all is taken as ended once its status is terminal).
 */
export async function endedExecution(client: TeamApi, executionId: string, options: { expectResults?: boolean } = {}): Promise<TeamExecutionView> {
  return eventually(
    async () => {
      const response = await api(client.baseUrl, `/api/orgs/${client.orgId}/team-executions/${executionId}`, { cookie: client.cookie });
      const execution = executionOf(response.body);
      if (execution.status === "PENDING" || execution.status === "RUNNING") return undefined;
      if (options.expectResults && execution.results.length === 0) return undefined;
      return execution;
    },
    30_000,
    `team execution ${executionId} to end`,
  );
}

/** Every `agent.status.changed` of one org on the bus, as it arrives. */
export function watchAgentStatus(nc: NatsConnection, orgId: string): { events: AgentStatusChanged[]; subscription: Subscription } {
  const events: AgentStatusChanged[] = [];
  const subscription = nc.subscribe(`nf.${orgId}.agent.*.status`, {
    callback: (_error, msg) => {
      events.push(decodeJson(agentStatusChangedSchema, msg.data, "status event"));
    },
  });
  return { events, subscription };
}

/** The workers that ended a task of one of `agentIds`, from status events. */
export function workersOf(events: readonly AgentStatusChanged[], agentIds: readonly string[]): Set<string> {
  const wanted = new Set(agentIds);
  return new Set(events.filter((event) => wanted.has(event.agentId) && event.execution && event.execution.status !== "RUNNING").map((event) => event.workerId));
}

/**
 * Waits until the workers share the shards evenly (each holds SHARD_COUNT / workers) and returns
 * which worker hosts an agent, from the shard leases.
 */
export async function balancedPlacement(nc: NatsConnection, workerIds: readonly string[]): Promise<(agentId: string) => string> {
  const { leases } = await openRuntimeStores(nc);
  const owners = await eventually(
    async () => {
      const byShard = new Map<number, string>();
      for (let shard = 0; shard < SHARD_COUNT; shard++) {
        const entry = await leases.get(`shard.${shard}`);
        const lease = entry && entry.operation === "PUT" ? z.object({ workerId: z.string() }).safeParse(entry.json()) : undefined;
        if (lease?.success) byShard.set(shard, lease.data.workerId);
      }
      const even = workerIds.every((id) => [...byShard.values()].filter((owner) => owner === id).length === SHARD_COUNT / workerIds.length);
      return byShard.size === SHARD_COUNT && even ? byShard : undefined;
    },
    30_000,
    "the workers to share the shards evenly",
  );
  return (agentId) => owners.get(shardOf(agentId)) ?? "";
}
