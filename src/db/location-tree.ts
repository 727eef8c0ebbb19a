import { sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Db } from './client.js';
import { queryRows } from './query-rows.js';

/** ltree labels allow only [A-Za-z0-9_]: a location's uuid becomes its label by dropping the dashes. */
export const pathLabel = (locationId: string) => locationId.replaceAll('-', '');

/** Ids of a location and everything below it, as a subquery, so subtree filters run inside PostgreSQL. */
export const subtreeIds = (locationId: string) =>
  sql`(SELECT l.id FROM locations l WHERE l.path <@ (SELECT s.path FROM locations s WHERE s.id = ${locationId}))`;

export const inSubtree = (column: AnyPgColumn, locationId: string): SQL => sql`${column} IN ${subtreeIds(locationId)}`;

/** The ids of a location and everything below it, read first so that the search query carries them as values. */
export async function subtreeOf(db: Db, locationId: string): Promise<string[]> {
  const rows = await queryRows<{ id: string }>(db, sql`SELECT l.id FROM locations l WHERE l.path <@ (SELECT s.path FROM locations s WHERE s.id = ${locationId})`);
  return rows.map((r) => r.id);
}

/**
 * `column` is one of `ids` (a resolved subtree). The planner sees the values themselves and estimates from the
 * column statistics how many rows a colline or a province holds; behind an ltree subquery it can only guess, and
 * at a million rows a wrong guess sends it walking the primary key for `ORDER BY id LIMIT n`.
 */
export function inLocations(column: AnyPgColumn | SQL, ids: readonly string[]): SQL {
  if (ids.length === 0) return sql`false`;
  if (ids.length === 1) return sql`${column} = ${ids[0]}`;
  return sql`${column} = ANY(${`{${ids.join(',')}}`}::uuid[])`;
}
