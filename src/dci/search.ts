import { and, asc, isNull, sql, type SQL } from 'drizzle-orm';
import type { DciConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { queryRows } from '../db/query-rows.js';
import { groups, individuals } from '../db/schema/index.js';
import type { Actor } from '../security/actor.js';
import { withinScope } from '../security/geo-scope.js';
import { ItemRejection } from './codes.js';
import { compileCriterion, compileSort } from './criteria/compile.js';
import { parseExpression } from './criteria/expression.js';
import { compileIdTypeValue } from './criteria/idtype-value.js';
import type { Entity } from './criteria/model.js';
import { parsePredicate } from './criteria/predicate.js';
import { groupRecords, personRecords } from './records.js';

/** search_criteria of one search_request item (already valid against the spec's schema). */
export interface SearchCriteria {
  version?: string;
  reg_type?: string;
  reg_record_type?: string;
  query_type: 'idtype-value' | 'expression' | 'predicate';
  response_entity?: Entity;
  query: unknown;
  sort?: { attribute_name?: string; sort_order?: 'asc' | 'desc' }[];
  pagination?: { page_size: number; page_number?: number };
  consent?: Record<string, unknown>;
  authorize?: Record<string, unknown>;
}

export interface SearchResult {
  entity: Entity;
  records: Record<string, unknown>[];
  pagination: { page_size: number; page_number: number; total_count: number };
}

const REG_RECORD_TYPE: Record<Entity, string> = { Group: 'Group', Member: 'SRPerson' };
export const regRecordType = (entity: Entity) => REG_RECORD_TYPE[entity];

/** response_entity first; else what the expression's collection or reg_record_type names; else people. */
function entityOf(criteria: SearchCriteria, collection: string | undefined): Entity {
  if (criteria.response_entity) return criteria.response_entity;
  const hint = collection ?? criteria.reg_record_type ?? '';
  return /group|household/i.test(hint) ? 'Group' : 'Member';
}

/** The records the criteria select, as a condition on the individuals or groups table. */
export function compileCriteria(criteria: SearchCriteria, config: DciConfig): { entity: Entity; where: SQL } {
  if (criteria.query_type === 'idtype-value') {
    const entity = entityOf(criteria, undefined);
    return { entity, where: compileIdTypeValue(entity, criteria.query) };
  }
  // The spec's own expression sample carries a predicate list, so the query's shape decides between the two.
  if (criteria.query_type === 'predicate' || Array.isArray(criteria.query)) {
    const entity = entityOf(criteria, undefined);
    return { entity, where: compileCriterion(entity, parsePredicate(criteria.query), config.attributes) };
  }
  const { criterion, collection } = parseExpression(criteria.query);
  const entity = entityOf(criteria, collection);
  return { entity, where: compileCriterion(entity, criterion, config.attributes) };
}

function pageOf(criteria: SearchCriteria, maxRecords: number): { size: number; number: number; paginated: boolean } {
  const p = criteria.pagination;
  if (!p) return { size: maxRecords, number: 1, paginated: false };
  const number = p.page_number ?? 1;
  if (!Number.isInteger(p.page_size) || p.page_size < 1 || p.page_size > maxRecords) {
    throw new ItemRejection('rjct.pagination.invalid', `page_size must be an integer from 1 to ${maxRecords}`);
  }
  if (!Number.isInteger(number) || number < 1) throw new ItemRejection('rjct.pagination.invalid', 'page_number must be an integer from 1');
  return { size: p.page_size, number, paginated: true };
}

/**
 * Runs one search item over the registry: live records only, inside the partner's geographic scope, sorted (ties by
 * id, so pages are stable) and paged. An unpaginated search matching more than `maxRecords` is refused.
 */
export async function runSearch(db: Db, actor: Actor, criteria: SearchCriteria, config: DciConfig): Promise<SearchResult> {
  const { entity, where } = compileCriteria(criteria, config);
  const order = compileSort(entity, criteria.sort, config.attributes);
  const page = pageOf(criteria, config.maxRecords);
  const table = entity === 'Group' ? groups : individuals;
  const condition = and(isNull(table.deletedAt), withinScope(actor, table.locationId), where)!;

  const [counted] = await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM ${table} WHERE ${condition}`);
  const total = Number(counted?.n ?? 0);
  if (!page.paginated && total > config.maxRecords) {
    throw new ItemRejection(
      'rjct.search.too_many_records_found',
      `${total} records match; at most ${config.maxRecords} are returned at once — narrow the search or use pagination`,
    );
  }
  const rows = await db
    .select({ id: table.id })
    .from(table)
    .where(condition)
    .orderBy(...order, asc(table.id))
    .limit(page.size)
    .offset((page.number - 1) * page.size);
  const ids = rows.map((r) => r.id);
  const records = entity === 'Group' ? await groupRecords(db, actor, ids, config.attributes) : await personRecords(db, ids);
  return { entity, records, pagination: { page_size: page.size, page_number: page.number, total_count: total } };
}
