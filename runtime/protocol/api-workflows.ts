import { z } from "zod";

/** HTTP bodies of workflows, workflow executions and templates. */
export const workflowApiPlaceholder = z.never();
