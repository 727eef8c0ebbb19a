import { sql, type SQL } from 'drizzle-orm';
import type { DciConfig, DciCustomAttribute } from '../../config.js';
import { groups, individuals } from '../../db/schema/index.js';
import type { Entity } from './model.js';

export type ValueType = 'number' | 'text' | 'date' | 'boolean' | 'location';

/** A queryable (and sortable) attribute: the SQL expression it reads and how values compare. */
export interface Attribute {
  sql: SQL;
  type: ValueType;
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
  age: { sql: sql`extract(year FROM age(current_date, ${individuals.birthDate}))::int`, type: 'number' },
  sex: { sql: sql`${individuals.sex}`, type: 'text' },
  birth_date: { sql: sql`${individuals.birthDate}`, type: 'date' },
  death_date: { sql: sql`${individuals.deathDate}`, type: 'date' },
  given_name: { sql: sql`${individuals.givenName}`, type: 'text' },
  family_name: { sql: sql`${individuals.familyName}`, type: 'text' },
  phone_number: { sql: sql`${individuals.phone}`, type: 'text' },
  email: { sql: sql`${individuals.email}`, type: 'text' },
  location: { sql: sql`${individuals.locationId}`, type: 'location' },
  registration_date: { sql: sql`(${individuals.createdAt})::date`, type: 'date' },
  last_updated: { sql: sql`(${individuals.updatedAt})::date`, type: 'date' },
  household_id: { sql: sql`(SELECT g.code FROM groups g WHERE g.id = ${currentHousehold})`, type: 'text' },
};

const GROUP: Record<string, Attribute> = {
  group_size: {
    sql: sql`(SELECT count(*) FROM group_members gm WHERE gm.group_id = ${groups.id} AND gm.end_date IS NULL)::int`,
    type: 'number',
  },
  group_type: { sql: sql`${groups.kind}`, type: 'text' },
  household_id: { sql: sql`${groups.code}`, type: 'text' },
  location: { sql: sql`${groups.locationId}`, type: 'location' },
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
export type Vocabulary = Pick<DciConfig, 'attributes' | 'aliases'>;

/**
 * The attribute a partner names, for people (Member) or households (Group); undefined when the name is unknown.
 * Custom attributes read the record's own `attributes`; a person's query on one that households hold (or that is
 * configured and the person lacks) reads their current household's (poverty scores are usually the household's).
 */
export function attributeFor(entity: Entity, name: string, vocabulary: Vocabulary): Attribute | undefined {
  const canonical = vocabulary.aliases[name] ?? ALIASES[name] ?? name;
  const builtIn = (entity === 'Group' ? GROUP : PERSON)[canonical];
  if (builtIn) return builtIn;
  const def = vocabulary.attributes[canonical];
  if (def) {
    if (entity === 'Group') return def.of === 'individual' ? undefined : { sql: custom(sql`${groups.attributes}`, def), type: def.type };
    const own = custom(sql`${individuals.attributes}`, def);
    const household = custom(sql`(SELECT g.attributes FROM groups g WHERE g.id = ${currentHousehold})`, def);
    if (def.of === 'individual') return { sql: own, type: def.type };
    if (def.of === 'group') return { sql: household, type: def.type };
    return { sql: sql`COALESCE(${own}, ${household})`, type: def.type };
  }
  if (entity === 'Member' && IDENTIFIER_TYPE.test(canonical)) {
    return {
      sql: sql`(SELECT min(i.value) FROM identifiers i WHERE i.individual_id = ${individuals.id} AND i.type = ${canonical})`,
      type: 'text',
    };
  }
  return undefined;
}
