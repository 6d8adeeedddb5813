import { expandGrid, seededUuid, teamRunRequestFor } from "../../runtime/experiments/index.js";
import { MAX_API_EXPERIMENT_TRIALS, NeuroflowError, type ExperimentSpec } from "../../runtime/protocol/index.js";

const probeTask = { prompt: "probe", answerKey: { options: ["a", "b"], correct: "a" } };

/**
 * How many trials the experiment runs through the API (cells × trials per cell), once it is known
 * to be runnable there: at most MAX_API_EXPERIMENT_TRIALS, and every cell expressible as a
 * `team.run` request. Throws VALIDATION_FAILED saying which rule it breaks.
 */
export function runnableTrials(spec: ExperimentSpec): number {
  const { cells } = expandGrid(spec);
  const total = cells.length * spec.trials;
  if (total > MAX_API_EXPERIMENT_TRIALS) {
    throw new NeuroflowError(
      "VALIDATION_FAILED",
      `this experiment has ${cells.length} cells × ${spec.trials} trials = ${total} trials; the API runs at most ${MAX_API_EXPERIMENT_TRIALS} (run bigger ones with npm run experiment)`,
    );
  }
  for (const cell of cells) {
    const ids = { teamId: seededUuid(0, "probe-team"), executionId: seededUuid(0, "probe-execution"), agentIds: cell.members.map((_, i) => seededUuid(0, "probe", i)) };
    teamRunRequestFor(seededUuid(0, "probe-org"), cell, probeTask, 0, ids);
  }
  return total;
}
