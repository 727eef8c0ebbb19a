import { asc, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { civilEvents, individuals, type EventParty } from '../db/schema/index.js';
import { identifiersOf } from '../registry/individuals.js';
import { address, placesOf, type Place } from './records.js';

type Json = Record<string, unknown>;
type EventRow = typeof civilEvents.$inferSelect;

/** JSON-LD context of the CRVS records (the spec's CRVSPerson example). */
const CONTEXT = {
  '@vocab': 'https://schema.spdci.org/core/v1',
  spdci: 'https://schema.spdci.org/extensions/crvs/v1/',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  schema: 'http://schema.org/',
  rdfs: 'http://www.w3.org/2000/01/rdf-schema#',
};

/** The identifier type a registration number is published under, per event type. */
export const REGISTRATION_NUMBER_TYPE: Record<string, string> = {
  birth: 'BIRTH_REG_NO',
  death: 'DEATH_REG_NO',
  fetal_death: 'FETAL_DEATH_REG_NO',
  marriage: 'MARRIAGE_REG_NO',
  divorce: 'DIVORCE_REG_NO',
  adoption: 'ADOPTION_REG_NO',
};

/** The spec's VitalEvents value of each of our event types. */
export const VITAL_EVENT: Record<string, string> = { birth: 'live_birth' };
export const vitalEvent = (type: string) => VITAL_EVENT[type] ?? type;

const identifier = (type: string, value: string) => ({ '@type': 'Identifier', identifier_type: type, identifier_value: value });
const placeOf = (place: Place | undefined) => (place ? { '@type': 'Place', name: place.name, identifier: place.code } : undefined);

/** The identifier a party is known by: a registry person's UIN (else NIN, else any), or what the registration gave. */
function partyIdentifier(party: EventParty | undefined, held: Map<string, { type: string; value: string }[]>): Json | undefined {
  if (!party) return undefined;
  const list = party.individual_id ? (held.get(party.individual_id) ?? []) : (party.identifiers ?? []);
  const chosen = list.find((i) => i.type === 'UIN') ?? list.find((i) => i.type === 'NIN') ?? list[0];
  return chosen ? identifier(chosen.type, chosen.value) : undefined;
}

/**
 * CRVS Person records (the spec's CRVS_Person) for these ids, in order: identifiers including the registration
 * numbers of their vital events, name, sex, birth and death with their places, marriages and divorces, parents'
 * identifiers from the birth registration, residence; and `vital_events`, each registration (a hub extension that
 * names the event type, registration number and dates explicitly).
 */
export async function crvsPersonRecords(db: Db, ids: string[]): Promise<Json[]> {
  if (ids.length === 0) return [];
  const [people, events] = await Promise.all([
    db.select().from(individuals).where(inArray(individuals.id, ids)),
    db.select().from(civilEvents).where(inArray(civilEvents.subjectId, ids)).orderBy(asc(civilEvents.eventDate), asc(civilEvents.recordedAt)),
  ]);
  const partyIds = events.flatMap((e) => e.parties.flatMap((p) => (p.individual_id ? [p.individual_id] : [])));
  const [held, places] = await Promise.all([
    identifiersOf(db, [...new Set([...ids, ...partyIds])]),
    placesOf(db, [...people.map((p) => p.locationId), ...events.map((e) => e.placeId)]),
  ]);
  const byId = new Map<string, Json>();
  for (const row of people) {
    const own = events.filter((e) => e.subjectId === row.id);
    const of = (type: string) => own.filter((e) => e.eventType === type);
    const birth = of('birth')[0];
    const death = of('death')[0];
    const parent = (role: EventParty['role']) => partyIdentifier(birth?.parties.find((p) => p.role === role), held);
    const at = (e: EventRow | undefined) => (e?.placeId ? placeOf(places.get(e.placeId)) : undefined);
    const marriages = of('marriage').map((e) => e.eventDate);
    const divorces = of('divorce').map((e) => e.eventDate);
    const latestUnion = own.filter((e) => e.eventType === 'marriage' || e.eventType === 'divorce').pop();
    byId.set(row.id, {
      '@context': CONTEXT,
      '@id': `urn:uuid:${row.id}`,
      '@type': 'CRVS_Person',
      identifier: [
        ...(held.get(row.id) ?? []).map((i) => identifier(i.type, i.value)),
        ...own.map((e) => identifier(REGISTRATION_NUMBER_TYPE[e.eventType]!, e.registrationNumber)),
      ],
      name: { '@type': 'Name', given_name: row.givenName, surname: row.familyName, ...(row.middleName ? { second_name: row.middleName } : {}) },
      sex: row.sex,
      ...(row.birthDate ? { birth_date: row.birthDate } : {}),
      ...(at(birth) ? { birth_place: at(birth) } : {}),
      ...(row.deathDate ? { death_date: row.deathDate } : {}),
      ...(at(death) ? { death_place: at(death) } : {}),
      ...(address(row.locationId ? places.get(row.locationId) : undefined) ? { address: address(places.get(row.locationId!)) } : {}),
      ...(row.phone ? { phone_number: [row.phone] } : {}),
      ...(row.email ? { email: [row.email] } : {}),
      ...(latestUnion ? { marital_status: latestUnion.eventType === 'marriage' ? 'M' : 'D' } : {}),
      ...(marriages.length ? { marriage_date: marriages } : {}),
      ...(divorces.length ? { divorce_date: divorces } : {}),
      ...(parent('mother') ?? parent('parent') ? { parent1_identifier: parent('mother') ?? parent('parent') } : {}),
      ...(parent('father') ? { parent2_identifier: parent('father') } : {}),
      vital_events: own.map((e) => ({
        event_type: vitalEvent(e.eventType),
        registration_number: e.registrationNumber,
        event_date: e.eventDate,
        registration_date: e.registrationDate,
        ...(at(e) ? { place: at(e) } : {}),
        ...(e.source === 'local' ? {} : { source: e.source }),
      })),
    });
  }
  return ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
}
