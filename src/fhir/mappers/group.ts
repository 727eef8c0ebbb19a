import type { Group, GroupMember } from '@medplum/fhirtypes';
import type { Group as Household, Member } from '../../registry/schemas.js';
import { CODE_SYSTEM, EXTENSION, IDENTIFIER_SYSTEM, PROFILE } from '../canonical.js';
import { metaOf } from './meta.js';

function memberOf(member: Member): GroupMember {
  return {
    extension: [
      {
        url: EXTENSION.householdRole,
        valueCodeableConcept: { coding: [{ system: CODE_SYSTEM.householdRole, code: member.role }] },
      },
    ],
    entity: { reference: `Patient/${member.individual_id}`, display: `${member.given_name} ${member.family_name}` },
    ...(member.start_date || member.end_date
      ? { period: { ...(member.start_date ? { start: member.start_date } : {}), ...(member.end_date ? { end: member.end_date } : {}) } }
      : {}),
    inactive: member.end_date !== null,
  };
}

/**
 * A household as a FHIR R4 Group (profile hub-household), as openIMIS maps a Family: type person, actual, the
 * member count as quantity, members by reference with their household role as an extension.
 */
export function toGroup(household: Household): Group {
  return {
    resourceType: 'Group',
    id: household.id,
    meta: metaOf(household, PROFILE.Group),
    ...(household.location_id
      ? { extension: [{ url: EXTENSION.groupLocation, valueReference: { reference: `Location/${household.location_id}` } }] }
      : {}),
    identifier: [{ use: 'official', system: IDENTIFIER_SYSTEM.householdCode, value: household.code }],
    active: true,
    type: 'person',
    actual: true,
    code: { coding: [{ system: CODE_SYSTEM.groupKind, code: household.kind }] },
    ...(household.name ? { name: household.name } : {}),
    quantity: household.members.length,
    ...(household.members.length > 0 ? { member: household.members.map(memberOf) } : {}),
  };
}
