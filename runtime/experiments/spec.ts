import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { NeuroflowError, experimentSpecSchema, type ExperimentSpec } from "../protocol/index.js";

/** zod's issues as one line each, `path: message`, e.g. `grid.teamSizes[1]: team size 5 is listed twice`. */
export function describeSpecIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("").replace(/^\./, "");
    return path === "" ? issue.message : `${path}: ${issue.message}`;
  });
}

/**
 * An experiment spec from YAML text (the format of `experiments/*.yaml`), defaults filled in.
 * `source` names the file in messages. Throws NeuroflowError VALIDATION_FAILED when the text is not
 * YAML (the parser's error as `cause`) or does not match experimentSpecSchema (the zod issues in
 * `details`, and one line per issue in the message).
 */
export function parseExperimentSpec(text: string, source = "experiment spec"): ExperimentSpec {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new NeuroflowError("VALIDATION_FAILED", `${source}: not valid YAML: ${reason}`, { cause: error });
  }
  const parsed = experimentSpecSchema.safeParse(value);
  if (!parsed.success) {
    const lines = describeSpecIssues(parsed.error.issues);
    throw new NeuroflowError("VALIDATION_FAILED", `${source}: invalid experiment spec:\n  ${lines.join("\n  ")}`, {
      details: parsed.error.issues,
    });
  }
  return parsed.data;
}

/**
 * Reads and parses an experiment file. Throws NOT_FOUND when there is no such file, and whatever
 * {@link parseExperimentSpec} throws for its content; other read errors reach the caller unchanged.
 */
export async function readExperimentSpec(path: string): Promise<ExperimentSpec> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ENOENT") {
      throw new NeuroflowError("NOT_FOUND", `experiment file ${path} does not exist`, { cause: error });
    }
    throw error;
  }
  return parseExperimentSpec(text, path);
}
