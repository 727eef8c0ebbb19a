import { civilEventType } from '../../dci/crvs-registry.js';
import { REGISTRATION_NUMBER_TYPE } from '../../dci/crvs-records.js';
import type { CivilEventType } from '../../registry/civil-event-schemas.js';
import type { Identifier } from '../../registry/schemas.js';
import type { ReportedVitalEvent } from '../../registry/vital-event-intake.js';

type Json = Record<string, unknown>;

/** Identifier types CRVS systems use (OpenCRVS's short forms), ours on the right; a registry's own mapping comes first. */
const DEFAULT_TYPES: Record<string, string> = { NID: 'NIN', BRN: 'BIRTH_REG_NO', DRN: 'DEATH_REG_NO', MRN: 'MARRIAGE_REG_NO' };
const REGISTRATION_TYPES = new Set(Object.values(REGISTRATION_NUMBER_TYPE));
const SEXES = ['male', 'female', 'other'];

const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : undefined);
const day = (v: unknown) => {
  const s = text(v);
  return s && /^\d{4}-\d{2}-\d{2}/.test(s) ? s.slice(0, 10) : undefined;
};

/** `{identifier_type, identifier_value}` (the spec), `{type, value}` (OpenCRVS), `{identifier_type, identifier}` (OpenCRVS parents). */
function identifierOf(raw: unknown, types: Record<string, string>): Identifier | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Json;
  const rawType = text(r.identifier_type) ?? text(r.type);
  const value = text(r.identifier_value) ?? text(r.identifier) ?? text(r.value);
  if (!rawType || !value) return undefined;
  const upper = rawType.split(':').pop()!.toUpperCase();
  const type = types[rawType] ?? types[upper] ?? DEFAULT_TYPES[upper] ?? upper;
  return /^[A-Z][A-Z0-9_]{0,31}$/.test(type) ? { type, value } : undefined;
}

const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/**
 * One record of a CRVS answer or notification as the vital event it reports: our own CRVS Person, the spec's
 * example shape, or OpenCRVS's (top-level names, `birthdate`/`deathdate`, BRN/DRN identifiers). Undefined when it
 * does not say which registration it is (no registration number), since it could then not be applied only once.
 */
export function reportedEvent(record: Json, regEventType: unknown, mapping: Record<string, string> = {}): ReportedVitalEvent | undefined {
  const ids = list(record.identifier).flatMap((i) => identifierOf(i, mapping) ?? []);
  const events = list(record.vital_events) as Json[];
  const eventType = (civilEventType(regEventType) ?? civilEventType(events[events.length - 1]?.event_type)) as CivilEventType | undefined;
  if (!eventType) return undefined;
  const described = [...events].reverse().find((e) => civilEventType(e.event_type) === eventType);
  const registrationNumber = text(described?.registration_number) ?? ids.find((i) => i.type === REGISTRATION_NUMBER_TYPE[eventType])?.value;
  if (!registrationNumber) return undefined;
  const name = (record.name ?? {}) as Json;
  const birthDate = day(record.birth_date) ?? day(record.birthdate) ?? day(record.birthDate);
  const deathDate = day(record.death_date) ?? day(record.deathdate) ?? day(record.deathDate);
  const eventDate = day(described?.event_date) ?? (eventType === 'death' ? deathDate : eventType === 'birth' ? birthDate : undefined);
  if (!eventDate) return undefined;
  const sex = text(record.sex)?.toLowerCase();
  const parents = (
    [
      ['mother', record.parent1_identifier],
      ['father', record.parent2_identifier],
    ] as const
  ).flatMap(([role, raw]) => {
    const id = identifierOf(raw, mapping);
    return id ? [{ role, identifiers: [id] }] : [];
  });
  return {
    eventType,
    registrationNumber,
    eventDate,
    ...(day(described?.registration_date) ? { registrationDate: day(described?.registration_date) } : {}),
    person: {
      identifiers: ids.filter((i) => !REGISTRATION_TYPES.has(i.type)),
      given_name: text(name.given_name) ?? text(record.given_name) ?? 'Unknown',
      family_name: text(name.surname) ?? text(record.family_name) ?? text(record.surname) ?? 'Unknown',
      sex: (sex && SEXES.includes(sex) ? sex : 'unknown') as ReportedVitalEvent['person']['sex'],
      ...(birthDate ? { birth_date: birthDate } : {}),
    },
    parents,
    payload: record,
  };
}

/** The events of a search_response or notify_event item's `data` (its reg_records one record or a list). */
export function reportedEvents(data: unknown, mapping: Record<string, string> = {}): ReportedVitalEvent[] {
  if (typeof data !== 'object' || data === null) return [];
  const d = data as Json;
  return list(d.reg_records).flatMap((r) => (typeof r === 'object' && r !== null ? (reportedEvent(r as Json, d.reg_event_type, mapping) ?? []) : []));
}
