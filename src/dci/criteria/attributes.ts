import { sql, type SQL } from 'drizzle-orm';
import type { DciConfig, DciCustomAttribute } from '../../config.js';
import { groups, individuals } from '../../db/schema/index.js';
import type { Entity, Operator, Scalar } from './model.js';
import type { Subtrees } from './vocabulary.js';

export type ValueType = 'number' | 'text' | 'date' | 'boolean' | 'location';

/**
 * A queryable (and sortable) attribute: the SQL expression it reads and how values compare. A search must be
 * servable by an index (a registry holds a million people), so an attribute says which comparisons can be:
 * `indexed` when an index serves `sql` itself, `compare` when the comparison has an equivalent form an index serves
 * (an age as a birth date range), `candidates` when an index on another table finds the records that may match
 * (an identifier's holders); a comparison none of them serves scans the table.
 */
export interface Attribute {
  sql: SQL;
  type: ValueType;
  indexed?: readonly Operator[];
  /** The comparison in a form an index serves, equivalent to `sql op value` (`in` asks for each value's eq). */
  compare?: (op: Operator, value: Scalar) => SQL | undefined;
  /** A subquery of the ids of every record that may match (the comparison still decides); undefined when there is none. */
  candidates?: (op: Operator, values: Scalar[]) => SQL | undefined;
  /** For a location: the subtrees of the codes the query names, when they were read before compiling. */
  subtrees?: Subtrees;
}

const EQUALITY: readonly Operator[] = ['eq', 'in'];
const ORDERED: readonly Operator[] = ['eq', 'in', 'lt', 'lte', 'gt', 'gte'];
const SQL_OPERATORS = { eq: sql`=`, ne: sql`<>`, lt: sql`<`, lte: sql`<=`, gt: sql`>`, gte: sql`>=` } as const;

/** `column op value(s)`, every value a bound parameter. */
export function comparing(column: SQL, op: Operator, values: Scalar[]): SQL {
  return op === 'in' ? sql`${column} IN (${sql.join(values.map((v) => sql`${v}`), sql`, `)})` : sql`${column} ${SQL_OPERATORS[op]} ${values[0]}`;
}

/** `age op n` as a birth date range (the btree on birth_date serves it); whole years only. */
function ageAsBirthDate(op: Operator, value: Scalar): SQL | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 200) return undefined;
  // age >= n  ⇔  born on or before today n years ago; age < n is its negation.
  const bornBy = (years: number) => sql`(current_date - make_interval(years => ${years}::int))::date`;
  const atLeast = (years: number) => sql`${individuals.birthDate} <= ${bornBy(years)}`;
  const under = (years: number) => sql`${individuals.birthDate} > ${bornBy(years)}`;
  switch (op) {
    case 'gte': return atLeast(value);
    case 'gt': return atLeast(value + 1);
    case 'lt': return under(value);
    case 'lte': return under(value + 1);
    case 'eq': return sql`(${atLeast(value)} AND ${under(value + 1)})`;
    default: return undefined;
  }
}

/** Equality on a name through the index on its normalised form, the exact comparison kept. */
const nameEquals = (column: SQL) => (op: Operator, value: Scalar) =>
  op === 'eq' ? sql`(hub_normalise(${column}) = hub_normalise(${String(value)}) AND ${column} = ${value})` : undefined;

/** Records whose own custom attribute equals the value, through the GIN index on `attributes` (jsonb_path_ops). */
function customEquals(column: SQL, def: DciCustomAttribute) {
  if (def.type === 'date') return undefined;
  const cast = def.type === 'number' ? sql`::numeric` : def.type === 'boolean' ? sql`::boolean` : sql`::text`;
  return (op: Operator, value: Scalar) =>
    op === 'eq' ? sql`(${column} @> jsonb_build_object(${def.key}::text, ${value}${cast}) AND ${custom(column, def)} = ${value})` : undefined;
}

/** Identifier types are upper-case (UIN, NIN, BRN, MOBILE …), as the registry stores them. */
export const IDENTIFIER_TYPE = /^[A-Z][A-Z0-9_]{0,31}$/;

const currentHousehold = sql`(SELECT gm.group_id FROM group_members gm WHERE gm.individual_id = ${individuals.id} AND gm.end_date IS NULL ORDER BY gm.start_date DESC NULLS LAST LIMIT 1)`;

/** A custom attribute of a jsonb column, typed; values of another JSON type read as NULL rather than failing. */
function custom(column: SQL, def: DciCustomAttribute): SQL {
  const key = def.key;
  switch (def.type) {
    case 'number':
      return sql`(CASE WHEN jsonb_typeof(${column} -> ${key}::text) = 'number' THEN (${column} ->> ${key}::text)::numeric END)`;
    case 'boolean':
      return sql`(CASE WHEN jsonb_typeof(${column} -> ${key}::text) = 'boolean' THEN (${column} ->> ${key}::text)::boolean END)`;
    case 'date':
      return sql`(CASE WHEN (${column} ->> ${key}::text) ~ '^\\d{4}-\\d{2}-\\d{2}' THEN substr(${column} ->> ${key}::text, 1, 10)::date END)`;
    default:
      return sql`(${column} ->> ${key}::text)`;
  }
}

