import { and, eq, isNotNull, isNull, or, sql, type SQL } from 'drizzle-orm';
import { identifiers, individuals } from '../../db/schema/index.js';
import type { SortKey } from '../../db/sorted-keyset.js';
import { ADMINISTRATIVE_GENDER } from '../canonical.js';
import type { IdentifierSystems } from '../identifier-systems.js';
import { badRequest } from '../outcome.js';
import { commonParameters, NOTHING } from './common.js';
import { dateMatches } from './lookups/date.js';
import { STRING_MODIFIERS, stringMatches } from './lookups/string.js';
import { codeIn, parseToken } from './lookups/token.js';
import { r4Definition, type SearchParameter } from './parameter.js';

const GENDERS = ['male', 'female', 'other', 'unknown'];
/** R4 defines these once for Patient, Person, Practitioner and RelatedPerson (SearchParameter/individual-…). */
const SHARED_WITH_PERSON = ['address', 'birthdate', 'family', 'gender', 'given'];

function identifierCondition(value: string, systems: IdentifierSystems): SQL {
  const token = parseToken(value, 'identifier');
  let type: string | undefined;
  if (token.system !== undefined) {
    // Every identifier the hub holds has a system: `|value` (no system) and unknown systems match nothing.
    if (token.system === '') return NOTHING;
    type = systems.typeOf(token.system);
    if (type === undefined) return NOTHING;
  }
  const match = and(
    type === undefined ? undefined : eq(identifiers.type, type),
    token.code === undefined ? undefined : eq(identifiers.value, token.code),
  );
  return sql`${individuals.id} IN (SELECT ${identifiers.individualId} FROM ${identifiers} WHERE ${match})`;
}

/** The person's location or any area above it has a name matching the value (province, commune, colline …). */
function addressCondition(value: string, modifier: string | undefined): SQL {
  const name = stringMatches(sql`a.name`, value, modifier);
  return sql`EXISTS (SELECT 1 FROM locations l JOIN locations a ON a.path @> l.path
    WHERE l.id = ${individuals.locationId} AND ${name})`;
}

/** Search parameters of Patient, over the individuals table. */
export function patientParameters(systems: IdentifierSystems): SearchParameter[] {
  const p = (
    code: string,
    type: SearchParameter['type'],
    documentation: string,
    toSql: SearchParameter['toSql'],
    modifiers?: readonly string[],
    sort?: SortKey,
  ): SearchParameter => ({
    code,
    type,
    definition: r4Definition(SHARED_WITH_PERSON.includes(code) ? 'individual' : 'Patient', code),
    documentation,
    toSql,
    ...(modifiers ? { modifiers } : {}),
    ...(sort ? { sort } : {}),
  });
  return [
    ...commonParameters(individuals.id, individuals.updatedAt),
    p('identifier', 'token', 'An identifier: system|value, |value is never stored, value alone matches any system.', (v) =>
      identifierCondition(v, systems),
    ),
    p(
      'name',
      'string',
      'Given, middle or family name (starts with, case- and accent-insensitive; :exact, :contains).',
      (v, m) =>
        or(
          stringMatches(sql`${individuals.givenName}`, v, m),
          stringMatches(sql`${individuals.familyName}`, v, m),
          and(isNotNull(individuals.middleName), stringMatches(sql`${individuals.middleName}`, v, m)),
        )!,
      STRING_MODIFIERS,
    ),
    p('family', 'string', 'Family name. _sort=family orders case- and accent-insensitively.', (v, m) => stringMatches(sql`${individuals.familyName}`, v, m), STRING_MODIFIERS, {
      // The expression of the individuals_family_given_idx index, so the sort reads it in order.
      expression: sql`hub_normalise(${individuals.familyName})`,
      type: 'text',
      nullable: false,
    }),
    p(
      'given',
      'string',
      'Given or middle name. _sort=given orders by the (first) given name, case- and accent-insensitively.',
      (v, m) =>
        or(
          stringMatches(sql`${individuals.givenName}`, v, m),
          and(isNotNull(individuals.middleName), stringMatches(sql`${individuals.middleName}`, v, m)),
        )!,
      STRING_MODIFIERS,
      { expression: sql`hub_normalise(${individuals.givenName})`, type: 'text', nullable: false },
    ),
    p(
      'birthdate',
      'date',
      'Date of birth (eq, ne, lt, le, gt, ge, sa, eb prefixes; YYYY, YYYY-MM or YYYY-MM-DD). _sort puts people without one last.',
      (v) => dateMatches(sql`${individuals.birthDate}`, v, 'date', 'birthdate'),
      undefined,
      { expression: sql`${individuals.birthDate}`, type: 'date', nullable: true },
    ),
    p('gender', 'token', 'male | female | other | unknown (system http://hl7.org/fhir/administrative-gender).', (v) => {
      const code = codeIn(parseToken(v, 'gender'), ADMINISTRATIVE_GENDER);
      if (code !== undefined && !GENDERS.includes(code)) throw badRequest(`gender: "${code}" is not an AdministrativeGender code`, ['gender']);
      return code === undefined ? NOTHING : eq(individuals.sex, code);
    }),
    p('address', 'string', 'Name of the area the person lives in or of any area above it.', addressCondition, STRING_MODIFIERS),
    p('deceased', 'token', 'true: a date of death is recorded; false: none is.', (v) => {
      const code = parseToken(v, 'deceased').code;
      if (code !== 'true' && code !== 'false') throw badRequest('deceased must be true or false', ['deceased']);
      return code === 'true' ? isNotNull(individuals.deathDate) : isNull(individuals.deathDate);
    }),
  ];
}
