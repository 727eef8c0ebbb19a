import type { EpisodeOfCare, EpisodeOfCareStatusHistory } from '@medplum/fhirtypes';
import type { Enrolment } from '../../programmes/enrolments.js';
import type { BeneficiaryStatus } from '../../programmes/schemas.js';
import { CODE_SYSTEM, EXTENSION, PROFILE } from '../canonical.js';
import { metaOf } from './meta.js';

type EpisodeStatus = EpisodeOfCare['status'];

/**
 * Beneficiary status → EpisodeOfCare.status, one to one (so the mapping loses nothing): a potential beneficiary
 * is `planned` (assessed, not yet receiving), active is `active`, suspended is `onhold` (may resume), graduated
 * is `finished`.
 */
export const EPISODE_STATUS: Record<BeneficiaryStatus, EpisodeStatus> = {
  POTENTIAL: 'planned',
  ACTIVE: 'active',
  SUSPENDED: 'onhold',
  GRADUATED: 'finished',
};

/**
 * A beneficiary as a FHIR R4 EpisodeOfCare (profile hub-programme-enrolment): `type` the programme, `patient` the
 * person enrolled (for a household programme its representative, with the household in the enrolled-group
 * extension), `managingOrganization` the programme's operator, `period` from enrolment to graduation and
 * `statusHistory` every earlier status with the time it held.
 */
export function toEpisodeOfCare(enrolment: Enrolment): EpisodeOfCare {
  const moves = enrolment.history;
  const statusHistory: EpisodeOfCareStatusHistory[] = moves.slice(0, -1).map((move, i) => ({
    status: EPISODE_STATUS[move.to],
    period: { start: move.at, end: moves[i + 1]!.at },
  }));
  const start = moves[0]?.at ?? enrolment.created_at;
  const end = enrolment.status === 'GRADUATED' ? (moves[moves.length - 1]?.at ?? enrolment.updated_at) : undefined;
  return {
    resourceType: 'EpisodeOfCare',
    id: enrolment.id,
    meta: metaOf(enrolment, PROFILE.EpisodeOfCare),
    ...(enrolment.programme.subject === 'group'
      ? { extension: [{ url: EXTENSION.enrolledGroup, valueReference: { reference: `Group/${enrolment.subject_id}` } }] }
      : {}),
    status: EPISODE_STATUS[enrolment.status],
    ...(statusHistory.length > 0 ? { statusHistory } : {}),
    type: [{ coding: [{ system: CODE_SYSTEM.programme, code: enrolment.programme.code, display: enrolment.programme.name }] }],
    patient: { reference: `Patient/${enrolment.person_id}` },
    ...(enrolment.programme.operator_id ? { managingOrganization: { reference: `Organization/${enrolment.programme.operator_id}` } } : {}),
    period: { start, ...(end ? { end } : {}) },
  };
}
