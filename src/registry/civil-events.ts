import { and, asc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { decodeCursor, isUuid, toPage, type Page } from '../db/keyset.js';
import { civilEvents, groupMembers, groups, individuals, type EventParty } from '../db/schema/index.js';
import { conflict, notFound, unprocessable } from '../errors.js';
import type { Actor } from '../security/actor.js';
import { assertLocationInScope, withinScope } from '../security/geo-scope.js';
import type { CivilEvent, CivilEventInput, CivilEventType } from './civil-event-schemas.js';
import { addMember } from './groups.js';
import { getIndividual, insertIndividual, updateIndividual } from './individuals.js';

type Row = typeof civilEvents.$inferSelect;

const toCivilEvent = (row: Row, householdId?: string | null): CivilEvent => ({
  id: row.id,
  event_type: row.eventType as CivilEventType,
  registration_number: row.registrationNumber,
  source: row.source,
  event_date: row.eventDate,
  registration_date: row.registrationDate,
  place_id: row.placeId,
  subject_id: row.subjectId,
  parties: row.parties,
  ...(householdId === undefined ? {} : { household_id: householdId }),
  recorded_by: row.recordedBy,
  recorded_at: row.recordedAt.toISOString(),
});

/** Where an event came from, and the message it arrived in when it came from an external registry. */
export interface EventOrigin {
  source: string;
  payload?: Record<string, unknown>;
  /** The recorded reason of a suspension the event causes; by default it names the registration. */
  reason?: string;
}

const LOCAL: EventOrigin = { source: 'local' };

/** The reason recorded on benefits a registered death suspends. */
export const deathReason = (source: string, registrationNumber: string, date: string) =>
  `death registered${source === 'local' ? '' : ` by ${source}`} (${registrationNumber}) on ${date}`;

/** The current household of a person, the newest membership first. */
export async function currentHousehold(tx: Db, individualId: string): Promise<string | undefined> {
  const [row] = await tx
    .select({ groupId: groupMembers.groupId })
    .from(groupMembers)
    .innerJoin(groups, eq(groups.id, groupMembers.groupId))
    .where(and(eq(groupMembers.individualId, individualId), isNull(groupMembers.endDate), isNull(groups.deletedAt)))
    .orderBy(sql`${groupMembers.startDate} DESC NULLS LAST`)
    .limit(1);
  return row?.groupId;
}

async function subjectOf(tx: Db, actor: Actor, input: CivilEventInput): Promise<string> {
  if ('individual_id' in input.subject) {
    return (await getIndividual(tx, actor, input.subject.individual_id)).id;
  }
  const person = input.subject.individual;
  const birthDate = person.birth_date ?? (input.event_type === 'birth' ? input.event_date : undefined);
  return (await insertIndividual(tx, actor, { ...person, ...(birthDate ? { birth_date: birthDate } : {}) }, '/subject/individual')).id;
}

/** Parties that name an individual must name one the actor can see. */
async function checkParties(tx: Db, actor: Actor, parties: EventParty[]) {
  for (const [i, party] of parties.entries()) {
    if (!party.individual_id) continue;
    const [row] = await tx
      .select({ id: individuals.id })
      .from(individuals)
      .where(and(eq(individuals.id, party.individual_id), isNull(individuals.deletedAt), withinScope(actor, individuals.locationId)));
    if (!row) throw unprocessable(`individual ${party.individual_id} does not exist`, `/parties/${i}/individual_id`);
  }
}

/** What an event changes in the registry: a death marks the person deceased (and suspends benefits); a birth dates them. */
async function applyToSubject(tx: Db, actor: Actor, row: Row, origin: EventOrigin) {
  const person = await getIndividual(tx, actor, row.subjectId);
  if (row.eventType === 'death') {
    const reason = origin.reason ?? deathReason(origin.source, row.registrationNumber, row.eventDate);
    await updateIndividual(tx, actor, person.id, undefined, { death_date: row.eventDate }, { deathReason: reason });
  } else if (row.eventType === 'birth' && person.birth_date === null) {
    await updateIndividual(tx, actor, person.id, undefined, { birth_date: row.eventDate });
  }
}

/** The household a newborn joins: the mother's, else the father's, else another parent's current one. */
async function parentsHousehold(tx: Db, parties: EventParty[]): Promise<string | undefined> {
  for (const role of ['mother', 'father', 'parent'] as const) {
    for (const party of parties.filter((p) => p.role === role && p.individual_id)) {
      const household = await currentHousehold(tx, party.individual_id!);
      if (household) return household;
    }
  }
  return undefined;
}

/**
 * Records an event and what follows from it, in the caller's transaction: the subject (new or existing), the event,
 * a death's date and suspended benefits, a birth's date (and household when asked). Answers undefined when this
 * source already recorded this registration (receiving an event twice changes nothing).
 */
export async function insertCivilEvent(
  tx: Db,
  actor: Actor,
  input: CivilEventInput,
  origin: EventOrigin = LOCAL,
): Promise<CivilEvent | undefined> {
  const [known] = await tx
    .select({ id: civilEvents.id })
    .from(civilEvents)
    .where(
      and(
        eq(civilEvents.source, origin.source),
        eq(civilEvents.eventType, input.event_type),
        eq(civilEvents.registrationNumber, input.registration_number),
      ),
    );
  if (known) return undefined;
  const today = new Date().toISOString().slice(0, 10);
  const registrationDate = input.registration_date ?? today;
  if (input.event_date > today) throw unprocessable('event_date is in the future', '/event_date');
  if (registrationDate < input.event_date) throw unprocessable('registration_date is before event_date', '/registration_date');
  if (input.place_id) await assertLocationInScope(tx, actor, input.place_id, '/place_id');
  const parties = input.parties ?? [];
  await checkParties(tx, actor, parties);
  const subjectId = await subjectOf(tx, actor, input);
  const [row] = await tx
    .insert(civilEvents)
    .values({
      eventType: input.event_type,
      registrationNumber: input.registration_number,
      source: origin.source,
      eventDate: input.event_date,
      registrationDate,
      placeId: input.place_id ?? null,
      subjectId,
      parties,
      payload: origin.payload ?? null,
      recordedBy: actor.id,
    })
    .onConflictDoNothing()
    .returning();
  if (!row) return undefined;
  await applyToSubject(tx, actor, row, origin);
  let householdId: string | null | undefined;
  if (row.eventType === 'birth' && input.add_to_household) {
    householdId = (await parentsHousehold(tx, parties)) ?? null;
    if (householdId && (await currentHousehold(tx, subjectId)) !== householdId) {
      await addMember(tx, actor, householdId, undefined, { individual_id: subjectId, role: 'child' });
    }
  }
  const created = toCivilEvent(row, householdId);
  await appendAudit(tx, actor, { action: 'civil_event.create', entityType: 'civil_event', entityId: row.id, after: created });
  return created;
}

/** Records an event through the admin API: the same registration twice is a 409. */
export function recordCivilEvent(db: Db, actor: Actor, input: CivilEventInput): Promise<CivilEvent> {
  return db.transaction(async (tx) => {
    const created = await insertCivilEvent(tx, actor, input);
    if (!created) throw conflict(`${input.event_type} ${input.registration_number} is already registered`);
    return created;
  });
}

/** Events are visible when their subject is: inside the reader's geographic scope. */
function visible(db: Db, actor: Actor) {
  const scope = withinScope(actor, individuals.locationId);
  return scope ? inArray(civilEvents.subjectId, db.select({ id: individuals.id }).from(individuals).where(scope)) : undefined;
}

export async function getCivilEvent(db: Db, actor: Actor, id: string): Promise<CivilEvent> {
  const [row] = await db
    .select()
    .from(civilEvents)
    .where(and(eq(civilEvents.id, id), visible(db, actor)));
  if (!row) throw notFound('civil event', id);
  return toCivilEvent(row);
}

export interface CivilEventFilters {
  event_type?: CivilEventType;
  registration_number?: string;
  subject_id?: string;
  source?: string;
  registered_from?: string;
  registered_to?: string;
}

export async function listCivilEvents(
  db: Db,
  actor: Actor,
  filters: CivilEventFilters,
  limit: number,
  cursor: string | undefined,
): Promise<Page<CivilEvent>> {
  const rows = await db
    .select()
    .from(civilEvents)
    .where(
      and(
        visible(db, actor),
        filters.event_type ? eq(civilEvents.eventType, filters.event_type) : undefined,
        filters.registration_number ? eq(civilEvents.registrationNumber, filters.registration_number) : undefined,
        filters.subject_id ? eq(civilEvents.subjectId, filters.subject_id) : undefined,
        filters.source ? eq(civilEvents.source, filters.source) : undefined,
        filters.registered_from ? sql`${civilEvents.registrationDate} >= ${filters.registered_from}` : undefined,
        filters.registered_to ? sql`${civilEvents.registrationDate} <= ${filters.registered_to}` : undefined,
        cursor === undefined ? undefined : gt(civilEvents.id, decodeCursor(cursor, isUuid)),
      ),
    )
    .orderBy(asc(civilEvents.id))
    .limit(limit + 1);
  return toPage(rows.map((r) => toCivilEvent(r)), limit, (e) => e.id);
}
