/** The wire contract: imported by the runtime, the control plane and the console. Imports only zod. */
export * from "./ids.js";
export * from "./errors.js";
export * from "./subjects.js";
export * from "./shards.js";
export * from "./messages.js";
export * from "./status.js";
export * from "./api.js";
export * from "./ws.js";
export * from "./codec.js";
export * from "./api-workflows.js";
export * from "./api-teams.js";
export * from "./api-integrations.js";
export * from "./api-orgs.js";
export * from "./voting-rule.js";
export * from "./experiments.js";
export * from "./team-events.js";
export * from "./team-runs.js";
