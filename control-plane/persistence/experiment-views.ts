import type { IExperiment } from "../../entities/index.js";
import type { ExperimentSummary, ExperimentView } from "../../runtime/protocol/index.js";

/** Entity → API views of experiments, field by field so nothing internal leaks by accident. */

export function experimentSummary(experiment: IExperiment): ExperimentSummary {
  return {
    id: experiment.id,
    orgId: experiment.organization.id,
    name: experiment.name,
    status: experiment.status,
    progress: experiment.progress,
    error: experiment.error ? { code: experiment.error.code, message: experiment.error.message } : null,
    createdBy: experiment.createdBy?.id ?? null,
    createdAt: experiment.createdAt.toISOString(),
    updatedAt: experiment.updatedAt.toISOString(),
    startedAt: experiment.startedAt?.toISOString() ?? null,
    completedAt: experiment.completedAt?.toISOString() ?? null,
  };
}

export function experimentView(experiment: IExperiment): ExperimentView {
  return { ...experimentSummary(experiment), spec: experiment.spec, results: experiment.results ?? null };
}
