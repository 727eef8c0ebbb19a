import type { Db } from '../db/client.js';
import { recordVersions } from '../db/schema/index.js';
import type { Actor } from '../security/actor.js';

export interface VersionEntry {
  entityType: 'individual' | 'group' | 'location' | 'organization';
  entityId: string;
  version: number;
  snapshot: Record<string, unknown>;
  at: Date;
  deletedAt: Date | null;
}

/** Stores one version of a record; like the audit append it runs inside the transaction that makes the change. */
export async function appendVersion(tx: Db, actor: Pick<Actor, 'id'>, entry: VersionEntry): Promise<void> {
  await tx.insert(recordVersions).values({ ...entry, actor: actor.id });
}
