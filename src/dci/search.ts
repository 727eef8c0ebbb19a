import { and, asc, isNull, sql, type SQL } from 'drizzle-orm';
import type { DciConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { queryRows } from '../db/query-rows.js';
import type { Actor } from '../security/actor.js';
import { withinScope } from '../security/geo-scope.js';
import { ItemRejection } from './codes.js';
import { compileCriterion, compileSort } from './criteria/compile.js';
import { parseExpression } from './criteria/expression.js';
import { checkLimits } from './criteria/limits.js';
import type { Criterion, Entity } from './criteria/model.js';
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

/** The criteria's query parsed (undefined for idtype-value, which is one lookup by identifier). */
export interface ParsedQuery {
  criterion?: Criterion;
  collection?: string;
}

function parseQuery(criteria: Pick<SearchCriteria, 'query_type' | 'query'>): ParsedQuery {
  if (criteria.query_type === 'idtype-value') return {};
  // The spec's own expression sample carries a predicate list, so the query's shape decides between the two.
  if (criteria.query_type === 'predicate' || Array.isArray(criteria.query)) return { criterion: parsePredicate(criteria.query) };
  if (criteria.query_type !== 'expression') throw new ItemRejection('rjct.search_criteria.invalid', `query_type ${String(criteria.query_type)} is not supported; use idtype-value, expression or predicate`);
  return parseExpression(criteria.query);
}

/** The query parsed and refused when larger than the limits allow, before any SQL runs. */
export function parseWithinLimits(criteria: Pick<SearchCriteria, 'query_type' | 'query'>, limits: DciConfig['queryLimits']): ParsedQuery {
  const parsed = parseQuery(criteria);
  if (parsed.criterion) checkLimits(parsed.criterion, limits);
  return parsed;
}

/**
 * The records the criteria select, as a condition on the record kind's table: the kind the criteria name, or `fixed`
 * (a subscription's filter always selects the records it notifies). `indexed` says whether an index finds them.
 */
export function compileCriteria(
  registry: DciRegistry,
  criteria: Pick<SearchCriteria, 'query_type' | 'query' | 'response_entity' | 'reg_record_type'>,
  config: DciConfig,
  fixed?: RecordKind,
  parsed: ParsedQuery = parseQuery(criteria),
): { kind: RecordKind; where: SQL; indexed: boolean } {
  const hints: RecordHints = {
    ...registry.searchHints(criteria as unknown as Record<string, unknown>),
    responseEntity: criteria.response_entity,
    recordType: criteria.reg_record_type,
    ...(parsed.collection !== undefined ? { collection: parsed.collection } : {}),
  };
  const kind = fixed ?? registry.recordsFor(hints, config);
  if (!parsed.criterion) return { kind, where: kind.idTypeValue(criteria.query), indexed: true };
  return { kind, ...compileCriterion(kind.attributes, parsed.criterion) };
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

/** The records a search reads: live ones of the kind, inside the partner's geographic scope, that the query selects. */
export const searchCondition = (actor: Actor, kind: RecordKind, where: SQL): SQL =>
  and(isNull(kind.table.deletedAt), withinScope(actor, kind.table.locationId), kind.scope, where)!;

/**
 * Runs one search item over the registry: live records only, inside the partner's geographic scope, sorted (ties by
 * id, so pages are stable) and paged. An unpaginated search matching more than `maxRecords` is refused.
 */
export async function runSearch(db: Db, actor: Actor, registry: DciRegistry, criteria: SearchCriteria, config: DciConfig): Promise<SearchResult> {
  const parsed = parseWithinLimits(criteria, config.queryLimits);
  const page = pageOf(criteria, config.maxRecords);
  // Only expressions, predicates and sorts name attributes: a lookup by identifier needs no attribute definitions.
  const named = criteria.query_type !== 'idtype-value' || (criteria.sort?.length ?? 0) > 0;
  const vocabulary = named ? await withRegistryAttributes(db, config, parsed.criterion) : config;
  const { kind, where, indexed } = compileCriteria(registry, criteria, vocabulary, undefined, parsed);
  if (!indexed && config.indexedQueriesOnly) {
    throw new ItemRejection(
      'rjct.search_criteria.invalid',
      'no index serves this query, so it would read every record: include (or AND with) an equality on an identifier, household_id or location, or a range of birth_date or age',
    );
  }
  const order = compileSort(kind.attributes, criteria.sort);
  const table = kind.table;
  const condition = searchCondition(actor, kind, where);

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
