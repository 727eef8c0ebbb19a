import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { unprocessable } from '../errors.js';
import { attributeTypes } from './attributes.js';
import { compileFormula, type FormulaType, type Vocabulary } from './formula/compile.js';
import type { MemberAggregates } from './formula/member-aggregates.js';
import { FormulaError } from './formula/parse.js';
import { groupVocabulary, individualVocabulary } from './formula/registry-vocabulary.js';

export type Subject = 'individual' | 'group';

/** Table alias the eligibility queries give the subject row. */
export const SUBJECT_ALIAS = 's';

/**
 * A programme's vocabulary. `joins()` goes right after the subject row (aliased SUBJECT_ALIAS) in the FROM clause of
 * every statement using expressions compiled with it; `aggregates` (households only) takes further per-household
 * figures into the same members' pass.
 */
export interface SubjectVocabulary extends Vocabulary {
  joins: (within?: SQL) => SQL;
  aggregates: MemberAggregates | null;
}

/** What a programme's formulas can see on `asOf`: the subject's fields plus the registry's declared attributes. */
export async function vocabularyFor(db: Db, subject: Subject, asOf: string): Promise<SubjectVocabulary> {
  const types = await attributeTypes(db);
  if (subject === 'individual') {
    return { ...individualVocabulary(SUBJECT_ALIAS, asOf, types.individual), joins: () => sql``, aggregates: null };
  }
  return groupVocabulary(SUBJECT_ALIAS, asOf, types.group, types.individual);
}

/** Compiles a programme formula; a formula error becomes a 422 naming the field, the position and the name. */
export function compileProgrammeFormula(source: string, vocabulary: Vocabulary, type: FormulaType, pointer: string) {
  try {
    return compileFormula(source, vocabulary, type).sql;
  } catch (err) {
    if (err instanceof FormulaError) throw unprocessable(err.message, pointer);
    throw err;
  }
}

/**
 * The vocabulary plus named numbers (a payment plan's `parameters`, such as `base`), bound as parameters. A name the
 * vocabulary already has is refused, so a parameter never silently hides a registry field.
 */
export function withNumbers<V extends Vocabulary>(vocabulary: V, numbers: Readonly<Record<string, number>>, pointer: string): V {
  const variables = new Map(vocabulary.variables);
  for (const [name, value] of Object.entries(numbers)) {
    if (variables.has(name)) throw unprocessable(`"${name}" is already a name formulas use; choose another`, `${pointer}/${name}`);
    variables.set(name, { type: 'number', sql: sql`${value}::numeric` });
  }
  return { ...vocabulary, variables };
}
