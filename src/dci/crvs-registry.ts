import { sql, type SQL } from 'drizzle-orm';
import type { DciConfig } from '../config.js';
import { individuals } from '../db/schema/index.js';
import { ItemRejection } from './codes.js';
import { attributeFor, comparing, IDENTIFIER_TYPE, type Attribute } from './criteria/attributes.js';
import { inLocation } from './criteria/compile.js';
import type { Operator, Scalar } from './criteria/model.js';
import { compileIdTypeValue } from './criteria/idtype-value.js';
import { crvsPersonRecords, vitalEvent } from './crvs-records.js';
import type { DciRegistry, RecordKind } from './registry.js';

/** The names partners give vital events (the spec's VitalEvents, the registry-event style, OpenCRVS's), ours on the right. */
const EVENT_NAMES: Record<string, string> = {
  livebirth: 'birth',
  birth: 'birth',
  death: 'death',
  fetaldeath: 'fetal_death',
  marriage: 'marriage',
  divorce: 'divorce',
  adoption: 'adoption',
};

/** Our civil event type from `live_birth`, `spdci-common:RegistryEventType:LiveBirth`, `{value: "death"}` …; case-insensitive. */
export function civilEventType(value: unknown): string | undefined {
  const raw = typeof value === 'object' && value !== null ? (value as { value?: unknown }).value : value;
  if (typeof raw !== 'string') return undefined;
  return EVENT_NAMES[raw.split(':').pop()!.toLowerCase().replace(/[_\s-]/g, '')];
}

/** Identifier types naming a registration number, and the event they number (ours, and OpenCRVS's short forms). */
const REGISTRATION_TYPES: Record<string, string> = {
  BIRTH_REG_NO: 'birth',
  BRN: 'birth',
  DEATH_REG_NO: 'death',
  DRN: 'death',
  MARRIAGE_REG_NO: 'marriage',
  MRN: 'marriage',
  DIVORCE_REG_NO: 'divorce',
  ADOPTION_REG_NO: 'adoption',
  FETAL_DEATH_REG_NO: 'fetal_death',
};

/** Identifier types other registries use for ours. */
const IDENTIFIER_ALIASES: Record<string, string> = { NID: 'NIN' };

const bad = (why: string) => new ItemRejection('rjct.search_criteria.invalid', why);

/** The person's events (of one type when given), newest registration first. */
const eventsOf = (eventType: string | undefined) =>
  sql`FROM civil_events e WHERE e.subject_id = ${individuals.id}${eventType ? sql` AND e.event_type = ${eventType}` : sql``}`;

const latest = (column: SQL, eventType: string | undefined) =>
  sql`(SELECT ${column} ${eventsOf(eventType)} ORDER BY e.registration_date DESC, e.recorded_at DESC LIMIT 1)`;

/**
 * CRVS query attributes: the registration's own (date, event date, place), the places of birth and death, and
 * registration numbers; everything else is the person's, as the Social Registry has them (identifiers such as UIN
 * and NIN, sex/gender, date_of_birth, date_of_death, age, residence location …). With an event type (the search's
 * reg_event_type, a subscription's event) the registration attributes read that event, else the latest one.
 */
