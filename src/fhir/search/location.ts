import { eq, sql, type SQL } from 'drizzle-orm';
import { locations } from '../../db/schema/index.js';
import { IDENTIFIER_SYSTEM } from '../canonical.js';
import { commonParameters, NOTHING } from './common.js';
import { referencedId } from './lookups/reference.js';
import { STRING_MODIFIERS, stringMatches } from './lookups/string.js';
import { parseToken } from './lookups/token.js';
import { r4Definition, type SearchParameter } from './parameter.js';

function identifierCondition(value: string): SQL {
  const token = parseToken(value, 'identifier');
  if (token.system !== undefined && token.system !== IDENTIFIER_SYSTEM.locationCode) return NOTHING;
  return token.code === undefined ? sql`true` : eq(locations.code, token.code);
}

/** Search parameters of Location, over the admin-area tree. */
export function locationParameters(): SearchParameter[] {
  return [
    ...commonParameters(locations.id, locations.updatedAt),
    {
      code: 'identifier',
      type: 'token',
      definition: r4Definition('Location', 'identifier'),
      documentation: `Area code (system ${IDENTIFIER_SYSTEM.locationCode}).`,
      toSql: identifierCondition,
    },
    {
      code: 'name',
      type: 'string',
      definition: r4Definition('Location', 'name'),
      documentation: 'Area name (starts with, case- and accent-insensitive; :exact, :contains).',
      modifiers: STRING_MODIFIERS,
      toSql: (value, modifier) => stringMatches(sql`${locations.name}`, value, modifier),
    },
    {
      code: 'partof',
      type: 'reference',
      definition: r4Definition('Location', 'partof'),
      documentation: 'The parent area: Location/{id}.',
      toSql: (value) => {
        const id = referencedId(value, 'Location', 'partof');
        return id === null ? NOTHING : eq(locations.parentId, id);
      },
    },
  ];
}