const PERSON: Record<string, Attribute> = {
  age: { sql: sql`extract(year FROM age(current_date, ${individuals.birthDate}))::int`, type: 'number', compare: ageAsBirthDate },
  sex: { sql: sql`${individuals.sex}`, type: 'text' },
  birth_date: { sql: sql`${individuals.birthDate}`, type: 'date', indexed: ORDERED },
  death_date: { sql: sql`${individuals.deathDate}`, type: 'date' },
  given_name: { sql: sql`${individuals.givenName}`, type: 'text', compare: nameEquals(sql`${individuals.givenName}`) },
  family_name: { sql: sql`${individuals.familyName}`, type: 'text', compare: nameEquals(sql`${individuals.familyName}`) },
  phone_number: { sql: sql`${individuals.phone}`, type: 'text', indexed: EQUALITY },
  email: { sql: sql`${individuals.email}`, type: 'text' },
  location: { sql: sql`${individuals.locationId}`, type: 'location', indexed: EQUALITY },
  registration_date: { sql: sql`(${individuals.createdAt})::date`, type: 'date' },
  last_updated: { sql: sql`(${individuals.updatedAt})::date`, type: 'date' },
  household_id: {
    sql: sql`(SELECT g.code FROM groups g WHERE g.id = ${currentHousehold})`,
    type: 'text',
    candidates: (op, values) =>
      op === 'eq' || op === 'in'
        ? sql`SELECT gm.individual_id FROM group_members gm JOIN groups g ON g.id = gm.group_id WHERE ${comparing(sql`g.code`, 'in', values)} AND gm.end_date IS NULL`
        : undefined,
  },
};

const GROUP: Record<string, Attribute> = {
  group_size: {
    sql: sql`(SELECT count(*) FROM group_members gm WHERE gm.group_id = ${groups.id} AND gm.end_date IS NULL)::int`,
    type: 'number',
  },
  group_type: { sql: sql`${groups.kind}`, type: 'text' },
  household_id: { sql: sql`${groups.code}`, type: 'text', indexed: EQUALITY },
  location: { sql: sql`${groups.locationId}`, type: 'location', indexed: EQUALITY },
  registration_date: { sql: sql`(${groups.createdAt})::date`, type: 'date' },
  last_updated: { sql: sql`(${groups.updatedAt})::date`, type: 'date' },
};

/** Names partners use for the same thing; `DCI_ATTRIBUTE_ALIASES` adds more (and may redirect these). */
const ALIASES: Record<string, string> = {
  gender: 'sex',
  dob: 'birth_date',
  date_of_birth: 'birth_date',
  DOB: 'birth_date',
  mobile: 'phone_number',
  phone: 'phone_number',
  first_name: 'given_name',
  surname: 'family_name',
  last_name: 'family_name',
  area: 'location',
  location_code: 'location',
  household_size: 'group_size',
  group_id: 'household_id',
  HOUSEHOLD_ID: 'household_id',
};

/** What a partner's attribute names resolve against: configured and registry-defined custom attributes, aliases. */
export type Vocabulary = Pick<DciConfig, 'attributes' | 'aliases'> & { subtrees?: Subtrees };

/**
 * The attribute a partner names, for people (Member) or households (Group); undefined when the name is unknown.
 * Custom attributes read the record's own `attributes`; a person's query on one that households hold (or that is
 * configured and the person lacks) reads their current household's (poverty scores are usually the household's).
 */
export function attributeFor(entity: Entity, name: string, vocabulary: Vocabulary): Attribute | undefined {
  const canonical = vocabulary.aliases[name] ?? ALIASES[name] ?? name;
  const builtIn = (entity === 'Group' ? GROUP : PERSON)[canonical];
  if (builtIn) return builtIn.type === 'location' && vocabulary.subtrees ? { ...builtIn, subtrees: vocabulary.subtrees } : builtIn;
  const def = vocabulary.attributes[canonical];
  if (def) {
    if (entity === 'Group') {
      return def.of === 'individual' ? undefined : { sql: custom(sql`${groups.attributes}`, def), type: def.type, compare: customEquals(sql`${groups.attributes}`, def) };
    }
    const own = custom(sql`${individuals.attributes}`, def);
    const household = custom(sql`(SELECT g.attributes FROM groups g WHERE g.id = ${currentHousehold})`, def);
    if (def.of === 'individual') return { sql: own, type: def.type, compare: customEquals(sql`${individuals.attributes}`, def) };
    if (def.of === 'group') return { sql: household, type: def.type };
    return { sql: sql`COALESCE(${own}, ${household})`, type: def.type };
  }
  if (entity === 'Member' && IDENTIFIER_TYPE.test(canonical)) {
    return {
      sql: sql`(SELECT min(i.value) FROM identifiers i WHERE i.individual_id = ${individuals.id} AND i.type = ${canonical})`,
      type: 'text',
      candidates: (op, values) =>
        op === 'eq' || op === 'in' ? sql`SELECT i.individual_id FROM identifiers i WHERE i.type = ${canonical} AND ${comparing(sql`i.value`, 'in', values)}` : undefined,
    };
  }
  return undefined;
}