function crvsAttribute(name: string, eventType: string | undefined, config: DciConfig): Attribute | undefined {
  const registered = (type: string) => sql`(SELECT min(e.registration_number) ${eventsOf(type)})`;
  // The people with a registration (of the type) whose column compares: the civil_events indexes find them.
  const registrants = (type: string | undefined, ops: readonly Operator[], where: (values: Scalar[], op: Operator) => SQL) =>
    type === undefined ? undefined : (op: Operator, values: Scalar[]) =>
      ops.includes(op) ? sql`SELECT e.subject_id FROM civil_events e WHERE e.event_type = ${type} AND ${where(values, op)}` : undefined;
  const placed = (type: string | undefined) =>
    registrants(type, ['eq', 'in'], (codes) => inLocation(sql`e.place_id`, codes));
  const ATTRIBUTES: Record<string, Attribute> = {
    registration_date: {
      sql: latest(sql`e.registration_date`, eventType),
      type: 'date',
      candidates: registrants(eventType, ['eq', 'in', 'lt', 'lte', 'gt', 'gte'], (values, op) => comparing(sql`e.registration_date`, op, values)),
    },
    event_date: { sql: latest(sql`e.event_date`, eventType), type: 'date' },
    place: { sql: latest(sql`e.place_id`, eventType), type: 'location', candidates: placed(eventType) },
    birth_place: { sql: latest(sql`e.place_id`, 'birth'), type: 'location', candidates: placed('birth') },
    death_place: { sql: latest(sql`e.place_id`, 'death'), type: 'location', candidates: placed('death') },
    date_of_death: { sql: sql`${individuals.deathDate}`, type: 'date' },
  };
  const upper = name.toUpperCase();
  if (REGISTRATION_TYPES[upper]) {
    const type = REGISTRATION_TYPES[upper];
    return {
      sql: registered(type),
      type: 'text',
      candidates: registrants(type, ['eq', 'in'], (values) => comparing(sql`e.registration_number`, 'in', values)),
    };
  }
  return ATTRIBUTES[name] ?? attributeFor('Member', IDENTIFIER_ALIASES[name] ?? name, config);
}

/** `idtype-value`: a registration number finds the person it registers; any other identifier, its holder. */
function idTypeValue(query: unknown): SQL {
  const q = query as { type?: unknown; value?: unknown } | null;
  if (typeof q !== 'object' || q === null || typeof q.type !== 'string') throw bad('an idtype-value query is {type, value}');
  if (typeof q.value !== 'string' && typeof q.value !== 'number') throw bad('the identifier value must be a string or number');
  const type = q.type.toUpperCase();
  const eventType = REGISTRATION_TYPES[type];
  if (eventType) {
    return sql`${individuals.id} IN (SELECT e.subject_id FROM civil_events e WHERE e.event_type = ${eventType} AND e.registration_number = ${String(q.value)})`;
  }
  if (!IDENTIFIER_TYPE.test(IDENTIFIER_ALIASES[type] ?? type)) throw bad(`${q.type} is not an identifier type`);
  return compileIdTypeValue('Member', { type: IDENTIFIER_ALIASES[type] ?? type, value: q.value });
}

function person(eventType: string | undefined, config: DciConfig): RecordKind {
  return {
    name: 'Person',
    regRecordType: 'spdci-extensions-dci:Person',
    table: individuals,
    changeEntity: 'individual',
    // The CRVS knows people through their registrations: someone with no civil event is not one of its records.
    scope: sql`EXISTS (SELECT 1 ${eventsOf(eventType)})`,
    attributes: { label: 'CRVS Person', table: individuals, resolve: (name) => crvsAttribute(name, eventType, config) },
    idTypeValue,
    records: (db, _actor, ids) => crvsPersonRecords(db, ids),
  };
}

/** The DCI CRVS: people with their vital events (CRVS Person records), notified of new registrations. */
export const crvsRegistry: DciRegistry = {
  name: 'crvs',
  spec: 'crvs',
  defaultRegType: 'ns:org:RegistryType:Civil',
  recordsFor: (hints, config) => person(hints.eventType, config),
  // CRVS clients (the spec's samples, OpenCRVS) name the vital event in search_criteria.reg_event_type.
  searchHints: (criteria) => ({ eventType: civilEventType(criteria.reg_event_type) }),
  subscriptionEvent: civilEventType,
  eventNames: ['live_birth', 'death', 'fetal_death', 'marriage', 'divorce', 'adoption'],
  notifyEventType: vitalEvent,
  subscriptionRecords: (_notifyRecordType, event, config) => person(event, config),
};
