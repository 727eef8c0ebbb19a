import { inArray, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { isUuid } from '../../db/keyset.js';
import { dateMatches } from './lookups/date.js';
import { r4Definition, type SearchParameter } from './parameter.js';

/** A condition no row meets: a search for an id or code that cannot exist here finds nothing (not an error). */
export const NOTHING = sql`false`;

/** `_id` and `_lastUpdated`, which every resource supports, over its id and updated_at columns. */
export function commonParameters(id: AnyPgColumn, updatedAt: AnyPgColumn): SearchParameter[] {
  return [
    {
      code: '_id',
      type: 'token',
      definition: r4Definition('Resource', '_id'),
      documentation: 'Logical id of the resource.',
      sort: 'id',
      toSql: (value): SQL => (isUuid(value) ? inArray(id, [value.toLowerCase()]) : NOTHING),
    },
    {
      code: '_lastUpdated',
      type: 'date',
      definition: r4Definition('Resource', '_lastUpdated'),
      documentation: 'When the resource last changed (eq, ne, lt, le, gt, ge, sa, eb prefixes).',
      sort: { expression: sql`${updatedAt}`, type: 'timestamptz', nullable: false },
      toSql: (value) => dateMatches(sql`${updatedAt}`, value, 'instant', '_lastUpdated'),
    },
  ];
}
