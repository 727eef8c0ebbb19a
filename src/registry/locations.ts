import { randomUUID } from 'node:crypto';
import { and, asc, eq, gt, isNull, sql, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { decodeCursor, isUuid, toPage, type Page } from '../db/keyset.js';
import { inSubtree, pathLabel } from '../db/location-tree.js';
import { groups, individuals, locations } from '../db/schema/index.js';
import { conflict, HubError, unprocessable } from '../errors.js';
import type { Actor } from '../security/actor.js';
import { withinScope } from '../security/geo-scope.js';
import type { Location, LocationInput, LocationPatch } from './schemas.js';
import { recordVersion } from './record-versions.js';
import { checkReadable, checkWritable } from './versioning.js';

type Row = typeof locations.$inferSelect;

export function toLocation(row: Row): Location {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    kind: row.kind,
    level: row.level,
    parent_id: row.parentId,
    version: row.version,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/**
 * A root area is level 1 with a one-label path; a child extends its parent's path. A client with a geographic
 * scope may only add areas below its own.
 */
export function createLocation(db: Db, actor: Actor, input: LocationInput): Promise<Location> {
  return db.transaction(async (tx) => {
    const id = randomUUID();
    let level = 1;
    let path = pathLabel(id);
    if (input.parent_id) {
      const [parent] = await tx
        .select()
        .from(locations)
        .where(and(eq(locations.id, input.parent_id), isNull(locations.deletedAt), withinScope(actor, locations.id)));
      if (!parent) throw unprocessable(`parent location ${input.parent_id} does not exist`, '/parent_id');
      level = parent.level + 1;
      path = `${parent.path}.${path}`;
    } else if (actor.locationId !== null) {
      throw new HubError('forbidden', 'a client with a geographic scope cannot create root locations', [
        { pointer: '/parent_id', detail: 'required for clients with a geographic scope' },
      ]);
    }
    const [row] = await tx
      .insert(locations)
      .values({ id, code: input.code, name: input.name, kind: input.kind ?? null, parentId: input.parent_id ?? null, level, path })
      .returning();
    const created = toLocation(row!);
    await appendAudit(tx, actor, { action: 'location.create', entityType: 'location', entityId: id, after: created });
    await recordVersion(tx, actor, 'location', created);
    return created;
  });
}

export async function getLocation(db: Db, actor: Actor, id: string): Promise<Location> {
  const [row] = await db
    .select()
    .from(locations)
    .where(and(eq(locations.id, id), withinScope(actor, locations.id)));
  return toLocation(checkReadable(row, 'location', id));
}

async function lockLocation(tx: Db, actor: Actor, id: string, expectedVersion: number | undefined) {
  const [row] = await tx
    .select()
    .from(locations)
    .where(and(eq(locations.id, id), withinScope(actor, locations.id)))
    .for('update');
  return checkWritable(row, 'location', id, expectedVersion);
}

export function updateLocation(
  db: Db,
  actor: Actor,
  id: string,
  expectedVersion: number | undefined,
  patch: LocationPatch,
): Promise<Location> {
  return db.transaction(async (tx) => {
    const current = await lockLocation(tx, actor, id, expectedVersion);
    const [row] = await tx
      .update(locations)
      .set({ name: patch.name, kind: patch.kind, version: current.version + 1, updatedAt: new Date() })
      .where(eq(locations.id, id))
      .returning();
    const after = toLocation(row!);
    await appendAudit(tx, actor, {
      action: 'location.update',
      entityType: 'location',
      entityId: id,
      before: toLocation(current),
      after,
    });
    await recordVersion(tx, actor, 'location', after);
    return after;
  });
}

/** Only an empty area can be deleted: no live sub-areas, individuals or groups may point at it. */
export function deleteLocation(db: Db, actor: Actor, id: string, expectedVersion: number | undefined): Promise<void> {
  return db.transaction(async (tx) => {
    const current = await lockLocation(tx, actor, id, expectedVersion);
    const [use] = await tx.select({
      children: sql<boolean>`EXISTS (SELECT 1 FROM locations WHERE parent_id = ${id} AND deleted_at IS NULL)`,
      people: sql<boolean>`EXISTS (SELECT 1 FROM ${individuals} WHERE location_id = ${id} AND deleted_at IS NULL)`,
      groups: sql<boolean>`EXISTS (SELECT 1 FROM ${groups} WHERE location_id = ${id} AND deleted_at IS NULL)`,
    }).from(sql`(SELECT 1) AS one`);
    if (use?.children || use?.people || use?.groups) {
      throw conflict(`location ${id} still has sub-areas, individuals or groups`);
    }
    const [deleted] = await tx
      .update(locations)
      .set({ deletedAt: new Date(), version: current.version + 1, updatedAt: new Date() })
      .where(eq(locations.id, id))
      .returning();
    await appendAudit(tx, actor, {
      action: 'location.delete',
      entityType: 'location',
      entityId: id,
      before: toLocation(current),
    });
    await recordVersion(tx, actor, 'location', toLocation(deleted!), deleted!.deletedAt);
  });
}

export interface LocationFilters {
  parent_id?: string;
  within?: string;
  level?: number;
  code?: string;
}

export async function listLocations(
  db: Db,
  actor: Actor,
  filters: LocationFilters,
  limit: number,
  cursor: string | undefined,
): Promise<Page<Location>> {
  const conditions: (SQL | undefined)[] = [isNull(locations.deletedAt), withinScope(actor, locations.id)];
  if (cursor !== undefined) conditions.push(gt(locations.id, decodeCursor(cursor, isUuid)));
  if (filters.parent_id) conditions.push(eq(locations.parentId, filters.parent_id));
  if (filters.within) conditions.push(inSubtree(locations.id, filters.within));
  if (filters.level !== undefined) conditions.push(eq(locations.level, filters.level));
  if (filters.code) conditions.push(eq(locations.code, filters.code));
  const rows = await db
    .select()
    .from(locations)
    .where(and(...conditions))
    .orderBy(asc(locations.id))
    .limit(limit + 1);
  return toPage(rows.map(toLocation), limit, (l) => l.id);
}
