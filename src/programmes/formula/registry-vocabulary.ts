import { sql, type SQL } from 'drizzle-orm';
import type { FormulaType, Variable, Vocabulary } from './compile.js';

/** Custom attributes a formula may use, by name, with the type their values are read as. */
export type AttributeTypes = Readonly<Record<string, FormulaType>>;

/**
 * An attribute read from the jsonb `attributes` column. A value of the wrong JSON type (a text where a number is
 * expected) reads as no value (NULL), so one bad record cannot fail a whole eligibility run.
 */
function attribute(alias: SQL, name: string, type: FormulaType): Variable {
  const value = sql`${alias}.attributes -> ${name}::text`;
  if (type === 'text') return { type, sql: sql`(${alias}.attributes ->> ${name}::text)` };
  const jsonType = type === 'number' ? 'number' : 'boolean';
  const cast = type === 'number' ? sql.raw('numeric') : sql.raw('boolean');
  return { type, sql: sql`(CASE WHEN jsonb_typeof(${value}) = ${jsonType}::text THEN (${value})::${cast} END)` };
}

function withAttributes(fixed: [string, Variable][], alias: SQL, attributes: AttributeTypes): Map<string, Variable> {
  const variables = new Map(fixed);
  for (const [name, type] of Object.entries(attributes)) {
    if (!variables.has(name)) variables.set(name, attribute(alias, name, type));
  }
  return variables;
}

/** A person: `age` (whole years on `asOf`), `sex`, `deceased`, and the declared custom attributes. */
export function individualVocabulary(aliasName: string, asOf: string, attributes: AttributeTypes): Vocabulary {
  const alias = sql`${sql.identifier(aliasName)}`;
  return {
    variables: withAttributes(
      [
        ['age', { type: 'number', sql: sql`(date_part('year', age(${asOf}::date, ${alias}.birth_date))::numeric)` }],
        ['sex', { type: 'text', sql: sql`${alias}.sex` }],
        ['deceased', { type: 'boolean', sql: sql`(${alias}.death_date IS NOT NULL AND ${alias}.death_date <= ${asOf}::date)` }],
      ],
      alias,
      attributes,
    ),
  };
}

/**
 * A household: `size` (current members), its declared attributes, and `count_members(condition)` over its current,
 * not deleted members, each seen through the individual vocabulary.
 */
export function groupVocabulary(
  aliasName: string,
  asOf: string,
  attributes: AttributeTypes,
  memberAttributes: AttributeTypes,
): Vocabulary {
  const alias = sql`${sql.identifier(aliasName)}`;
  const count = (condition: SQL) => sql`(SELECT count(*)::numeric FROM group_members fm
    JOIN individuals fi ON fi.id = fm.individual_id
    WHERE fm.group_id = ${alias}.id AND fm.end_date IS NULL AND fi.deleted_at IS NULL AND ${condition})`;
  return {
    variables: withAttributes([['size', { type: 'number', sql: count(sql`TRUE`) }]], alias, attributes),
    members: { vocabulary: individualVocabulary('fi', asOf, memberAttributes), count },
  };
}
