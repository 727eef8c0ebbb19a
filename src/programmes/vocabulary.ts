import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { unprocessable } from '../errors.js';
import { attributeTypes } from './attributes.js';
import { compileFormula, type FormulaType, type Vocabulary } from './formula/compile.js';
import { FormulaError } from './formula/parse.js';
import { groupVocabulary, individualVocabulary } from './formula/registry-vocabulary.js';

export type Subject = 'individual' | 'group';

/** Table alias the eligibility queries give the subject row. */
export const SUBJECT_ALIAS = 's';

/** What a programme's formulas can see on `asOf`: the subject's fields plus the registry's declared attributes. */
export async function vocabularyFor(db: Db, subject: Subject, asOf: string): Promise<Vocabulary> {
  const types = await attributeTypes(db);
  return subject === 'individual'
    ? individualVocabulary(SUBJECT_ALIAS, asOf, types.individual)
    : groupVocabulary(SUBJECT_ALIAS, asOf, types.group, types.individual);
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
export function withNumbers(vocabulary: Vocabulary, numbers: Readonly<Record<string, number>>, pointer: string): Vocabulary {
  const variables = new Map(vocabulary.variables);
  for (const [name, value] of Object.entries(numbers)) {
    if (variables.has(name)) throw unprocessable(`"${name}" is already a name formulas use; choose another`, `${pointer}/${name}`);
    variables.set(name, { type: 'number', sql: sql`${value}::numeric` });
  }
  return { ...vocabulary, variables };
}
