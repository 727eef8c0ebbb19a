import { integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Every version of every registry record (individuals, groups), written in the transaction that makes it: the
 * source of FHIR `_history` and `vread`. A delete is a version with `deleted_at` set and the last snapshot.
 */
export const recordVersions = pgTable(
  'record_versions',
  {
    entityType: text('entity_type').notNull(),
    entityId: uuid('entity_id').notNull(),
    version: integer('version').notNull(),
    snapshot: jsonb('snapshot').$type<Record<string, unknown>>().notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
    actor: text('actor').notNull(),
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [primaryKey({ columns: [t.entityType, t.entityId, t.version] })],
);
