import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { id } from './columns.js';
import { beneficiaries, programmes } from './programmes.js';

/** One decision on a task: a level approved, or the task rejected. */
export interface TaskDecision {
  level: number;
  decision: 'approve' | 'reject';
  by: string;
  at: string;
  comment: string | null;
}

/**
 * A change waiting for maker-checker approval. `kind` names the programme's approval rule it falls under
 * (enrolment, status_change, death_suspension); `payload` says what the change is (target status, reason, what
 * asked for it). It needs `required_levels` approvals, each by a client other than the maker and the earlier
 * approvers; the last one applies the change. pending → applied | failed (nothing applied any more) | rejected.
 */
export const tasks = pgTable(
  'tasks',
  {
    id: id(),
    kind: text('kind').notNull(),
    programmeId: uuid('programme_id')
      .notNull()
      .references(() => programmes.id),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status').notNull().default('pending'),
    maker: text('maker').notNull(),
    requiredLevels: integer('required_levels').notNull(),
    decisions: jsonb('decisions').$type<TaskDecision[]>().notNull().default([]),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    version: integer('version').notNull().default(1),
  },
  (t) => [
    index('tasks_status_idx').on(t.status, t.id),
    index('tasks_programme_idx').on(t.programmeId),
    check('tasks_status_check', sql`${t.status} IN ('pending', 'applied', 'failed', 'rejected')`),
    check('tasks_kind_check', sql`${t.kind} IN ('enrolment', 'status_change', 'death_suspension')`),
    check('tasks_levels_check', sql`${t.requiredLevels} BETWEEN 1 AND 5`),
  ],
);

/**
 * The beneficiaries a task moves, each with the status it had when the task was made. Applying re-checks that
 * status: `outcome` then says whether the move was applied or why not (status_changed, deceased), and
 * `found_status` what the beneficiary was in at that moment.
 */
export const taskItems = pgTable(
  'task_items',
  {
    taskId: uuid('task_id')
      .notNull()
      .references(() => tasks.id),
    beneficiaryId: uuid('beneficiary_id')
      .notNull()
      .references(() => beneficiaries.id),
    fromStatus: text('from_status').notNull(),
    outcome: text('outcome'),
    foundStatus: text('found_status'),
  },
  (t) => [
    primaryKey({ name: 'task_items_pkey', columns: [t.taskId, t.beneficiaryId] }),
    index('task_items_beneficiary_idx').on(t.beneficiaryId),
    check('task_items_outcome_check', sql`${t.outcome} IN ('applied', 'status_changed', 'deceased')`),
  ],
);
