import { sql, type SQL } from 'drizzle-orm';
import type { FormulaType, Variable, Vocabulary } from './compile.js';
import { MEMBER_ALIAS, MemberAggregates } from './member-aggregates.js';

/** Custom attributes a formula may use, by name, with the type their values are read as. */
export type AttributeTypes = Readonly<Record<string, FormulaType>>;

/**
 * An attribute read from the jsonb `attributes` column. A value of the wrong JSON type (a text where a number is
 * expected) reads as no value (NULL), so one bad record cannot fail a whole eligibility run.
 */
function attribute(alias: SQL, name: string, type: FormulaType): Variable {
  const value = sql`${alias}.attributes -> ${name}::text`;
  if (type === 'text') return { type, sql: sql`(${alias}.attributes ->> ${name}::text)` };
  // A simple CASE reads the value once; JSON true and false are the only booleans.
  if (type === 'boolean') return { type, sql: sql`(CASE ${value} WHEN 'true'::jsonb THEN TRUE WHEN 'false'::jsonb THEN FALSE END)` };
  return { type, sql: sql`(CASE WHEN jsonb_typeof(${value}) = 'number' THEN (${value})::numeric END)` };
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
        // On timestamps without time zone, and extracted as numeric: the same whole years as on dates, at a third of
        // the cost (no time zone arithmetic, no float to numeric conversion), which counts once per member.
        ['age', { type: 'number', sql: sql`extract(year FROM age(${asOf}::timestamp, ${alias}.birth_date::timestamp))` }],
        ['sex', { type: 'text', sql: sql`${alias}.sex` }],
        ['deceased', { type: 'boolean', sql: sql`(${alias}.death_date IS NOT NULL AND ${alias}.death_date <= ${asOf}::date)` }],
      ],
      alias,
      attributes,
    ),
  };
}

/** A household's vocabulary, with the members' pass its aggregates are read from (see MemberAggregates). */
export interface GroupVocabulary extends Vocabulary {
  members: NonNullable<Vocabulary['members']>;
  joins: (within?: SQL) => SQL;
  aggregates: MemberAggregates;
}

/**
 * A household: `size` (current members), its declared attributes, and `count_members(condition)` over its current,
 * not deleted members, each seen through the individual vocabulary. Every member count of the formulas compiled
 * with one vocabulary is read from one grouped pass over the members, which `joins()` adds to the statement.
 */
export function groupVocabulary(
  aliasName: string,
  asOf: string,
  attributes: AttributeTypes,
  memberAttributes: AttributeTypes,
): GroupVocabulary {
  const alias = sql`${sql.identifier(aliasName)}`;
  const aggregates = new MemberAggregates(aliasName);
  let everyone: SQL | undefined;
  const count = (condition: SQL) => aggregates.count(condition);
  const size = () => (everyone ??= count(sql`TRUE`));
  return {
    variables: withAttributes([['size', { type: 'number', sql: size }]], alias, attributes),
    members: { vocabulary: individualVocabulary(MEMBER_ALIAS, asOf, memberAttributes), count },
    joins: (within?: SQL) => aggregates.join(within),
    aggregates,
  };
}
