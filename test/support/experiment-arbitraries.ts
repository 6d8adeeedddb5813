import fc from "fast-check";
import { stringify } from "yaml";
import { name } from "./body-arbitraries.js";

/**
 * Valid `POST /experiments` bodies for the fuzz, as a JSON `spec` or as `yaml` text: tiny specs
 * (one trial per cell, one team size of at most three, few structures) so the runs they start stay
 * cheap — every member call of a run is a status event the control plane stores, one at a time, and
 * a backlog of them is what its shutdown waits for. Valid for the schema, not always runnable: a
 * member weight of 0 is a spec the API refuses (400).
 */

/** Rules that stay distinct once their defaults are filled in (the spec refuses duplicates). */
const rule = fc.constantFrom(
  { kind: "majority" },
  { kind: "majority", tieBreak: "random" },
  { kind: "plurality", quorum: 0.5 },
  { kind: "ranked-choice", tieBreak: "random" },
  { kind: "weighted", weightSource: "explicit", tieBreak: "highest-weight" },
  { kind: "weighted", weightSource: "priority" },
  { kind: "borda" },
);
const accuracy = fc.double({ min: 0, max: 1, noNaN: true, noDefaultInfinity: true });

export const experimentSpec = fc.record(
  {
    name,
    description: fc.string({ maxLength: 100 }),
    seed: fc.integer({ min: 0, max: 2 ** 40 }),
    trials: fc.constant(1),
    tasks: fc.oneof(
      fc.record({ kind: fc.constant("binary-questions"), count: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant("choice-questions"), count: fc.integer({ min: 1, max: 3 }), options: fc.integer({ min: 2, max: 5 }) }),
      fc.array(
        fc.constantFrom(
          { prompt: "Is 7 prime?", answerKey: { options: ["yes", "no"], correct: "yes" } },
          { prompt: "Which is largest: 2, 3 or 5?", answerKey: { options: ["2", "3", "5"], correct: "5" } },
        ),
        { minLength: 1, maxLength: 3 },
      ),
    ),
    grid: fc.record({
      structures: fc.uniqueArray(fc.constantFrom("HIERARCHICAL", "COLLABORATIVE", "PIPELINE", "DEMOCRATIC"), { minLength: 1, maxLength: 2 }),
      rules: fc.uniqueArray(rule, { minLength: 1, maxLength: 2, selector: (r) => JSON.stringify(r) }),
      teamSizes: fc.integer({ min: 1, max: 3 }).map((size) => [size]),
      debateRounds: fc.constantFrom([0], [0], [0], [1], [0, 1]),
    }),
    members: fc.record(
      {
        accuracy,
        latencyMs: fc.constant(0),
        profiles: fc.array(
          fc.record({ accuracy, weight: fc.double({ min: 0, max: 10, noNaN: true, noDefaultInfinity: true }), priority: fc.integer({ min: -3, max: 3 }) }, { requiredKeys: [] }),
          { maxLength: 4 },
        ),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ["name", "seed", "trials", "tasks", "grid"] },
);

/** `{ spec }` or `{ yaml }`, the same kinds of specs either way. */
export const experimentBody = fc.oneof(
  experimentSpec.map((spec) => ({ spec })),
  experimentSpec.map((spec) => ({ yaml: stringify(spec) })),
);
