import { defineEntity, type InferEntity } from "@mikro-orm/core";
import type { ExperimentProgressView, ExperimentResult, ExperimentSpec, WireError } from "../runtime/protocol/index.js";
import { executionStatuses } from "./enums.js";
import { Organization } from "./organization.entity.js";
import { timestamps, uuidPrimaryKey } from "./timestamps.js";
import { User } from "./user.entity.js";

/**
 * One experiment started through the API: the spec as validated (defaults filled in), where its
 * run stands (`progress`, written every few hundred ms while RUNNING) and, once COMPLETED, the
 * per-cell results. `error` says why it FAILED or who CANCELLED it.
 */
export const Experiment = defineEntity({
  name: "Experiment",
  tableName: "neuroflow_experiments",
  indexes: [{ properties: ["organization", "createdAt"] }],
  properties: (p) => ({
    id: uuidPrimaryKey(),
    organization: () => p.manyToOne(Organization).deleteRule("cascade"),
    createdBy: () => p.manyToOne(User).nullable().deleteRule("set null"),
    name: p.string().length(200),
    spec: p.json<ExperimentSpec>(),
    status: p.enum([...executionStatuses]).default("PENDING"),
    progress: p.json<ExperimentProgressView>(),
    results: p.json<ExperimentResult>().nullable(),
    error: p.json<WireError>().nullable(),
    startedAt: p.datetime().columnType("timestamptz").nullable(),
    completedAt: p.datetime().columnType("timestamptz").nullable(),
    ...timestamps(),
  }),
});
export type IExperiment = InferEntity<typeof Experiment>;
