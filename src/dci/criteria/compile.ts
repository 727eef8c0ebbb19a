import { and, not, or, sql, type SQL } from 'drizzle-orm';
import { inLocations } from '../../db/location-tree.js';
import type { groups, individuals } from '../../db/schema/index.js';
import { ItemRejection, type SearchReasonCode } from '../codes.js';
import { comparing, type Attribute } from './attributes.js';
import type { Comparison, Criterion, Scalar } from './model.js';

/** The attributes one kind of record can be queried and sorted by; `label` names the kind in error messages. */
export interface AttributeResolver {
  label: string;
  table: typeof individuals | typeof groups;
  resolve(name: string): Attribute | undefined;
}

/** Partners send values as strings as often as typed (the spec's samples do): coerce to the attribute's type. */
function coerce(attribute: Attribute, name: string, value: unknown, reason: SearchReasonCode): Scalar {
  const bad = () => new ItemRejection(reason, `${JSON.stringify(value)} is not a valid ${attribute.type} for ${name}`);
  switch (attribute.type) {
    case 'number': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (!Number.isFinite(n)) throw bad();
      return n;
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      throw bad();
    case 'date':
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(Date.parse(value.slice(0, 10)))) throw bad();
      return value.slice(0, 10);
    default:
      if (typeof value !== 'string' && typeof value !== 'number') throw bad();
      return String(value);
  }
}

/** Registry sex codes from the usual spellings (m, F, Male …). */
function sexCode(value: Scalar): Scalar {
  if (typeof value !== 'string') return value;
  const v = value.toLowerCase();
  return v === 'm' ? 'male' : v === 'f' ? 'female' : v;
}

/**
 * A location given by code matches records located in it or anywhere below it. Searches read the subtrees first
 * (vocabulary.ts) and compare with their ids; elsewhere (subscription filters, CRVS places) the ids are resolved
 * once, as an InitPlan, into an array the index on `column` is probed with: behind `IN (subquery)` the planner
 * cannot tell how many records an ltree subtree holds and, at a million people, guesses a scan of the whole table.
 */
export const inLocation = (column: SQL, codes: Scalar[]) =>
  sql`${column} = ANY (ARRAY(SELECT d.id FROM locations d WHERE d.path <@ ANY (ARRAY(SELECT a.path FROM locations a WHERE ${comparing(sql`a.code`, 'in', codes.map(String))} AND a.deleted_at IS NULL))))`;

/**
 * A compiled condition: `check` decides; `indexed` says an index can find the records it matches without scanning
 * the table; `ids`, when present, is a subquery of the ids of every record that may match, served by an index.
 */
interface Compiled {
  check: SQL;
  indexed: boolean;
  ids?: SQL;
}

function comparison(attributes: AttributeResolver, c: Comparison, reason: SearchReasonCode): Compiled {
  const attribute = attributes.resolve(c.attribute);
  if (!attribute) throw new ItemRejection(reason, `unknown attribute ${c.attribute} for ${attributes.label} records`);
  const raw = c.op === 'in' ? c.value : [c.value];
  if (!Array.isArray(raw) || raw.length === 0) throw new ItemRejection(reason, `in needs a non-empty list of values for ${c.attribute}`);
  const ids = (values: Scalar[]) => attribute.candidates?.(c.op, values);
  if (attribute.type === 'location') {
    if (c.op !== 'eq' && c.op !== 'in' && c.op !== 'ne') throw new ItemRejection(reason, `location compares only with eq, ne and in`);
    const codes = raw.map((v) => coerce({ ...attribute, type: 'text' }, c.attribute, v, reason));
    const { subtrees } = attribute;
    const inAny = subtrees ? inLocations(attribute.sql, [...new Set(codes.flatMap((c) => subtrees.get(String(c)) ?? []))]) : inLocation(attribute.sql, codes);
    if (c.op === 'ne') return { check: sql`(${attribute.sql} IS NULL OR NOT (${inAny}))`, indexed: false };
    return withCandidates(inAny, attribute.indexed?.includes(c.op) ?? false, ids(codes));
  }
  const isSex = c.attribute === 'sex' || c.attribute === 'gender';
  const values = raw.map((v) => {
    const value = coerce(attribute, c.attribute, v, reason);
    return isSex ? sexCode(value) : value;
  });
  const rewritten = attribute.compare && values.map((v) => attribute.compare!(c.op === 'in' ? 'eq' : c.op, v));
  if (rewritten?.every((r) => r !== undefined)) return { check: or(...rewritten)!, indexed: true };
  return withCandidates(comparing(attribute.sql, c.op, values), attribute.indexed?.includes(c.op) ?? false, ids(values));
}

