import { eq } from 'drizzle-orm';
import { appendVersion } from '../audit/versions.js';
import type { Db } from '../db/client.js';
import { groups } from '../db/schema/index.js';
import type { Actor } from '../security/actor.js';
import { membersOf, toGroup } from './groups.js';

/** Snapshots hold the whole record, whoever wrote it: a writer's geographic scope must not trim the history. */
const WHOLE_REGISTRY: Actor = { id: 'record-versions', scopes: [], locationId: null };

/**
 * Records a person, area or organisation as it now is (deleted: as it was, with the version and time of the
 * delete). Groups are recorded with their members by recordGroupVersion.
 */
export function recordVersion(
  tx: Db,
  actor: Actor,
  entityType: 'individual' | 'location' | 'organization',
  record: { id: string; version: number; updated_at: string },
  deletedAt: Date | null = null,
) {
  return appendVersion(tx, actor, {
    entityType,
    entityId: record.id,
    version: record.version,
    snapshot: record,
    at: new Date(record.updated_at),
    deletedAt,
  });
}

/** Records the group as it now is in the transaction, with all its current members. */
export async function recordGroupVersion(tx: Db, actor: Actor, groupId: string) {
  const [row] = await tx.select().from(groups).where(eq(groups.id, groupId));
  const group = toGroup(row!, (await membersOf(tx, WHOLE_REGISTRY, [groupId])).get(groupId)!);
  await appendVersion(tx, actor, {
    entityType: 'group',
    entityId: groupId,
    version: group.version,
    snapshot: group,
    at: row!.updatedAt,
    deletedAt: row!.deletedAt,
  });
}

