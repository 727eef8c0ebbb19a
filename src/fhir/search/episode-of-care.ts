import { eq, sql, type SQL } from 'drizzle-orm';
import { beneficiaries, programmes } from '../../db/schema/index.js';
import { enrolmentColumns } from '../../programmes/enrolments.js';
import type { BeneficiaryStatus } from '../../programmes/schemas.js';
import { CODE_SYSTEM, EPISODE_OF_CARE_STATUS, SEARCH_PARAMETER } from '../canonical.js';
import { EPISODE_STATUS } from '../mappers/episode-of-care.js';
import { badRequest } from '../outcome.js';
import { commonParameters, NOTHING } from './common.js';
import { referencedId } from './lookups/reference.js';
import { codeIn, parseToken } from './lookups/token.js';
import { r4Definition, type SearchParameter } from './parameter.js';

const STATUS_OF = new Map(Object.entries(EPISODE_STATUS).map(([registry, fhir]) => [fhir as string, registry as BeneficiaryStatus]));

/**
 * The enrolments whose person is this Patient: their own, or a household's they stand for. The subject test
 * (the person or one of their current households) lets the index on beneficiaries.subject_id find the few
 * candidates before the representative is compared.
 */
function patientCondition(id: string): SQL {
  return sql`(${beneficiaries.subjectId} = ${id} OR ${beneficiaries.subjectId} IN (
      SELECT group_id FROM group_members WHERE individual_id = ${id} AND end_date IS NULL))
    AND ${enrolmentColumns.personId} = ${id}`;
}

/** `Patient/{id}`, `Group/{id}` or a bare id: the enrolled subject itself. */
function beneficiaryCondition(value: string): SQL {
  const type = /(?:^|\/)(Patient|Group)\/[^/]+$/.exec(value)?.[1];
  const id = referencedId(value, type ?? 'Patient', 'beneficiary');
  if (id === null) return NOTHING;
  const subject = type === undefined ? undefined : type === 'Patient' ? 'individual' : 'group';
  return subject === undefined
    ? eq(beneficiaries.subjectId, id)
    : sql`${beneficiaries.subjectId} = ${id} AND ${programmes.subject} = ${subject}`;
}

/** Search parameters of EpisodeOfCare, over beneficiaries joined to their programme and subject. */
export function episodeOfCareParameters(): SearchParameter[] {
  return [
    ...commonParameters(beneficiaries.id, beneficiaries.updatedAt),
    {
      code: 'patient',
      type: 'reference',
      definition: r4Definition('clinical', 'patient'),
      documentation: 'The person enrolled, or who stands for the enrolled household (its head): Patient/{id}.',
      toSql: (value) => {
        const id = referencedId(value, 'Patient', 'patient');
        return id === null ? NOTHING : patientCondition(id);
      },
    },
    {
      code: 'beneficiary',
      type: 'reference',
      definition: SEARCH_PARAMETER.episodeOfCareBeneficiary,
      documentation: 'The enrolled subject itself: Patient/{id} (individual programmes) or Group/{id} (household programmes).',
      toSql: beneficiaryCondition,
    },
    {
      code: 'status',
      type: 'token',
      definition: r4Definition('EpisodeOfCare', 'status'),
      documentation: 'planned (POTENTIAL) | active (ACTIVE) | onhold (SUSPENDED) | finished (GRADUATED).',
      toSql: (value) => {
        const code = codeIn(parseToken(value, 'status'), EPISODE_OF_CARE_STATUS);
        if (code === undefined) return NOTHING;
        const status = STATUS_OF.get(code);
        // waitlist, cancelled, entered-in-error are valid codes no enrolment ever has.
        if (status === undefined) {
          if (['waitlist', 'cancelled', 'entered-in-error'].includes(code)) return NOTHING;
          throw badRequest(`status: "${code}" is not an EpisodeOfCareStatus code`, ['status']);
        }
        return eq(beneficiaries.status, status);
      },
    },
    {
      code: 'type',
      type: 'token',
      definition: r4Definition('EpisodeOfCare', 'type'),
      documentation: `The programme, by code (system ${CODE_SYSTEM.programme}).`,
      toSql: (value) => {
        const code = codeIn(parseToken(value, 'type'), CODE_SYSTEM.programme);
        return code === undefined ? NOTHING : eq(programmes.code, code);
      },
    },
    {
      code: 'organization',
      type: 'reference',
      definition: r4Definition('EpisodeOfCare', 'organization'),
      documentation: "The programme's operator: Organization/{id}.",
      toSql: (value) => {
        const id = referencedId(value, 'Organization', 'organization');
        return id === null ? NOTHING : eq(programmes.operatorId, id);
      },
    },
  ];
}
