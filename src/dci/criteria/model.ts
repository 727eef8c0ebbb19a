/** Search criteria after parsing, whatever query_type they came in: a tree of comparisons. */
export type Operator = 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte' | 'in';

/** A comparison's value once coerced to its attribute's type. */
export type Scalar = string | number | boolean;

export interface Comparison {
  attribute: string;
  op: Operator;
  value: unknown;
}

export type Criterion = { and: Criterion[] } | { or: Criterion[] } | { not: Criterion } | Comparison;

/** What a search answers with: households (Group) or people (Member, answered as Person records). */
export type Entity = 'Group' | 'Member';
