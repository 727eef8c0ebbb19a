import { sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { HubError } from '../errors.js';

/**
 * Search conditions shared by the individual and group lists. Everything the caller gives travels as a bound
 * parameter; attribute names are checked against the same pattern as stored attribute names.
 */

/** `key:op:value`, e.g. `rooms:gte:3`, `roof_material:eq:thatch`, `disability:eq:true`. */
export const ATTRIBUTE_FILTER_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,63}:(eq|ne|gt|gte|lt|lte):.{1,200}$';
const FILTER = new RegExp(ATTRIBUTE_FILTER_PATTERN);
const JSONPATH_OPERATOR = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/** A value as typed in a query string: a JSON number or true/false is that, anything else a string. */
function attributeValue(text: string): string | number | boolean {
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

/**
 * Equality uses containment (`@>`), which the GIN jsonb_path_ops index on attributes serves; order comparisons
 * use a jsonpath predicate (`@@`), evaluated on the rows the other conditions leave. A number compares only with
 * numbers, a string with strings (ISO dates compare as dates).
 */
export function attributeConditions(column: AnyPgColumn, filters: string[] | undefined): SQL[] {
  return (filters ?? []).map((filter) => {
    if (!FILTER.test(filter)) {
      throw new HubError('invalid', `attr filter "${filter}" is not key:op:value`, [
        { parameter: 'attr', detail: 'expected key:op:value with op one of eq, ne, gt, gte, lt, lte' },
      ]);
    }
    const [key, op, ...rest] = filter.split(':') as [string, keyof typeof JSONPATH_OPERATOR | 'eq' | 'ne', ...string[]];
    const value = attributeValue(rest.join(':'));
    if (op === 'eq') return sql`${column} @> ${JSON.stringify({ [key]: value })}::jsonb`;
    if (op === 'ne') return sql`NOT (${column} @> ${JSON.stringify({ [key]: value })}::jsonb)`;
    return sql`${column} @@ ${`$."${key}" ${JSONPATH_OPERATOR[op]} ${JSON.stringify(value)}`}::jsonpath`;
  });
}

/** Exact match ignoring case and accents (served by the hub_normalise expression indexes). */
export const sameName = (column: AnyPgColumn, name: string): SQL => sql`hub_normalise(${column}) = hub_normalise(${name})`;

/**
 * The names a fuzzy full-name search matches, most similar first: stored folded names (search_names) that the
 * query is similar to some part of (pg_trgm word similarity, default threshold 0.6), accent- and case-insensitive;
 * rows (name, sim), served by the trigram index on search_names.
 */
export const similarNames = (query: string): SQL =>
  sql`SELECT name, word_similarity(hub_normalise(${query}), name) AS sim FROM search_names WHERE name %> hub_normalise(${query})`;

/**
 * A fuzzy name search answers at most this many people: the most similar ones (ties by id), paged in id order.
 * Common names match thousands of records at registry scale; a bound keeps every page of such a search as cheap
 * as the first, and a longer query narrows it.
 */
export const FUZZY_CANDIDATES = 1000;

/**
 * `count=true` counts matches up to this many; beyond it the total says "at least COUNT_CAP" (`total_capped`).
 * An exact count of half a registry costs a scan of half a registry on every page; a cap costs what a page does.
 */
export const COUNT_CAP = 10_000;

/** Age in whole years on `today` → the range of birth dates that have it (for the birth-date index). */
export function birthDatesForAge(ageMin: number | undefined, ageMax: number | undefined, today = new Date()) {
  const shift = (years: number, days = 0) => {
    const d = new Date(Date.UTC(today.getUTCFullYear() - years, today.getUTCMonth(), today.getUTCDate() + days));
    return d.toISOString().slice(0, 10);
  };
  return {
    // At least ageMin years old: born on or before today minus ageMin years.
    to: ageMin === undefined ? undefined : shift(ageMin),
    // At most ageMax years old: born after today minus (ageMax + 1) years.
    from: ageMax === undefined ? undefined : shift(ageMax + 1, 1),
  };
}
