import { sql, type SQL } from 'drizzle-orm';
import { badRequest } from '../../outcome.js';

export const STRING_MODIFIERS = ['exact', 'contains'] as const;

const escapeLike = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * R4 string search: by default case- and accent-insensitive "starts with"; `:contains` anywhere in the value;
 * `:exact` the whole value, case and accents included.
 */
export function stringMatches(column: SQL, value: string, modifier: string | undefined): SQL {
  if (value === '') throw badRequest('a string search needs a value');
  if (modifier === 'exact') return sql`${column} = ${value}`;
  const pattern = modifier === 'contains' ? `%${escapeLike(value)}%` : `${escapeLike(value)}%`;
  return sql`lower(unaccent(${column})) LIKE lower(unaccent(${pattern}))`;
}
