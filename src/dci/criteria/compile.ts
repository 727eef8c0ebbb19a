import { and, not, or, sql, type SQL } from 'drizzle-orm';
import { ItemRejection, type SearchReasonCode } from '../codes.js';
import type { Attribute } from './attributes.js';
import type { Comparison, Criterion } from './model.js';

/** The attributes one kind of record can be queried and sorted by; `label` names the kind in error messages. */
export interface AttributeResolver {
  label: string;
  resolve(name: string): Attribute | undefined;
}

const SQL_OPERATORS = { eq: sql`=`, ne: sql`<>`, lt: sql`<`, lte: sql`<=`, gt: sql`>`, gte: sql`>=` } as const;
const MAX_IN_VALUES = 1000;

/** Partners send values as strings as often as typed (the spec's samples do): coerce to the attribute's type. */
function coerce(attribute: Attribute, name: string, value: unknown, reason: SearchReasonCode): string | number | boolean {
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
function sexCode(value: string | number | boolean): string | number | boolean {
  if (typeof value !== 'string') return value;
  const v = value.toLowerCase();
  return v === 'm' ? 'male' : v === 'f' ? 'female' : v;
}

/** A location given by code matches records located in it or anywhere below it. */
const inLocation = (column: SQL, code: string) =>
  sql`${column} IN (SELECT d.id FROM locations d WHERE d.path <@ (SELECT a.path FROM locations a WHERE a.code = ${code} AND a.deleted_at IS NULL))`;

function comparison(attributes: AttributeResolver, c: Comparison, reason: SearchReasonCode): SQL {
  const attribute = attributes.resolve(c.attribute);
  if (!attribute) throw new ItemRejection(reason, `unknown attribute ${c.attribute} for ${attributes.label} records`);
  const values = c.op === 'in' ? c.value : [c.value];
  if (!Array.isArray(values) || values.length === 0 || values.length > MAX_IN_VALUES) {
    throw new ItemRejection(reason, `in needs a list of 1 to ${MAX_IN_VALUES} values for ${c.attribute}`);
  }
  if (attribute.type === 'location') {
    if (c.op !== 'eq' && c.op !== 'in' && c.op !== 'ne') throw new ItemRejection(reason, `location compares only with eq, ne and in`);
    const inAny = or(...values.map((v) => inLocation(attribute.sql, String(coerce({ ...attribute, type: 'text' }, c.attribute, v, reason)))))!;
    return c.op === 'ne' ? sql`(${attribute.sql} IS NULL OR NOT (${inAny}))` : inAny;
  }
  const isSex = c.attribute === 'sex' || c.attribute === 'gender';
  const typed = values.map((v) => {
    const value = coerce(attribute, c.attribute, v, reason);
    return isSex ? sexCode(value) : value;
  });
  if (c.op === 'in') return sql`${attribute.sql} IN (${sql.join(typed.map((v) => sql`${v}`), sql`, `)})`;
  return sql`${attribute.sql} ${SQL_OPERATORS[c.op]} ${typed[0]}`;
}

/**
 * Compiles parsed criteria to a WHERE condition: every value is a bound parameter, every attribute an expression
 * from the attribute table; nothing from the request is spliced into SQL text.
 */
export function compileCriterion(
  attributes: AttributeResolver,
  criterion: Criterion,
  reason: SearchReasonCode = 'rjct.search_criteria.invalid',
): SQL {
  if ('and' in criterion) return and(...criterion.and.map((c) => compileCriterion(attributes, c, reason)))!;
  if ('or' in criterion) return or(...criterion.or.map((c) => compileCriterion(attributes, c, reason)))!;
  if ('not' in criterion) return not(compileCriterion(attributes, criterion.not, reason));
  return comparison(attributes, criterion, reason);
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
