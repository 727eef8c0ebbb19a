import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import type { Actor } from '../security/actor.js';
import { withinScope } from '../security/geo-scope.js';
import { groupMembers, groups, individuals, locations } from '../db/schema/index.js';
import { identifiersOf } from '../registry/individuals.js';

/** JSON-LD context of the spec's Social Registry records. */
const CONTEXT = {
  spdci: 'https://schema.spdci.org/extensions/social/v1/',
  rdfs: 'http://www.w3.org/2000/01/rdf-schema#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  owl: 'http://www.w3.org/2002/07/owl#',
  common: 'https://schema.spdci.org/common/v1/',
};

type PersonRow = typeof individuals.$inferSelect;
type GroupRow = typeof groups.$inferSelect;
export type Place = { code: string; name: string };
type Json = Record<string, unknown>;

const attributeList = (attributes: Record<string, unknown>) => Object.entries(attributes).map(([name, value]) => ({ name, value }));

export async function placesOf(db: Db, ids: (string | null)[]): Promise<Map<string, Place>> {
  const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
  if (wanted.length === 0) return new Map();
  const rows = await db.select({ id: locations.id, code: locations.code, name: locations.name }).from(locations).where(inArray(locations.id, wanted));
  return new Map(rows.map((r) => [r.id, { code: r.code, name: r.name }]));
}

export function address(place: Place | undefined): Json[] | undefined {
  return place ? [{ '@type': 'Address', locality: place.name, region_code: place.code }] : undefined;
}

/** The spec's SR Person: identifiers, name, sex, dates, address (our admin area), contact and custom attributes. */
function person(row: PersonRow, ids: { type: string; value: string }[], place: Place | undefined): Json {
  return {
    '@id': `urn:uuid:${row.id}`,
    '@type': 'spdci:SR_Person',
    identifier: ids.map((i) => ({ '@type': 'Identifier', identifier_type: i.type, identifier_value: i.value })),
    name: {
      '@type': 'Name',
      given_name: row.givenName,
      surname: row.familyName,
      ...(row.middleName ? { second_name: row.middleName } : {}),
    },
    sex: row.sex,
    ...(row.birthDate ? { birth_date: row.birthDate } : {}),
    is_deceased: row.deathDate !== null,
    ...(row.deathDate ? { death_date: row.deathDate } : {}),
    ...(address(place) ? { address: address(place) } : {}),
    ...(row.phone ? { phone_number: [row.phone] } : {}),
    ...(row.email ? { email: [row.email] } : {}),
    registration_date: row.createdAt.toISOString(),
    last_updated: row.updatedAt.toISOString(),
    ...(Object.keys(row.attributes).length > 0 ? { additional_attributes: attributeList(row.attributes) } : {}),
  };
}

async function peopleById(db: Db, ids: string[]): Promise<Map<string, Json>> {
  if (ids.length === 0) return new Map();
  const rows = await db.select().from(individuals).where(inArray(individuals.id, ids));
  const [idents, places] = await Promise.all([identifiersOf(db, ids), placesOf(db, rows.map((r) => r.locationId))]);
  return new Map(rows.map((r) => [r.id, person(r, idents.get(r.id) ?? [], r.locationId ? places.get(r.locationId) : undefined)]));
}

/** Person records for these ids, in the same order, for a Member search. */
export async function personRecords(db: Db, ids: string[]): Promise<Json[]> {
  const byId = await peopleById(db, ids);
  return ids.flatMap((id) => {
    const record = byId.get(id);
    return record ? [{ '@context': CONTEXT, ...record }] : [];
  });
}

/**
 * Group records (households) for these ids, in order: identifier (the household code), type, place, size, head and
 * current members, with configured custom attributes (poverty_score …) at the top level as the spec's Group has them.
 * Members located outside the partner's geographic scope are left out, as the admin API does.
 */
export async function groupRecords(
  db: Db,
  actor: Actor,
  ids: string[],
  topLevel: Record<string, { key: string; of?: string }>,
): Promise<Json[]> {
  if (ids.length === 0) return [];
  const rows = await db.select().from(groups).where(inArray(groups.id, ids));
  const members = await db
    .select({ groupId: groupMembers.groupId, individualId: groupMembers.individualId, role: groupMembers.role, startDate: groupMembers.startDate })
    .from(groupMembers)
    .innerJoin(individuals, eq(individuals.id, groupMembers.individualId))
    .where(
      and(
        inArray(groupMembers.groupId, ids),
        isNull(groupMembers.endDate),
        isNull(individuals.deletedAt),
        withinScope(actor, individuals.locationId),
      ),
    )
    .orderBy(asc(groupMembers.startDate), asc(groupMembers.individualId));
  const [people, places] = await Promise.all([
    peopleById(db, [...new Set(members.map((m) => m.individualId))]),
    placesOf(db, rows.map((r) => r.locationId)),
  ]);
  const byId = new Map<string, Json>();
  for (const g of rows) {
    const list = members
      .filter((m) => m.groupId === g.id)
      .map((m) => ({
        '@type': 'spdci:Member',
        '@id': `urn:uuid:${m.individualId}`,
        member_identifier: (people.get(m.individualId)?.identifier as Json[] | undefined) ?? [],
        demographic_info: people.get(m.individualId),
        relationship_head: m.role,
        ...(m.startDate ? { registration_date: m.startDate } : {}),
      }));
    const head = list.find((m) => m.relationship_head === 'head');
    const place = g.locationId ? places.get(g.locationId) : undefined;
    const custom = Object.fromEntries(
      // Configured ones only: the registry's definitions (`of`) are searchable, and in additional_attributes as all are.
      Object.entries(topLevel).flatMap(([name, def]) => (!def.of && def.key in g.attributes ? [[name, g.attributes[def.key]]] : [])),
    );
    byId.set(g.id, {
      '@context': CONTEXT,
      '@id': `urn:uuid:${g.id}`,
      '@type': 'spdci:Group',
      group_identifier: [{ '@type': 'Identifier', identifier_type: 'HOUSEHOLD_ID', identifier_value: g.code }],
      group_type: g.kind,
      ...(g.name ? { group_name: g.name } : {}),
      ...(place ? { place: { '@type': 'Place', address: place.name }, location: place.code } : {}),
      ...custom,
      group_size: list.length,
      ...(head ? { group_head_info: head } : {}),
      member_list: list,
      registration_date: g.createdAt.toISOString(),
      last_updated: g.updatedAt.toISOString(),
      ...(Object.keys(g.attributes).length > 0 ? { additional_attributes: attributeList(g.attributes) } : {}),
    });
  }
  return ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
}
