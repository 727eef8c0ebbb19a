import { index, integer, pgTable, text, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { id, ltree, versioned } from './columns.js';

/** Administrative-area tree (province → commune → colline …). `path` is the ltree of ancestor ids. */
export const locations = pgTable(
  'locations',
  {
    id: id(),
    code: text('code').notNull().unique(),
    name: text('name').notNull(),
    level: integer('level').notNull(),
    kind: text('kind'),
    parentId: uuid('parent_id').references((): AnyPgColumn => locations.id),
    path: ltree('path').notNull(),
    ...versioned(),
  },
  (t) => [
    index('locations_path_gist').using('gist', t.path),
    index('locations_parent_idx').on(t.parentId),
  ],
);
