import type { Coding, RelatedPerson } from '@medplum/fhirtypes';
import type { AreaName } from '../../registry/location-ancestry.js';
import type { Relationship } from '../../registry/relationships.js';
import { CODE_SYSTEM, PROFILE } from '../canonical.js';
import type { IdentifierSystems } from '../identifier-systems.js';
import { metaOf } from './meta.js';
import { toPatient } from './patient.js';

const V3_ROLE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';

/** Household roles with an HL7 v3 RoleCode meaning the same relation to the head; non_relative has none. */
const V3: Record<string, [string, string]> = {
  spouse: ['SPS', 'spouse'],
  child: ['CHILD', 'child'],
  parent: ['PRN', 'parent'],
  sibling: ['SIB', 'sibling'],
  grandchild: ['GRNDCHILD', 'grandchild'],
  grandparent: ['GRPRN', 'grandparent'],
  other_relative: ['FAMMEMB', 'family member'],
};

/**
 * A household member's relation to the head as a RelatedPerson: `patient` is the head, the person's details are
 * the member's (as in their Patient), `relationship` the household role in HL7 v3 terms and in ours. Its id is the
 * membership's; version and time are the member's record's.
 */
export function toRelatedPerson(relation: Relationship, areas: AreaName[], systems: IdentifierSystems): RelatedPerson {
  const person = toPatient(relation.person, areas, systems);
  const v3 = V3[relation.role];
  const coding: Coding[] = [
    ...(v3 ? [{ system: V3_ROLE, code: v3[0], display: v3[1] }] : []),
    { system: CODE_SYSTEM.householdRole, code: relation.role },
  ];
  return {
    resourceType: 'RelatedPerson',
    id: relation.id,
    meta: metaOf(relation.person, PROFILE.RelatedPerson),
    ...(person.identifier ? { identifier: person.identifier } : {}),
    active: true,
    patient: { reference: `Patient/${relation.head_id}` },
    relationship: [{ coding }],
    ...(person.name ? { name: person.name } : {}),
    ...(person.telecom ? { telecom: person.telecom } : {}),
    ...(person.gender ? { gender: person.gender } : {}),
    ...(person.birthDate ? { birthDate: person.birthDate } : {}),
    ...(person.address ? { address: person.address } : {}),
    ...(relation.start_date ? { period: { start: relation.start_date } } : {}),
  };
}
