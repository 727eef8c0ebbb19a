import { sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';

/** ltree labels allow only [A-Za-z0-9_]: a location's uuid becomes its label by dropping the dashes. */
export const pathLabel = (locationId: string) => locationId.replaceAll('-', '');

/** Ids of a location and everything below it, as a subquery, so subtree filters run inside PostgreSQL. */
export const subtreeIds = (locationId: string) =>
  sql`(SELECT l.id FROM locations l WHERE l.path <@ (SELECT s.path FROM locations s WHERE s.id = ${locationId}))`;

export const inSubtree = (column: AnyPgColumn, locationId: string): SQL => sql`${column} IN ${subtreeIds(locationId)}`;
