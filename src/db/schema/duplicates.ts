import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { id } from './columns.js';
import { individuals } from './individuals.js';

/**
 * Possible duplicates waiting for a person's decision (never merged automatically). Two kinds:
 * - `probable`: two records with similar names, the same birth year and the same location (individual_id < other_id);
 * - `identifier`: an import row carrying the identifier of `individual_id` but describing someone else; the row is
 *   held back and kept in `incoming` until the candidate is dismissed (then a re-run applies it).
 * `key` makes flagging idempotent: the same pair (or the same held row) is stored once, and a decision sticks.
 */
export const duplicateCandidates = pgTable(
  'duplicate_candidates',
  {
    id: id(),
    key: text('key').notNull().unique(),
    kind: text('kind').notNull(),
    individualId: uuid('individual_id')
      .notNull()
      .references(() => individuals.id),
    otherId: uuid('other_id').references(() => individuals.id),
    /** 0–100: higher is more likely the same person. */
    score: integer('score').notNull(),
    reasons: jsonb('reasons').$type<Record<string, unknown>[]>().notNull(),
    incoming: jsonb('incoming').$type<Record<string, unknown>>(),
    status: text('status').notNull().default('open'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    decidedBy: text('decided_by'),
    decidedAt: timestamp('decided_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    check('duplicate_candidates_kind_check', sql`${t.kind} IN ('probable', 'identifier')`),
    check('duplicate_candidates_status_check', sql`${t.status} IN ('open', 'dismissed', 'merged')`),
    check('duplicate_candidates_pair_check', sql`(${t.kind} = 'probable') = (${t.otherId} IS NOT NULL)`),
    // The review queue: by status, best score first, then id (the keyset of the list).
    index('duplicate_candidates_queue_idx').on(t.status, t.score.desc(), t.id),
    index('duplicate_candidates_individual_idx').on(t.individualId),
    index('duplicate_candidates_other_idx').on(t.otherId),
  ],
);
