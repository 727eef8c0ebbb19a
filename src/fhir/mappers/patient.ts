import type { ContactPoint, HumanName, Identifier, Patient } from '@medplum/fhirtypes';
import type { AreaName } from '../../registry/location-ancestry.js';
import type { Individual, IndividualInput } from '../../registry/schemas.js';
import { CODE_SYSTEM, PROFILE } from '../canonical.js';
import type { IdentifierSystems } from '../identifier-systems.js';
import { invalidResource } from '../outcome.js';
import { addressOf } from './address.js';
import { metaOf } from './meta.js';

const GENDERS: string[] = ['male', 'female', 'other', 'unknown'];

/**
 * A registry individual as a FHIR R4 Patient (profile hub-patient). `replaces` are the records merged into this
 * one (its duplicates), linked as R4 asks of a surviving record.
 */
export function toPatient(person: Individual, areas: AreaName[], systems: IdentifierSystems, replaces: string[] = []): Patient {
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
    ...(replaces.length > 0 ? { link: replaces.map((id) => ({ other: { reference: `Patient/${id}` }, type: 'replaces' as const })) } : {}),
  };
}

const FULL_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A Patient as registry input (create or full update). The registry keeps what it can store: the official (or
 * first) name, gender, full dates, the first phone and email, identifiers whose system names a registry type.
 * Address is read-only (derived from the person's location, set through the admin API); other elements are not
 * stored. Anything the registry cannot hold exactly is refused with 422 naming the element, not silently changed.
 */
export function fromPatient(patient: Patient, systems: IdentifierSystems): IndividualInput {
  const names = patient.name ?? [];
  const index = Math.max(0, names.findIndex((n) => n.use === 'official'));
  const name = names[index];
  const path = `Patient.name[${index}]`;
  if (!name?.family) throw invalidResource('the registry needs a family name', `${path}.family`);
  const [given, ...middle] = name.given ?? [];
  if (!given) throw invalidResource('the registry needs a given name', `${path}.given`);
  if (patient.gender !== undefined && !GENDERS.includes(patient.gender)) {
    throw invalidResource(`"${patient.gender}" is not an AdministrativeGender code`, 'Patient.gender');
  }
  if (patient.birthDate !== undefined && !FULL_DATE.test(patient.birthDate)) {
    throw invalidResource('the registry stores full birth dates (YYYY-MM-DD)', 'Patient.birthDate');
  }
  if (patient.deceasedBoolean === true) {
    throw invalidResource('the registry records a date of death: send deceasedDateTime', 'Patient.deceasedBoolean');
  }
  const death = patient.deceasedDateTime;
  if (death !== undefined && !/^\d{4}-\d{2}-\d{2}/.test(death)) {
    throw invalidResource('the registry stores the day of death: send at least YYYY-MM-DD', 'Patient.deceasedDateTime');
  }
  const identifiers = (patient.identifier ?? []).map((id, i) => {
    const type = id.system ? systems.typeOf(id.system) : undefined;
    if (!type) throw invalidResource(`identifier system ${id.system ?? '(none)'} is not one this registry knows`, `Patient.identifier[${i}].system`);
    if (!id.value) throw invalidResource('an identifier needs a value', `Patient.identifier[${i}].value`);
    return { type, value: id.value };
  });
  const telecom = patient.telecom ?? [];
  return {
    given_name: given,
    family_name: name.family,
    middle_name: middle.length > 0 ? middle.join(' ') : null,
    sex: (patient.gender ?? 'unknown') as IndividualInput['sex'],
    birth_date: patient.birthDate ?? null,
    death_date: death ? death.slice(0, 10) : null,
    phone: telecom.find((c) => c.system === 'phone')?.value ?? null,
    email: telecom.find((c) => c.system === 'email')?.value ?? null,
    identifiers,
  };
}
