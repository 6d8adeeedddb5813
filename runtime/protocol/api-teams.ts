import { z } from "zod";

/** HTTP bodies of teams, members, team executions and integrations. */
export const teamApiPlaceholder = z.never();
