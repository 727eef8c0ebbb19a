import { sql } from 'drizzle-orm';
import type { Database, Db } from '../../db/client.js';
import { queryRows } from '../../db/query-rows.js';
import type { ImportType } from './fields.js';

/**
 * Loading into an empty registry is dominated by index upkeep: every row inserted updates the trigram and jsonb
 * GIN indexes and the name expression indexes one entry at a time. Dropping them before the load and building them
 * once at the end (a sort per index) is several times cheaper. Only search indexes are dropped: keys the merge
 * needs (primary and unique keys, identifiers by type and value) stay. Probable duplicates of a bulk load are
 * flagged in one pass at the end, so the (location, birth date) index can go too.
 */
const SEARCH_INDEXES: Record<ImportType, string[]> = {
  locations: [],
  individuals: [
    'individuals_location_birth_idx',
    'individuals_family_given_idx',
    'individuals_given_idx',
    'individuals_search_name_trgm',
    'individuals_birth_date_idx',
    'individuals_attributes_gin',
    'identifiers_value_idx',
    'identifiers_individual_idx',
  ],
  households: ['groups_location_idx', 'groups_attributes_gin'],
  // Each household a member joins gets a new version: a row update, which also touches every index of groups.
  members: ['group_members_individual_idx', 'groups_location_idx', 'groups_attributes_gin'],
  // Each event is recorded through the registry's own code, one by one: never a bulk load.
  'civil-events': [],
};

const TARGET: Record<ImportType, string> = { locations: 'locations', individuals: 'individuals', households: 'groups', members: 'group_members', 'civil-events': 'civil_events' };

/** Below this many rows in the target table, a registry counts as (nearly) empty and an import loads in bulk. */
export const BULK_LOAD_BELOW = 20_000;

/** Whether the table an import of `type` fills is (nearly) empty; the count stops at BULK_LOAD_BELOW rows. */
export async function registryIsNearlyEmpty(db: Db, type: ImportType): Promise<boolean> {
  if (SEARCH_INDEXES[type].length === 0) return false;
  const [row] = await queryRows<{ n: string }>(
    db,
    sql.raw(`SELECT count(*) AS n FROM (SELECT 1 FROM ${TARGET[type]} LIMIT ${BULK_LOAD_BELOW}) t`),
  );
  return Number(row?.n ?? 0) < BULK_LOAD_BELOW;
}

/** Records the definitions of the search indexes of `type`'s tables and drops them, in one transaction. */
export async function dropSearchIndexes(database: Database, type: ImportType): Promise<void> {
  await database.bulk(async (tx) => {
    const found = await queryRows<{ name: string; definition: string }>(
      tx.db,
      sql`SELECT indexname AS name, indexdef AS definition FROM pg_indexes
          WHERE schemaname = current_schema() AND indexname = ANY(${`{${SEARCH_INDEXES[type].join(',')}}`}::text[])`,
    );
    for (const { name, definition } of found) {
      await tx.db.execute(sql`INSERT INTO deferred_indexes (name, definition) VALUES (${name}, ${definition}) ON CONFLICT (name) DO NOTHING`);
      await tx.db.execute(sql.raw(`DROP INDEX IF EXISTS "${name}"`));
    }
  });
}

/**
 * Builds every index recorded as dropped and forgets it, each in its own transaction (a large build should not be
 * lost to a later failure). Memory for the sorts is raised for these statements only. Answers the names rebuilt.
 */
export async function rebuildSearchIndexes(database: Database): Promise<string[]> {
  const pending = await queryRows<{ name: string; definition: string }>(database.db, sql`SELECT name, definition FROM deferred_indexes ORDER BY name`);
  for (const { name, definition } of pending) {
    await database.bulk(async (tx) => {
      if (database.kind === 'postgres') await tx.db.execute(sql`SET LOCAL maintenance_work_mem = '256MB'`);
      await tx.db.execute(sql.raw(definition.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX IF NOT EXISTS ')));
      await tx.db.execute(sql`DELETE FROM deferred_indexes WHERE name = ${name}`);
    });
  }
  return pending.map((p) => p.name);
}
