import type { ContactPoint, HumanName, Identifier, Patient } from '@medplum/fhirtypes';
import type { AreaName } from '../../registry/location-ancestry.js';
import type { Individual } from '../../registry/schemas.js';
import { CODE_SYSTEM, PROFILE } from '../canonical.js';
import type { IdentifierSystems } from '../identifier-systems.js';
import { addressOf } from './address.js';
import { metaOf } from './meta.js';

/** A registry individual as a FHIR R4 Patient (profile hub-patient). */
export function toPatient(person: Individual, areas: AreaName[], systems: IdentifierSystems): Patient {
  const identifier: Identifier[] = person.identifiers.map((id) => ({
    use: 'official',
    type: { coding: [{ system: CODE_SYSTEM.identifierType, code: id.type }], text: id.type },
    system: systems.systemOf(id.type),
    value: id.value,
  }));
  const name: HumanName = {
    use: 'official',
    family: person.family_name,
    given: person.middle_name ? [person.given_name, person.middle_name] : [person.given_name],
  };
  const telecom: ContactPoint[] = [
    ...(person.phone ? [{ system: 'phone' as const, value: person.phone }] : []),
    ...(person.email ? [{ system: 'email' as const, value: person.email }] : []),
  ];
  const address = addressOf(areas);
  return {
    resourceType: 'Patient',
    id: person.id,
    meta: metaOf(person, PROFILE.Patient),
    ...(identifier.length > 0 ? { identifier } : {}),
    active: true,
    name: [name],
    ...(telecom.length > 0 ? { telecom } : {}),
    gender: person.sex,
    ...(person.birth_date ? { birthDate: person.birth_date } : {}),
    ...(person.death_date ? { deceasedDateTime: person.death_date } : {}),
    ...(address ? { address: [address] } : {}),
  };
}
