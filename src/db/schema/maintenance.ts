import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Search indexes a bulk import dropped to load faster, with their exact definitions (from pg_indexes), written in
 * the transaction that drops them. The import rebuilds them when it ends; an import killed before that leaves them
 * here, and the next import or hub start rebuilds them (src/registry/import/search-indexes.ts).
 */
export const deferredIndexes = pgTable('deferred_indexes', {
  name: text('name').primaryKey(),
  definition: text('definition').notNull(),
  droppedAt: timestamp('dropped_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});
