import { and, asc, isNull, sql, type SQL } from 'drizzle-orm';
import type { DciConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { queryRows } from '../db/query-rows.js';
import type { Actor } from '../security/actor.js';
import { withinScope } from '../security/geo-scope.js';
import { ItemRejection } from './codes.js';
import { compileCriterion, compileSort } from './criteria/compile.js';
import { parseExpression } from './criteria/expression.js';
import type { Entity } from './criteria/model.js';
import { parsePredicate } from './criteria/predicate.js';
import { withRegistryAttributes } from './criteria/vocabulary.js';
import type { DciRegistry, RecordHints, RecordKind } from './registry.js';

/** search_criteria of one search_request item (already valid against the spec's schema). */
export interface SearchCriteria {
  version?: string;
  reg_type?: string;
  reg_record_type?: string;
  query_type: 'idtype-value' | 'expression' | 'predicate' | 'graphql';
  response_entity?: Entity;
  query: unknown;
  sort?: { attribute_name?: string; sort_order?: 'asc' | 'desc' }[];
  pagination?: { page_size: number; page_number?: number };
  consent?: Record<string, unknown>;
  authorize?: Record<string, unknown>;
}

export interface SearchResult {
  kind: RecordKind;
  records: Record<string, unknown>[];
  pagination: { page_size: number; page_number: number; total_count: number };
}

/**
 * The records the criteria select, as a condition on the record kind's table: the kind the criteria name, or `fixed`
 * (a subscription's filter always selects the records it notifies).
 */
export function compileCriteria(
  registry: DciRegistry,
  criteria: Pick<SearchCriteria, 'query_type' | 'query' | 'response_entity' | 'reg_record_type'>,
  config: DciConfig,
  fixed?: RecordKind,
): { kind: RecordKind; where: SQL } {
  const hints: RecordHints = {
    ...registry.searchHints(criteria as unknown as Record<string, unknown>),
    responseEntity: criteria.response_entity,
    recordType: criteria.reg_record_type,
  };
  const kindFor = (h: RecordHints) => fixed ?? registry.recordsFor(h, config);
  if (criteria.query_type === 'idtype-value') {
    const kind = kindFor(hints);
    return { kind, where: kind.idTypeValue(criteria.query) };
  }
  // The spec's own expression sample carries a predicate list, so the query's shape decides between the two.
  if (criteria.query_type === 'predicate' || Array.isArray(criteria.query)) {
    const kind = kindFor(hints);
    return { kind, where: compileCriterion(kind.attributes, parsePredicate(criteria.query)) };
  }
  if (criteria.query_type !== 'expression') throw new ItemRejection('rjct.search_criteria.invalid', `query_type ${String(criteria.query_type)} is not supported; use idtype-value, expression or predicate`);
  const { criterion, collection } = parseExpression(criteria.query);
  const kind = kindFor({ ...hints, collection });
  return { kind, where: compileCriterion(kind.attributes, criterion) };
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
export async function runSearch(db: Db, actor: Actor, registry: DciRegistry, criteria: SearchCriteria, config: DciConfig): Promise<SearchResult> {
  // Only expressions, predicates and sorts name attributes: a lookup by identifier needs no attribute definitions.
  const named = criteria.query_type !== 'idtype-value' || (criteria.sort?.length ?? 0) > 0;
  const vocabulary = named ? await withRegistryAttributes(db, config) : config;
  const { kind, where } = compileCriteria(registry, criteria, vocabulary);
  const order = compileSort(kind.attributes, criteria.sort);
  const page = pageOf(criteria, config.maxRecords);
  const table = kind.table;
  const condition = and(isNull(table.deletedAt), withinScope(actor, table.locationId), kind.scope, where)!;

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
  const records = await kind.records(db, actor, rows.map((r) => r.id));
  return { kind, records, pagination: { page_size: page.size, page_number: page.number, total_count: total } };
}
