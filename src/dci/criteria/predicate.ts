import { ItemRejection } from '../codes.js';
import type { Criterion, Operator } from './model.js';

// The spec's ExpOperator enum; the schema refuses any other before this parser sees it.
const OPERATORS: Record<string, Operator> = { eq: 'eq', lt: 'lt', le: 'lte', gt: 'gt', ge: 'gte', in: 'in' };
const ITEM_KEYS = new Set(['seq_num', 'expression1', 'condition', 'expression2']);

const bad = (why: string) => new ItemRejection('rjct.search_criteria.invalid', why);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function comparison(e: unknown, where: string): Criterion {
  if (!isObject(e) || typeof e.attribute_name !== 'string' || typeof e.operator !== 'string' || !('attribute_value' in e)) {
    throw bad(`${where} needs attribute_name, operator and attribute_value`);
  }
  const op = OPERATORS[e.operator];
  if (!op) throw bad(`${where}: unknown operator ${e.operator} (use ${Object.keys(OPERATORS).join(', ')})`);
  return { attribute: e.attribute_name, op, value: e.attribute_value };
}

/**
 * The `predicate` query: a list of `{seq_num, expression1, condition, expression2}`. Each item is expression1 alone,
 * or expression1 and/or/and-not expression2; items are evaluated in seq_num order and must all hold.
 * Keys the spec does not define (the spec's own sample has an `expression3`) are refused rather than ignored, so a
 * condition is never silently dropped.
 */
export function parsePredicate(query: unknown): Criterion {
  if (!Array.isArray(query) || query.length === 0) throw bad('a predicate query is a non-empty list');
  const items = query.map((item, i) => {
    if (!isObject(item)) throw bad(`predicate ${i} must be an object`);
    const extra = Object.keys(item).find((k) => !ITEM_KEYS.has(k));
    if (extra) throw bad(`predicate ${i}: unknown member ${extra}`);
    if (item.seq_num !== undefined && typeof item.seq_num !== 'number') throw bad(`predicate ${i}: seq_num must be a number`);
    const first = comparison(item.expression1, `predicate ${i} expression1`);
    let criterion: Criterion = first;
    if (item.expression2 !== undefined || item.condition !== undefined) {
      const second = comparison(item.expression2, `predicate ${i} expression2`);
      if (item.condition === 'and') criterion = { and: [first, second] };
      else if (item.condition === 'or') criterion = { or: [first, second] };
      else if (item.condition === 'not') criterion = { and: [first, { not: second }] };
      else throw bad(`predicate ${i}: condition must be and, or or not`);
    }
    return { seq: typeof item.seq_num === 'number' ? item.seq_num : i, criterion };
  });
  items.sort((a, b) => a.seq - b.seq);
  return items.length === 1 ? items[0]!.criterion : { and: items.map((i) => i.criterion) };
}
