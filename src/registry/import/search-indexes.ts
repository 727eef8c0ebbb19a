import { sql } from 'drizzle-orm';
import type { Database, Db } from '../../db/client.js';
import { queryRows } from '../../db/query-rows.js';
import type { ImportType } from './fields.js';

/**
 * Loading into an empty registry is dominated by index upkeep: every row inserted updates the jsonb GIN indexes, the
 * name expression indexes and the last-updated index (FHIR _lastUpdated) one entry at a time. Dropping them before the load and building them
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
    'individuals_search_name_idx',
    'individuals_birth_date_idx',
    'individuals_attributes_gin',
    'individuals_updated_idx',
    'individuals_phone_idx',
    'identifiers_value_idx',
    'identifiers_individual_idx',
  ],
  households: ['groups_location_idx', 'groups_attributes_gin', 'groups_updated_idx'],
  // Each household a member joins gets a new version: a row update, which also touches every index of groups.
  members: ['group_members_individual_idx', 'groups_location_idx', 'groups_attributes_gin', 'groups_updated_idx'],
  // Each event is recorded through the registry's own code, one by one: never a bulk load.
  'civil-events': [],
};

/**
 * Foreign keys checked row by row (a lookup and a row lock in the referenced table per inserted row) cost a bulk
 * load about as much as the inserts. The merge only writes references it has just looked up (unknown locations,
 * households and people are refused first), so during a bulk load they are dropped and added back at the end,
 * where one join validates them all.
 */
const FOREIGN_KEYS: Record<ImportType, string[]> = {
  locations: [],
  individuals: ['individuals_location_id_locations_id_fk', 'identifiers_individual_id_individuals_id_fk'],
  households: ['groups_location_id_locations_id_fk'],
  members: ['group_members_group_id_groups_id_fk', 'group_members_individual_id_individuals_id_fk'],
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

/**
 * Records the definitions of the search indexes and foreign keys of `type`'s tables and drops them, in one
 * transaction. A foreign key is recorded as the ALTER TABLE that adds it back.
 */
export async function dropSearchIndexes(database: Database, type: ImportType): Promise<void> {
  await database.bulk(async (tx) => {
    const indexes = await queryRows<{ name: string; definition: string }>(
      tx.db,
      sql`SELECT indexname AS name, indexdef AS definition FROM pg_indexes
          WHERE schemaname = current_schema() AND indexname = ANY(${`{${SEARCH_INDEXES[type].join(',')}}`}::text[])`,
    );
    const keys = await queryRows<{ name: string; definition: string; table: string }>(
      tx.db,
      sql`SELECT conname AS name, conrelid::regclass::text AS "table",
                 format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) AS definition
          FROM pg_constraint
          WHERE contype = 'f' AND connamespace = current_schema()::regnamespace
            AND conname = ANY(${`{${FOREIGN_KEYS[type].join(',')}}`}::text[])`,
    );
    for (const { name, definition } of [...indexes, ...keys]) {
      await tx.db.execute(sql`INSERT INTO deferred_indexes (name, definition) VALUES (${name}, ${definition}) ON CONFLICT (name) DO NOTHING`);
    }
    for (const { name } of indexes) await tx.db.execute(sql.raw(`DROP INDEX IF EXISTS "${name}"`));
    for (const { name, table } of keys) await tx.db.execute(sql.raw(`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS "${name}"`));
  });
}

const ADD_CONSTRAINT = /^ALTER TABLE (\S+) ADD CONSTRAINT (\S+) /;

/**
 * Builds every index and adds back every foreign key recorded as dropped, and forgets it, each in its own
 * transaction (a large build should not be lost to a later failure). Memory for the sorts is raised for these
 * statements only. A foreign key comes back NOT VALID (enforced from then on) and is then validated in one join.
 * Should rows written while it was away break it, it stays NOT VALID and forgotten (so that the next start is not
 * refused too) and this throws once, naming it, after everything else is rebuilt. Answers the names rebuilt.
 */
export async function rebuildSearchIndexes(database: Database): Promise<string[]> {
  const pending = await queryRows<{ name: string; definition: string }>(database.db, sql`SELECT name, definition FROM deferred_indexes ORDER BY name`);
  const unvalidated: string[] = [];
  for (const { name, definition } of pending) {
    const key = ADD_CONSTRAINT.exec(definition);
    await database.bulk(async (tx) => {
      if (database.kind === 'postgres') await tx.db.execute(sql`SET LOCAL maintenance_work_mem = '256MB'`);
      if (key) {
        const [exists] = await queryRows<{ n: string }>(
          tx.db,
          sql`SELECT count(*) AS n FROM pg_constraint WHERE conname = ${name} AND connamespace = current_schema()::regnamespace`,
        );
        if (Number(exists?.n) === 0) await tx.db.execute(sql.raw(`${definition} NOT VALID`));
      } else {
        await tx.db.execute(sql.raw(definition.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX IF NOT EXISTS ')));
      }
      await tx.db.execute(sql`DELETE FROM deferred_indexes WHERE name = ${name}`);
    });
    if (key) {
      try {
        await database.db.execute(sql.raw(`ALTER TABLE ${key[1]} VALIDATE CONSTRAINT ${key[2]}`));
      } catch (err) {
        unvalidated.push(`${name}: ${(err as Error).message}`);
      }
    }
  }
  if (unvalidated.length > 0) {
    throw new Error(`foreign keys left NOT VALID, rows written during a bulk import break them: ${unvalidated.join('; ')}`);
  }
  return pending.map((p) => p.name);
}
