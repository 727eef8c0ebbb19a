import { and, eq, sql, type SQL } from 'drizzle-orm';
import { groupMembers, groups } from '../../db/schema/index.js';
import { CODE_SYSTEM, IDENTIFIER_SYSTEM } from '../canonical.js';
import { commonParameters, NOTHING } from './common.js';
import { referencedId } from './lookups/reference.js';
import { codeIn, parseToken } from './lookups/token.js';
import { r4Definition, type SearchParameter } from './parameter.js';

function identifierCondition(value: string): SQL {
  const token = parseToken(value, 'identifier');
  if (token.system !== undefined && token.system !== IDENTIFIER_SYSTEM.householdCode) return NOTHING;
  return token.code === undefined ? sql`true` : eq(groups.code, token.code);
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
  ];
}
