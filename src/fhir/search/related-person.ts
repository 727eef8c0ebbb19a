import { eq } from 'drizzle-orm';
import { individuals } from '../../db/schema/index.js';
import { relationshipColumns } from '../../registry/relationships.js';
import { commonParameters, NOTHING } from './common.js';
import { referencedId } from './lookups/reference.js';
import { r4Definition, type SearchParameter } from './parameter.js';

/** Search parameters of RelatedPerson, over current household memberships (_lastUpdated: the member's record). */
export function relatedPersonParameters(): SearchParameter[] {
  return [
    ...commonParameters(relationshipColumns.id, individuals.updatedAt),
    {
      code: 'patient',
      type: 'reference',
      definition: r4Definition('RelatedPerson', 'patient'),
      documentation: 'The head of household the person is related to: Patient/{id}.',
      toSql: (value) => {
        const id = referencedId(value, 'Patient', 'patient');
        return id === null ? NOTHING : eq(relationshipColumns.headId, id);
      },
    },
  ];
}
