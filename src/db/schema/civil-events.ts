import { sql } from 'drizzle-orm';
import { check, date, index, jsonb, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { id } from './columns.js';
import { individuals } from './individuals.js';
import { locations } from './locations.js';

/** A person named by a civil event: a registry individual, or what the registration says of someone not in it. */
export interface EventParty {
  role: 'mother' | 'father' | 'parent' | 'spouse' | 'informant';
  individual_id?: string;
  given_name?: string;
  family_name?: string;
  sex?: string;
  birth_date?: string;
  identifiers?: { type: string; value: string }[];
}

/**
 * Vital events (birth, death, marriage …) as a civil registration records them: the data behind the DCI CRVS
 * provider. Events recorded here and events received from an external CRVS (`source` = its name) alike; one
 * registration number per source and event type, which is what makes receiving the same event twice harmless.
 */
export const civilEvents = pgTable(
  'civil_events',
  {
    id: id(),
    eventType: text('event_type').notNull(),
    registrationNumber: text('registration_number').notNull(),
    /** `local`, or the name of the external registry the event came from. */
    source: text('source').notNull().default('local'),
    eventDate: date('event_date', { mode: 'string' }).notNull(),
    registrationDate: date('registration_date', { mode: 'string' }).notNull(),
    placeId: uuid('place_id').references(() => locations.id),
    /** The person born, deceased, married, divorced or adopted. */
    subjectId: uuid('subject_id')
      .notNull()
      .references(() => individuals.id),
    parties: jsonb('parties').$type<EventParty[]>().notNull().default([]),
    /** The message the event arrived in, when it came from outside. */
    payload: jsonb('payload').$type<Record<string, unknown>>(),
    recordedBy: text('recorded_by').notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique('civil_events_registration_key').on(t.source, t.eventType, t.registrationNumber),
    index('civil_events_subject_idx').on(t.subjectId, t.eventType),
    index('civil_events_registration_date_idx').on(t.eventType, t.registrationDate),
    index('civil_events_registration_number_idx').on(t.registrationNumber),
    index('civil_events_place_idx').on(t.placeId),
    check(
      'civil_events_event_type_check',
      sql`${t.eventType} IN ('birth', 'death', 'fetal_death', 'marriage', 'divorce', 'adoption')`,
    ),
  ],
);

/** Something a person has to decide: e.g. a birth from a CRVS whose household could not be told for sure. */
export const reviewTasks = pgTable(
  'review_tasks',
  {
    id: id(),
    kind: text('kind').notNull(),
    status: text('status').notNull().default('open'),
    civilEventId: uuid('civil_event_id').references(() => civilEvents.id),
    reason: text('reason').notNull(),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('review_tasks_open_idx').on(t.kind, t.createdAt).where(sql`status = 'open'`)],
);

/** Our subscriptions at external registries (DCI subscribe): their code arrives later, in their on-subscribe. */
export const registrySubscriptions = pgTable(
  'registry_subscriptions',
  {
    id: id(),
    registry: text('registry').notNull(),
    eventType: text('event_type').notNull(),
    transactionId: text('transaction_id').notNull(),
    referenceId: text('reference_id').notNull().unique(),
    /** pending (sent), subscribe (their code received), rjct, unsubscribe. */
    status: text('status').notNull().default('pending'),
    code: text('code'),
    reason: text('reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('registry_subscriptions_registry_idx').on(t.registry, t.status)],
);
