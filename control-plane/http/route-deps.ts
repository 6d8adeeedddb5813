import type { OutcomeStore } from "../../common/outcome-store.js";
import type { SnapshotStore } from "../../common/snapshot-store.js";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { CredentialsCipher } from "../auth/credentials-cipher.js";
import type { TenancySecrets } from "../../common/nats-tenancy.js";
import type { OrgGate } from "../auth/org-gate.js";
import type { SessionTokens } from "../auth/session.js";
import type { Database } from "../persistence/database.js";
import type { TeamRunner } from "../dispatch/team-runner.js";
import type { ControlPlaneMetrics } from "./metrics.js";

/** What HTTP routes need. Every database access goes through `db.asUser` / `db.asSystem`. */
export interface RouteDeps {
  db: Database;
  nc: NatsConnection;
  tokens: SessionTokens;
  /** Authentication + org membership + role + the unit of work, for every org-scoped route. */
  gate: OrgGate;
  logger: Logger;
  taskAckTimeoutMs: number;
  /** Outcomes of durable executions (common/outcome-store.ts): cancels decided here are recorded there. */
  outcomes: OutcomeStore;
  /** Agent actor snapshots (their memory): removed with the agent or the org they belong to. */
  snapshots: Pick<SnapshotStore, "forget" | "forgetOrg">;
  metrics: ControlPlaneMetrics;
  /** Where org clients connect, and the secrets to mint their credentials (absent: the bus has no auth). */
  bus: { servers: string; tenancy: TenancySecrets | undefined; orgCredsTtlSeconds: number };
  /** Seals integration credentials at rest (key derived from AUTH_SECRET). */
  cipher: CredentialsCipher;
  /** Starts and cancels team executions on the runtime pool. */
  teamRuns: TeamRunner;
}
