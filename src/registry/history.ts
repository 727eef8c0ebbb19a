import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { groups, individuals, locations, organizations, recordVersions } from '../db/schema/index.js';
import { notFound } from '../errors.js';
import { getOrganization } from '../programmes/organizations.js';
import type { Organization } from '../programmes/schemas.js';
import type { Actor } from '../security/actor.js';
import { withinScope } from '../security/geo-scope.js';
import { getGroup } from './groups.js';
import { getIndividual } from './individuals.js';
import { getLocation } from './locations.js';
import type { Group, Individual, Location } from './schemas.js';

export interface RecordVersion<T> {
  version: number;
  at: string;
  actor: string;
  /** Set on the version that deleted the record. */
  deleted_at: string | null;
  snapshot: T;
}

const TABLES = {
  individual: { table: individuals, location: individuals.locationId, id: individuals.id },
  group: { table: groups, location: groups.locationId, id: groups.id },
  location: { table: locations, location: locations.id, id: locations.id },
  // Organisations are not located: every reader sees them.
  organization: { table: organizations, location: undefined, id: organizations.id },
} as const;

type EntityType = keyof typeof TABLES;
interface Snapshots {
  individual: Individual;
  group: Group;
  location: Location;
  organization: Organization;
}
type SnapshotOf<E extends EntityType> = Snapshots[E];

/**
 * The record must exist and be in the actor's geographic scope (deleted records keep their history). Answers its
 * current version, and whether it is deleted.
 */
async function visibleRecord(db: Db, actor: Actor, entityType: EntityType, id: string) {
  const { table, location, id: idColumn } = TABLES[entityType];
  const [row] = await db
    .select({ version: table.version, deletedAt: table.deletedAt, updatedAt: table.updatedAt })
    .from(table)
    .where(and(eq(idColumn, id), location ? withinScope(actor, location) : undefined));
  if (!row) throw notFound(entityType, id);
  return row;
}

/**
 * The live record as its current version, when no stored version has caught up with it: rows written by a bulk
 * import or the seed store no versions (a snapshot per row would double a million-row load), so without this their
 * history would be empty and a vread of the version a read shows would be a 404. Who wrote it is not known.
 */
async function liveVersion<E extends EntityType>(
  db: Db,
  actor: Actor,
  entityType: E,
  id: string,
  record: { version: number; updatedAt: Date },
): Promise<RecordVersion<SnapshotOf<E>>> {
  const live = {
    individual: getIndividual,
    group: getGroup,
    location: getLocation,
    organization: (db: Db, _actor: Actor, id: string) => getOrganization(db, id),
  }[entityType];
  const snapshot = (await live(db, actor, id)) as SnapshotOf<E>;
  return { version: record.version, at: record.updatedAt.toISOString(), actor: 'unrecorded', deleted_at: null, snapshot };
}

function toVersion<T>(row: typeof recordVersions.$inferSelect): RecordVersion<T> {
  return {
    version: row.version,
    at: row.at.toISOString(),
    actor: row.actor,
    deleted_at: row.deletedAt?.toISOString() ?? null,
    snapshot: row.snapshot as T,
  };
}

/** Every stored version of a record, newest first. */
export async function historyOf<E extends EntityType>(db: Db, actor: Actor, entityType: E, id: string): Promise<RecordVersion<SnapshotOf<E>>[]> {
  const record = await visibleRecord(db, actor, entityType, id);
  const rows = await db
    .select()
    .from(recordVersions)
    .where(and(eq(recordVersions.entityType, entityType), eq(recordVersions.entityId, id)))
    .orderBy(desc(recordVersions.version));
  const stored = rows.map((r) => toVersion<SnapshotOf<E>>(r));
  const caughtUp = record.deletedAt !== null || record.version <= (stored[0]?.version ?? 0);
  return caughtUp ? stored : [await liveVersion(db, actor, entityType, id, record), ...stored];
}

/** One version of a record: 404 when the record or that version does not exist. */
export async function versionOf<E extends EntityType>(
  db: Db,
  actor: Actor,
  entityType: E,
  id: string,
  version: number,
): Promise<RecordVersion<SnapshotOf<E>>> {
  const record = await visibleRecord(db, actor, entityType, id);
  const [row] = await db
    .select()
    .from(recordVersions)
    .where(and(eq(recordVersions.entityType, entityType), eq(recordVersions.entityId, id), eq(recordVersions.version, version)));
  if (row) return toVersion<SnapshotOf<E>>(row);
  if (version === record.version && record.deletedAt === null) return liveVersion(db, actor, entityType, id, record);
  throw notFound(`version ${version} of ${entityType}`, id);
}

/**
 * Members of a stored group version that the actor may see: those located inside its geographic scope, as for
 * the current members (deleted people included, since the version predates their deletion).
 */
export async function visibleMembers(db: Db, actor: Actor, group: Group): Promise<Group> {
  const scope = withinScope(actor, individuals.locationId);
  if (scope === undefined || group.members.length === 0) return group;
  const rows = await db
    .select({ id: individuals.id })
    .from(individuals)
    .where(and(inArray(individuals.id, group.members.map((m) => m.individual_id)), scope));
  const visible = new Set(rows.map((r) => r.id));
  return { ...group, members: group.members.filter((m) => visible.has(m.individual_id)) };
}
