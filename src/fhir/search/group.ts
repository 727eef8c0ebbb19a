import { and, eq, sql, type SQL } from 'drizzle-orm';
import { groupMembers, groups } from '../../db/schema/index.js';
import { CODE_SYSTEM, IDENTIFIER_SYSTEM } from '../canonical.js';
import { commonParameters, NOTHING } from './common.js';
import { referencedId } from './lookups/reference.js';
import { codeIn, parseToken } from './lookups/token.js';
import { r4Definition, type SearchParameter } from './parameter.js';
import { badRequest } from '../outcome.js';

function identifierCondition(value: string): SQL {
  const token = parseToken(value, 'identifier');
  if (token.system !== undefined && token.system !== IDENTIFIER_SYSTEM.householdCode) return NOTHING;
  return token.code === undefined ? sql`true` : eq(groups.code, token.code);
}

const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * `characteristic-value=[system|]name$value` (R4 composite of characteristic and value): the household attribute
 * `name` holds `value` — as text, as the boolean true/false, as a number, or as an item of a list.
 */
function characteristicValueCondition(raw: string): SQL {
  const dollar = raw.indexOf('$');
  if (dollar <= 0 || dollar === raw.length - 1) throw badRequest('characteristic-value takes characteristic$value', ['characteristic-value']);
  const name = codeIn(parseToken(raw.slice(0, dollar), 'characteristic-value'), CODE_SYSTEM.groupAttribute);
  // The values carry no system: a value with one matches nothing.
  const value = codeIn(parseToken(raw.slice(dollar + 1), 'characteristic-value'), undefined);
  if (name === undefined || !ATTRIBUTE_NAME.test(name) || value === undefined) return NOTHING;
  const candidates: unknown[] = [value];
  if (value === 'true' || value === 'false') candidates.push(value === 'true');
  if (/^-?\d{1,15}(\.\d{1,15})?$/.test(value)) candidates.push(Number(value));
  // Containment (@>) is what the jsonb_path_ops index on attributes serves.
  const tests = candidates.flatMap((c) => [{ [name]: c }, { [name]: [c] }]).map((json) => sql`${groups.attributes} @> ${JSON.stringify(json)}::jsonb`);
  return sql`(${sql.join(tests, sql` OR `)})`;
}

/** Search parameters of Group, over the groups table. */
export function groupParameters(): SearchParameter[] {
  return [
    ...commonParameters(groups.id, groups.updatedAt),
    {
      code: 'identifier',
      type: 'token',
      definition: r4Definition('Group', 'identifier'),
      documentation: `Household code (system ${IDENTIFIER_SYSTEM.householdCode}).`,
      toSql: identifierCondition,
    },
    {
      code: 'code',
      type: 'token',
      definition: r4Definition('Group', 'code'),
      documentation: `Kind of group, e.g. household (system ${CODE_SYSTEM.groupKind}).`,
      toSql: (value) => {
        const code = codeIn(parseToken(value, 'code'), CODE_SYSTEM.groupKind);
        return code === undefined ? NOTHING : eq(groups.kind, code);
      },
    },
    {
      code: 'member',
      type: 'reference',
      definition: r4Definition('Group', 'member'),
      documentation: 'A current member: Patient/{id}.',
      toSql: (value) => {
        const id = referencedId(value, 'Patient', 'member');
        if (id === null) return NOTHING;
        return sql`${groups.id} IN (SELECT ${groupMembers.groupId} FROM ${groupMembers}
          WHERE ${and(eq(groupMembers.individualId, id), sql`${groupMembers.endDate} IS NULL`)})`;
      },
    },
    {
      code: 'characteristic-value',
      type: 'composite',
      definition: r4Definition('Group', 'characteristic-value'),
      documentation: `A household attribute and its value, attribute$value (e.g. water_source$borehole, electricity$true, rooms$3); the attribute's system is ${CODE_SYSTEM.groupAttribute}.`,
      toSql: characteristicValueCondition,
    },
  ];
}
