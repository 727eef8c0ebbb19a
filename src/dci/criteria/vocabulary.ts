import { sql } from 'drizzle-orm';
import type { DciConfig, DciCustomAttribute } from '../../config.js';
import type { Db } from '../../db/client.js';
import { queryRows } from '../../db/query-rows.js';
import { attributeTypes } from '../../programmes/attributes.js';
import type { Criterion } from './model.js';

/** Location codes a query names, each with the ids of the location and everything below it. */
export type Subtrees = ReadonlyMap<string, readonly string[]>;

/**
 * Every value the criterion compares with, as text (a location code may come as a number, as compile.ts reads it):
 * the location codes are among them, whichever attribute they go to.
 */
function textValues(c: Criterion, into: Set<string>): Set<string> {
  if ('and' in c) c.and.forEach((p) => textValues(p, into));
  else if ('or' in c) c.or.forEach((p) => textValues(p, into));
  else if ('not' in c) textValues(c.not, into);
  else for (const v of Array.isArray(c.value) ? c.value : [c.value]) if (typeof v === 'string' || typeof v === 'number') into.add(String(v));
  return into;
}

/**
 * The subtrees of the location codes a query names, read before it is compiled so that the search carries the ids
 * as values (src/db/location-tree.ts inLocations): the planner then knows how many records a village or a district
 * holds; behind a subquery it guesses, and at a million people walks the primary key for a page in id order.
 */
async function subtreesOf(db: Db, criterion: Criterion): Promise<Subtrees> {
  const codes = [...textValues(criterion, new Set())];
  if (codes.length === 0) return new Map();
  // One array parameter (an $in may hold a thousand values): each element quoted as an array literal wants.
  const array = `{${codes.map((c) => `"${c.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
  const rows = await queryRows<{ code: string; ids: string[] }>(
    db,
    sql`SELECT a.code, array_agg(d.id) AS ids FROM locations a JOIN locations d ON d.path <@ a.path
      WHERE a.code = ANY(${array}::text[]) AND a.deleted_at IS NULL GROUP BY a.code`,
  );
  return new Map(rows.map((r) => [r.code, r.ids]));
}

/**
 * The configuration with the registry's custom attribute definitions (`POST /api/v1/attribute-definitions`) added to its query
 * attributes; a configured name (`DCI_ATTRIBUTES`) wins over a defined one. Read at each use — the table is small —
 * so an attribute defined through any hub instance is queryable at once. With the query's criterion, also the
 * subtrees of the location codes it names.
 */
export async function withRegistryAttributes(db: Db, config: DciConfig, criterion?: Criterion): Promise<DciConfig & { subtrees?: Subtrees }> {
  const defined = await attributeTypes(db);
  const attributes: Record<string, DciCustomAttribute> = {};
  for (const of of ['individual', 'group'] as const) {
    for (const [name, type] of Object.entries(defined[of])) {
      // Defined for people and households alike: a person's own value, else their household's, as configured ones.
      attributes[name] = attributes[name] ? { key: name, type: attributes[name].type } : { key: name, type, of };
    }
  }
  const subtrees = criterion ? { subtrees: await subtreesOf(db, criterion) } : {};
  return { ...config, attributes: { ...attributes, ...config.attributes }, ...subtrees };
}
