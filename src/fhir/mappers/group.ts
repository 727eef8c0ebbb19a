import type { Group, GroupCharacteristic, GroupMember } from '@medplum/fhirtypes';
import type { GroupInput, Group as Household, Member, MemberInput } from '../../registry/schemas.js';
import { CODE_SYSTEM, EXTENSION, IDENTIFIER_SYSTEM, PROFILE } from '../canonical.js';
import { isUuid } from '../../db/keyset.js';
import { invalidResource } from '../outcome.js';
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

/** FHIR `code` values: no leading, trailing or double whitespace. */
const CODE = /^[^\s]+( [^\s]+)*$/;

function characteristicValue(value: unknown): Omit<GroupCharacteristic, 'code' | 'exclude'> | undefined {
  if (typeof value === 'boolean') return { valueBoolean: value };
  if (typeof value === 'number' && Number.isFinite(value)) return { valueQuantity: { value } };
  if (typeof value === 'string' && value.trim() !== '') {
    return { valueCodeableConcept: { ...(CODE.test(value) && value.length <= 1000 ? { coding: [{ code: value }] } : {}), text: value } };
  }
  return undefined;
}

/**
 * Household attributes (rooms, water_source, electricity …) as characteristics, by name: a boolean as
 * valueBoolean, a number as valueQuantity, text as valueCodeableConcept (the text as its code), a list as one
 * characteristic per item. Nested objects and nulls have no characteristic form and are left out.
 */
export function characteristicsOf(attributes: Record<string, unknown>): GroupCharacteristic[] {
  return Object.keys(attributes)
    .sort()
    .flatMap((name) => {
      const raw = attributes[name];
      return (Array.isArray(raw) ? raw : [raw]).flatMap((item) => {
        const value = characteristicValue(item);
        return value ? [{ code: { coding: [{ system: CODE_SYSTEM.groupAttribute, code: name }] }, ...value, exclude: false }] : [];
      });
    });
}

/**
 * A household as a FHIR R4 Group (profile hub-household), as openIMIS maps a Family: type person, actual, the
 * member count as quantity, members by reference with their household role as an extension, the household's
 * attributes as characteristics.
 */
export function toGroup(household: Household): Group {
  const characteristics = characteristicsOf(household.attributes);
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
    ...(characteristics.length > 0 ? { characteristic: characteristics } : {}),
    ...(household.members.length > 0 ? { member: household.members.map(memberOf) } : {}),
  };
}

const ROLES: readonly string[] = ['head', 'spouse', 'child', 'parent', 'sibling', 'grandchild', 'grandparent', 'other_relative', 'non_relative'];
const FULL_DATE = /^\d{4}-\d{2}-\d{2}$/;

function memberInput(member: GroupMember, i: number): MemberInput {
  const path = `Group.member[${i}]`;
  const ref = /^Patient\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i.exec(member.entity.reference ?? '');
  if (!ref) throw invalidResource('a member must be a reference Patient/{id} to a person in this registry', `${path}.entity`);
  const roles = (member.extension ?? []).filter((e) => e.url === EXTENSION.householdRole);
  const role = roles[0]?.valueCodeableConcept?.coding?.find((c) => c.system === CODE_SYSTEM.householdRole)?.code;
  if (roles.length !== 1 || !role || !ROLES.includes(role)) {
    throw invalidResource(`a member needs exactly one household-role extension with a code from ${CODE_SYSTEM.householdRole}`, `${path}.extension`);
  }
  if (member.inactive === true || member.period?.end !== undefined) {
    throw invalidResource('only current members can be written: leave former members out', `${path}.period.end`);
  }
  const start = member.period?.start;
  if (start !== undefined && !FULL_DATE.test(start)) throw invalidResource('the registry stores full dates (YYYY-MM-DD)', `${path}.period.start`);
  return { individual_id: ref[1]!.toLowerCase(), role: role as MemberInput['role'], start_date: start ?? null };
}

/**
 * A Group as registry input (create or full update): a household is an actual group of persons; its code comes
 * from the household-code identifier (generated when absent), its kind from `code`, its location from the
 * group-location extension and its current members with their roles from `member`. `quantity` is derived, and
 * `characteristic` is read-only: attributes are set through the admin API and kept as they are by a FHIR write.
 */
export function fromGroup(group: Group): GroupInput {
  if (group.type !== 'person') throw invalidResource('a registry group is a group of persons (type person)', 'Group.type');
  if (group.actual !== true) throw invalidResource('a registry group is an actual group (actual true)', 'Group.actual');
  const code = group.identifier?.find((id) => id.system === IDENTIFIER_SYSTEM.householdCode)?.value;
  if (code !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(code)) {
    throw invalidResource('a household code has 1-64 letters, digits, dots, dashes or underscores', 'Group.identifier');
  }
  const kind = group.code?.coding?.find((c) => c.system === CODE_SYSTEM.groupKind)?.code;
  if (group.code !== undefined && (kind === undefined || !/^[a-z][a-z0-9_]{0,31}$/.test(kind))) {
    throw invalidResource(`Group.code needs a code from ${CODE_SYSTEM.groupKind}`, 'Group.code');
  }
  const locations = (group.extension ?? []).filter((e) => e.url === EXTENSION.groupLocation);
  let locationId: string | null = null;
  if (locations.length > 0) {
    const ref = /^Location\/(.+)$/.exec(locations[0]!.valueReference?.reference ?? '');
    if (locations.length > 1 || !ref || !isUuid(ref[1]!)) throw invalidResource('group-location takes one reference Location/{id}', 'Group.extension');
    locationId = ref[1]!.toLowerCase();
  }
  return {
    ...(code !== undefined ? { code } : {}),
    kind: kind ?? 'household',
    name: group.name ?? null,
    location_id: locationId,
    members: (group.member ?? []).map(memberInput),
  };
}
