import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { reviewTasks } from '../db/schema/index.js';
import { queryRows } from '../db/query-rows.js';
import type { Actor } from '../security/actor.js';
import type { CivilEventType } from './civil-event-schemas.js';
import { currentHousehold, insertCivilEvent } from './civil-events.js';
import type { Identifier, Individual } from './schemas.js';

/** A vital event as an external civil registry reported it, in our terms. */
export interface ReportedVitalEvent {
  eventType: CivilEventType;
  registrationNumber: string;
  eventDate: string;
  registrationDate?: string;
  person: {
    identifiers: Identifier[];
    given_name: string;
    family_name: string;
    sex: Individual['sex'];
    birth_date?: string;
  };
  parents: { role: 'mother' | 'father' | 'parent'; identifiers: Identifier[] }[];
  payload: Record<string, unknown>;
}

export type IntakeOutcome = 'recorded' | 'duplicate' | 'review';

/** The registry people holding any of these identifiers (registration numbers aside). */
async function holders(tx: Db, ids: Identifier[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await queryRows<{ id: string }>(
    tx,
    sql`SELECT DISTINCT i.individual_id AS id FROM identifiers i JOIN individuals p ON p.id = i.individual_id
        WHERE p.deleted_at IS NULL AND (i.type, i.value) IN (${sql.join(ids.map((i) => sql`(${i.type}, ${i.value})`), sql`, `)})`,
  );
  return rows.map((r) => r.id);
}

/** A review task, once per registration: receiving the same event again does not raise it twice. */
async function review(tx: Db, kind: string, source: string, event: ReportedVitalEvent, reason: string, civilEventId: string | null) {
  const [open] = await tx
    .select({ id: reviewTasks.id })
    .from(reviewTasks)
    .where(and(eq(reviewTasks.kind, kind), sql`${reviewTasks.detail} @> ${JSON.stringify({ source, registration_number: event.registrationNumber })}::jsonb`));
  if (open) return;
  await tx.insert(reviewTasks).values({
    kind,
    civilEventId,
    reason,
    detail: { source, registration_number: event.registrationNumber, event_type: event.eventType, person: event.person, parents: event.parents },
  });
}

/**
 * Applies a vital event an external CRVS reported, idempotently (one record per source and registration number, so a
 * duplicate changes nothing): a death marks the person it names deceased and suspends their benefits with the
 * registration as the reason; a birth adds the child to the household its parents share; when the person or the
 * household cannot be told for sure, a review task says so. In the caller's transaction.
 */
export async function applyReportedEvent(tx: Db, actor: Actor, source: string, event: ReportedVitalEvent): Promise<IntakeOutcome> {
  const origin = { source, payload: event.payload };
  const base = { event_type: event.eventType, registration_number: event.registrationNumber, event_date: event.eventDate, ...(event.registrationDate ? { registration_date: event.registrationDate } : {}) };
  const subjects = await holders(tx, event.person.identifiers);
  if (subjects.length > 1) {
    await review(tx, `${event.eventType}-match`, source, event, `its identifiers name ${subjects.length} different people`, null);
    return 'review';
  }
  if (event.eventType !== 'birth') {
    if (subjects.length === 0) {
      await review(tx, `${event.eventType}-match`, source, event, 'no one in the registry holds its identifiers', null);
      return 'review';
    }
    return (await insertCivilEvent(tx, actor, { ...base, subject: { individual_id: subjects[0]! } }, origin)) ? 'recorded' : 'duplicate';
  }
  const parentIds = await Promise.all(event.parents.map(async (p) => ({ role: p.role, ids: await holders(tx, p.identifiers) })));
  const households = new Set<string>();
  for (const parent of parentIds) for (const id of parent.ids) households.add((await currentHousehold(tx, id)) ?? 'none');
  const parties = parentIds.flatMap((p) => (p.ids.length === 1 ? [{ role: p.role, individual_id: p.ids[0]! }] : []));
  const sure = households.size === 1 && !households.has('none');
  const subject = subjects[0]
    ? { individual_id: subjects[0] }
    : { individual: { ...event.person, birth_date: event.person.birth_date ?? event.eventDate } };
  const recorded = await insertCivilEvent(tx, actor, { ...base, subject, parties, add_to_household: sure }, origin);
  if (!recorded) return 'duplicate';
  if (!sure) {
    const why = households.size === 0 ? 'no parent is in the registry' : households.has('none') ? 'a parent has no current household' : 'the parents live in different households';
    await review(tx, 'birth-household', source, event, `the child could not be placed in a household: ${why}`, recorded.id);
    return 'review';
  }
  return 'recorded';
}

/** Open review tasks, newest first. */
export function openReviewTasks(db: Db, kind?: string) {
  return db
    .select()
    .from(reviewTasks)
    .where(and(eq(reviewTasks.status, 'open'), kind ? eq(reviewTasks.kind, kind) : undefined))
    .orderBy(sql`${reviewTasks.createdAt} DESC`);
}

