import { z } from "zod";
import { executionStatuses, type ExecutionStatus } from "../../entities/index.js";
import { pageQueryShape } from "./pagination.js";

/** `?limit=&cursor=&status=&from=&to=` of every execution list (agent, workflow, team). */
export const executionQueryShape = {
  ...pageQueryShape,
  status: z.enum(executionStatuses).optional(),
  /** Created at or after (ISO 8601). */
  from: z.iso.datetime({ offset: true }).optional(),
  /** Created before (ISO 8601). */
  to: z.iso.datetime({ offset: true }).optional(),
};

/**
 * The ORM filter of an execution list: the org, the status, the created-at range, and the parent
 * (`{ agent: id }`, `{ workflow: id }`, `{ team: id }`) when the caller narrowed to one.
 */
export function executionFilters(
  orgId: string,
  query: { status?: ExecutionStatus | undefined; from?: string | undefined; to?: string | undefined },
  parent: Record<string, string | undefined> = {},
) {
  const createdAt = {
    ...(query.from ? { $gte: new Date(query.from) } : {}),
    ...(query.to ? { $lt: new Date(query.to) } : {}),
  };
  return {
    organization: orgId,
    ...(query.status ? { status: query.status } : {}),
    ...Object.fromEntries(Object.entries(parent).filter(([, id]) => id !== undefined)),
    ...(Object.keys(createdAt).length > 0 ? { createdAt } : {}),
  };
}
