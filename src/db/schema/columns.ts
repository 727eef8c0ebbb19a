import { customType, integer, timestamp, uuid } from 'drizzle-orm/pg-core';

/** PostgreSQL ltree (materialised admin-area path); same extension on PGlite and PostgreSQL. */
export const ltree = customType<{ data: string }>({
  dataType: () => 'ltree',
});

export const id = () => uuid('id').primaryKey().defaultRandom();

/** Optimistic concurrency and lifecycle columns shared by every versioned registry record. */
export const versioned = () => ({
  version: integer('version').notNull().default(1),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
});