const withCandidates = (check: SQL, indexed: boolean, ids: SQL | undefined): Compiled =>
  ids ? { check, indexed: true, ids } : { check, indexed };

/** The condition with its candidates as a semi-join the planner can start from. */
const whereOf = (attributes: AttributeResolver, c: Compiled) =>
  c.ids ? sql`(${attributes.table.id} IN (${c.ids}) AND ${c.check})` : c.check;

function compile(attributes: AttributeResolver, criterion: Criterion, reason: SearchReasonCode): Compiled {
  if ('not' in criterion) return { check: not(whereOf(attributes, compile(attributes, criterion.not, reason))), indexed: false };
  if ('and' in criterion) {
    const parts = criterion.and.map((c) => compile(attributes, c, reason));
    return { check: and(...parts.map((p) => whereOf(attributes, p)))!, indexed: parts.some((p) => p.indexed) };
  }
  if ('or' in criterion) {
    const parts = criterion.or.map((c) => compile(attributes, c, reason));
    if (parts.length === 1) return parts[0]!;
    const check = or(...parts.map((p) => p.check))!;
    if (!parts.every((p) => p.indexed)) return { check, indexed: false };
    // Under OR the planner cannot start from a subquery (it tests every row of the table instead): one union of
    // the parts' index lookups to start from.
    const { table } = attributes;
    const ids = sql.join(parts.map((p) => p.ids ?? sql`SELECT ${table.id} FROM ${table} WHERE ${whereOf(attributes, p)}`), sql` UNION ALL `);
    return { check, indexed: true, ids };
  }
  return comparison(attributes, criterion, reason);
}

/**
 * Compiles parsed criteria to a WHERE condition: every value is a bound parameter, every attribute an expression
 * from the attribute table; nothing from the request is spliced into SQL text. `indexed` says whether an index
 * can find the matching records (a search that is not would scan the whole table).
 */
export function compileCriterion(
  attributes: AttributeResolver,
  criterion: Criterion,
  reason: SearchReasonCode = 'rjct.search_criteria.invalid',
): { where: SQL; indexed: boolean } {
  const compiled = compile(attributes, criterion, reason);
  return { where: whereOf(attributes, compiled), indexed: compiled.indexed };
}

/** ORDER BY terms from the spec's sort list; an unknown attribute is rjct.sort.invalid. */
export function compileSort(attributes: AttributeResolver, sort: unknown): SQL[] {
  if (sort === undefined) return [];
  if (!Array.isArray(sort)) throw new ItemRejection('rjct.sort.invalid', 'sort must be a list');
  return sort.map((s: { attribute_name?: unknown; sort_order?: unknown }) => {
    const name = typeof s?.attribute_name === 'string' ? s.attribute_name : '';
    const attribute = attributes.resolve(name);
    if (!attribute) throw new ItemRejection('rjct.sort.invalid', `cannot sort ${attributes.label} records by ${JSON.stringify(s?.attribute_name)}`);
    if (s.sort_order !== undefined && s.sort_order !== 'asc' && s.sort_order !== 'desc') {
      throw new ItemRejection('rjct.sort.invalid', 'sort_order must be asc or desc');
    }
    return s.sort_order === 'desc' ? sql`${attribute.sql} DESC NULLS LAST` : sql`${attribute.sql} ASC NULLS LAST`;
  });
}
