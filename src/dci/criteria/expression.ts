import { ItemRejection } from '../codes.js';
import type { Comparison, Criterion, Operator } from './model.js';

const OPERATORS: Record<string, Operator> = {
  $eq: 'eq',
  $ne: 'ne',
  $lt: 'lt',
  $lte: 'lte',
  $gt: 'gt',
  $gte: 'gte',
  $in: 'in',
};

const bad = (why: string) => new ItemRejection('rjct.search_criteria.invalid', why);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `{attribute: {$lt: 5, $gt: 1}}` or the shorthand `{attribute: value}` for $eq. */
function comparisons(attribute: string, condition: unknown): Criterion[] {
  if (!isObject(condition)) return [{ attribute, op: 'eq', value: condition }];
  const entries = Object.entries(condition);
  if (entries.length === 0) throw bad(`no operator for ${attribute}`);
  return entries.map(([key, value]): Comparison => {
    const op = OPERATORS[key];
    if (!op) throw bad(`unknown operator ${key} (use ${Object.keys(OPERATORS).join(', ')})`);
    return { attribute, op, value };
  });
}

function parseNode(node: unknown, depth: number): Criterion {
  if (depth > 16) throw bad('the expression is nested too deeply');
  if (!isObject(node)) throw bad('an expression must be an object');
  const parts: Criterion[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) throw bad(`${key} needs a non-empty list`);
      const children = value.map((child) => parseNode(child, depth + 1));
      parts.push(key === '$and' ? { and: children } : { or: children });
    } else if (key === '$not') {
      parts.push({ not: parseNode(value, depth + 1) });
    } else if (key.startsWith('$')) {
      throw bad(`unknown operator ${key}`);
    } else {
      parts.push(...comparisons(key, value));
    }
  }
  if (parts.length === 0) throw bad('the expression is empty');
  return parts.length === 1 ? parts[0]! : { and: parts };
}

/**
 * The `expression` query: `{type, value: {expression: {collection, query: {$and: [{poverty_score: {$lt: 5}}, …]}}}}`
 * as the spec's example has it (the `type` wrapper and `collection` optional).
 */
export function parseExpression(query: unknown): { criterion: Criterion; collection?: string } {
  const value = isObject(query) && isObject(query.value) ? query.value : query;
  const expression = isObject(value) && isObject(value.expression) ? value.expression : value;
  if (!isObject(expression)) throw bad('expected query.value.expression');
  const { collection, query: inner, ...rest } = expression;
  const criterion = parseNode(inner === undefined ? rest : inner, 0);
  return typeof collection === 'string' ? { criterion, collection } : { criterion };
}
