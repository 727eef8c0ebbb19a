import { sql } from 'drizzle-orm';
import { date, index, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { id, versioned } from './columns.js';
import { individuals } from './individuals.js';
import { locations } from './locations.js';

/** Households and other groups of individuals. */
export const groups = pgTable(
  'groups',
  {
    id: id(),
    code: text('code').notNull().unique(),
    kind: text('kind').notNull().default('household'),
    name: text('name'),
    locationId: uuid('location_id').references(() => locations.id),
    attributes: jsonb('attributes').$type<Record<string, unknown>>().notNull().default({}),
    ...versioned(),
  },
  (t) => [
    index('groups_location_idx').on(t.locationId),
    // FHIR _lastUpdated filters and sorts (keyset on updated_at, id).
    index('groups_updated_idx').on(t.updatedAt, t.id),
    index('groups_attributes_gin').using('gin', sql`${t.attributes} jsonb_path_ops`),
  ],
);

/** Membership over time: ending a membership sets end_date; history is kept. */
export const groupMembers = pgTable(
  'group_members',
  {
    id: id(),
    groupId: uuid('group_id')
      .notNull()
      .references(() => groups.id),
    individualId: uuid('individual_id')
      .notNull()
      .references(() => individuals.id),
    role: text('role').notNull(),
    startDate: date('start_date', { mode: 'string' }),
    endDate: date('end_date', { mode: 'string' }),
  },
  (t) => [
    uniqueIndex('group_members_current_key').on(t.groupId, t.individualId).where(sql`end_date IS NULL`),
    uniqueIndex('group_members_one_head_key').on(t.groupId).where(sql`end_date IS NULL AND role = 'head'`),
    index('group_members_individual_idx').on(t.individualId),
  ],
);
