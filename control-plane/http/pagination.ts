import type { EntityManager } from "@mikro-orm/postgresql";
import type { EntityName, FilterQuery } from "@mikro-orm/core";
import { z } from "zod";
import { NeuroflowError } from "../../runtime/protocol/index.js";

/** `?limit=&cursor=` of every list endpoint. */
export const pageQueryShape = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
};

const cursorSchema = z.object({ t: z.iso.datetime(), id: z.uuid() });

/** An opaque cursor: the (created_at, id) of the last row returned. */
export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify({ t: row.createdAt.toISOString(), id: row.id })).toString("base64url");
}

/** Throws VALIDATION_FAILED for a cursor this API did not make. */
export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const parsed = cursorSchema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    return { createdAt: new Date(parsed.t), id: parsed.id };
  } catch (cause) {
    throw new NeuroflowError("VALIDATION_FAILED", "invalid cursor", { cause });
  }
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Keyset pagination over (created_at, id): stable under inserts, no OFFSET scans. Rows come
 * newest first (`desc`, the default) or oldest first.
 */
export async function page<T extends { createdAt: Date; id: string }>(
  em: EntityManager,
  entity: EntityName<T>,
  where: FilterQuery<T>,
  options: { limit: number; cursor?: string | undefined; direction?: "asc" | "desc" },
): Promise<Page<T>> {
  const direction = options.direction ?? "desc";
  const op = direction === "desc" ? "$lt" : "$gt";
  const after = options.cursor ? decodeCursor(options.cursor) : undefined;
  const keyset = after
    ? { $or: [{ createdAt: { [op]: after.createdAt } }, { createdAt: after.createdAt, id: { [op]: after.id } }] }
    : {};
  // The ORM can't type a filter over a generic entity's fields; the shape is checked by the tests.
  const rows = await em.find(entity, { $and: [where, keyset] } as FilterQuery<T>, {
    orderBy: { createdAt: direction, id: direction } as never,
    limit: options.limit + 1,
  });
  const items = rows.slice(0, options.limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > options.limit && last ? encodeCursor(last) : null };
}
