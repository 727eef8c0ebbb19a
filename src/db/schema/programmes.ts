import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, jsonb, numeric, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { id, versioned } from './columns.js';
import { locations } from './locations.js';
import { organizations } from './organizations.js';

/**
 * The registry's custom variables: which `attributes` keys exist for people or households and what type their
 * values have. Formulas may use exactly these.
 */
export const attributeDefinitions = pgTable(
  'attribute_definitions',
  {
    id: id(),
    subject: text('subject').notNull(),
    name: text('name').notNull(),
    type: text('type').notNull(),
    label: text('label'),
    ...versioned(),
  },
  (t) => [
    unique('attribute_definitions_subject_name_key').on(t.subject, t.name),
    check('attribute_definitions_subject_check', sql`${t.subject} IN ('individual', 'group')`),
    check('attribute_definitions_type_check', sql`${t.type} IN ('number', 'boolean', 'text')`),
  ],
);

/** A social programme: who it is for (people or households), who is eligible, how they rank, how many it takes. */
export const programmes = pgTable(
  'programmes',
  {
    id: id(),
    code: text('code').notNull().unique(),
    name: text('name').notNull(),
    subject: text('subject').notNull(),
    status: text('status').notNull().default('draft'),
    eligibility: text('eligibility'),
    score: text('score'),
    locationId: uuid('location_id').references(() => locations.id),
    quota: integer('quota'),
    budget: numeric('budget'),
    currency: text('currency'),
    /** The agency that runs the programme. */
    operatorId: uuid('operator_id').references(() => organizations.id),
    /** Maker-checker: how many approval levels each kind of status change needs (absent or 0: applied at once). */
    approvals: jsonb('approvals').$type<Record<string, number>>().notNull().default({}),
    /** Household programmes: whether a member's death suspends the household's benefit. */
    onMemberDeath: text('on_member_death').notNull().default('none'),
    ...versioned(),
  },
  (t) => [
    check('programmes_subject_check', sql`${t.subject} IN ('individual', 'group')`),
    check('programmes_status_check', sql`${t.status} IN ('draft', 'active', 'closed')`),
    check('programmes_on_member_death_check', sql`${t.onMemberDeath} IN ('none', 'suspend_household')`),
  ],
);

/**
 * A person or household in a programme. Status moves POTENTIAL → ACTIVE ⇄ SUSPENDED → GRADUATED; every move is kept
 * in beneficiary_events.
 */
export const beneficiaries = pgTable(
  'beneficiaries',
  {
    id: id(),
    programmeId: uuid('programme_id')
      .notNull()
      .references(() => programmes.id),
    /** An individual's or a group's id, as the programme's subject says. */
    subjectId: uuid('subject_id').notNull(),
    status: text('status').notNull(),
    score: numeric('score'),
    reason: text('reason'),
    ...versioned(),
  },
  (t) => [
    // Subject first: the key also finds a person's or household's benefits in every programme (their page, a
    // death's suspensions), so no separate subject index is written on every enrolment.
    unique('beneficiaries_subject_programme_key').on(t.subjectId, t.programmeId),
    index('beneficiaries_programme_status_idx').on(t.programmeId, t.status),
    // FHIR _lastUpdated filters and sorts (keyset on updated_at, id).
    index('beneficiaries_updated_idx').on(t.updatedAt, t.id),
    check('beneficiaries_status_check', sql`${t.status} IN ('POTENTIAL', 'ACTIVE', 'SUSPENDED', 'GRADUATED')`),
  ],
);

export const beneficiaryEvents = pgTable(
  'beneficiary_events',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    beneficiaryId: uuid('beneficiary_id')
      .notNull()
      .references(() => beneficiaries.id),
    fromStatus: text('from_status'),
    toStatus: text('to_status').notNull(),
    reason: text('reason').notNull(),
    /** Who asked for the move (the maker, when it went through a task). */
    actor: text('actor').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    /** The maker-checker task that approved the move (tasks.id; not a foreign key, as tasks reference beneficiaries). */
    taskId: uuid('task_id'),
  },
  (t) => [index('beneficiary_events_beneficiary_idx').on(t.beneficiaryId)],
);
