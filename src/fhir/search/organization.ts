import { eq, sql, type SQL } from 'drizzle-orm';
import { organizations } from '../../db/schema/index.js';
import { organizationIdentifierMatch } from '../../programmes/organizations.js';
import { CODE_SYSTEM } from '../canonical.js';
import { badRequest } from '../outcome.js';
import { commonParameters, NOTHING } from './common.js';
import { STRING_MODIFIERS, stringMatches } from './lookups/string.js';
import { codeIn, parseToken } from './lookups/token.js';
import { r4Definition, type SearchParameter } from './parameter.js';

const TYPES = ['programme-operator', 'payment-provider', 'government'];

function identifierCondition(value: string): SQL {
  const token = parseToken(value, 'identifier');
  // Every identifier held has a system: `|value` matches nothing.
  if (token.system === '') return NOTHING;
  return organizationIdentifierMatch({
    ...(token.system !== undefined ? { system: token.system } : {}),
    ...(token.code !== undefined ? { value: token.code } : {}),
  });
}

/** Search parameters of Organization, over the organizations table. */
export function organizationParameters(): SearchParameter[] {
  return [
    ...commonParameters(organizations.id, organizations.updatedAt),
    {
      code: 'identifier',
      type: 'token',
      definition: r4Definition('Organization', 'identifier'),
      documentation: 'An identifier: system|value, system| or value alone.',
      toSql: identifierCondition,
    },
    {
      code: 'name',
      type: 'string',
      definition: r4Definition('Organization', 'name'),
      documentation: 'Name (starts with, case- and accent-insensitive; :exact, :contains). Sortable.',
      modifiers: STRING_MODIFIERS,
      sort: { expression: sql`lower(${organizations.name})`, type: 'text', nullable: false },
      toSql: (value, modifier) => stringMatches(sql`${organizations.name}`, value, modifier),
    },
    {
      code: 'type',
      type: 'token',
      definition: r4Definition('Organization', 'type'),
      documentation: `programme-operator | payment-provider | government (system ${CODE_SYSTEM.organizationType}).`,
      toSql: (value) => {
        const code = codeIn(parseToken(value, 'type'), CODE_SYSTEM.organizationType);
        if (code !== undefined && !TYPES.includes(code)) throw badRequest(`type: "${code}" is not an organization-type code`, ['type']);
        return code === undefined ? NOTHING : eq(organizations.type, code);
      },
    },
    {
      code: 'active',
      type: 'token',
      definition: r4Definition('Organization', 'active'),
      documentation: 'true or false.',
      toSql: (value) => {
        const code = parseToken(value, 'active').code;
        if (code !== 'true' && code !== 'false') throw badRequest('active must be true or false', ['active']);
        return eq(organizations.active, code === 'true');
      },
    },
  ];
}
