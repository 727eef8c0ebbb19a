import { sql, type SQL } from 'drizzle-orm';
import { groups, individuals } from '../../db/schema/index.js';
import { ItemRejection } from '../codes.js';
import { IDENTIFIER_TYPE } from './attributes.js';
import type { Entity } from './model.js';

/** Identifier types naming a household rather than a person. */
const HOUSEHOLD_TYPES = new Set(['HOUSEHOLD_ID', 'GROUP_ID']);

const bad = (why: string) => new ItemRejection('rjct.search_criteria.invalid', why);

/**
 * People holding the identifier; MOBILE also matches the registered phone number. One union of the two index
 * lookups (identifiers by value, individuals by phone): under an OR the planner would test every person instead.
 */
function peopleWith(type: string, value: string): SQL {
  const holders = sql`SELECT i.individual_id FROM identifiers i WHERE i.type = ${type} AND i.value = ${value}`;
  const ids = type === 'MOBILE' ? sql`${holders} UNION ALL SELECT p.id FROM individuals p WHERE p.phone = ${value}` : holders;
  return sql`${individuals.id} IN (${ids})`;
}

/**
 * The `idtype-value` query `{type: "UIN", value: "…"}`. Person identifiers (UIN, NIN, MOBILE and every other type the
 * registry holds) find people, or for Group results the households they currently belong to; HOUSEHOLD_ID is the
 * household code, finding the household or, for Member results, its current members.
 */
export function compileIdTypeValue(entity: Entity, query: unknown): SQL {
  const q = query as { type?: unknown; value?: unknown } | null;
  if (typeof q !== 'object' || q === null || typeof q.type !== 'string') throw bad('an idtype-value query is {type, value}');
  if (typeof q.value !== 'string' && typeof q.value !== 'number') throw bad('the identifier value must be a string or number');
  const type = q.type.toUpperCase();
  const value = String(q.value);
  if (!IDENTIFIER_TYPE.test(type)) throw bad(`${q.type} is not an identifier type`);
  if (HOUSEHOLD_TYPES.has(type)) {
    if (entity === 'Group') return sql`${groups.code} = ${value}`;
    return sql`${individuals.id} IN (SELECT gm.individual_id FROM group_members gm JOIN groups g ON g.id = gm.group_id
      WHERE g.code = ${value} AND gm.end_date IS NULL AND g.deleted_at IS NULL)`;
  }
  if (entity === 'Member') return peopleWith(type, value);
  return sql`${groups.id} IN (SELECT gm.group_id FROM group_members gm JOIN individuals ON individuals.id = gm.individual_id
    WHERE gm.end_date IS NULL AND individuals.deleted_at IS NULL AND ${peopleWith(type, value)})`;
}
