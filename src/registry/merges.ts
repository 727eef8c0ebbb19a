import { and, asc, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { individuals } from '../db/schema/index.js';
import type { Actor } from '../security/actor.js';
import { withinScope } from '../security/geo-scope.js';

export interface MergedRecord {
  id: string;
  /** When it was merged (its deletion, which is also the survivor's change). */
  at: string;
}

/**
 * The records merged into each of these survivors (duplicates resolved by a merge), oldest merge first, among
 * those the actor may see: a reader with a geographic scope learns no id from outside it.
 */
export async function mergedRecordsOf(db: Db, actor: Actor, survivorIds: string[]): Promise<Map<string, MergedRecord[]>> {
  const bySurvivor = new Map<string, MergedRecord[]>();
  if (survivorIds.length === 0) return bySurvivor;
  const rows = await db
    .select({ id: individuals.id, survivor: individuals.mergedInto, at: individuals.deletedAt })
    .from(individuals)
    .where(and(inArray(individuals.mergedInto, survivorIds), withinScope(actor, individuals.locationId)))
    .orderBy(asc(individuals.deletedAt), asc(individuals.id));
  for (const row of rows) {
    const list = bySurvivor.get(row.survivor!) ?? [];
    list.push({ id: row.id, at: row.at!.toISOString() });
    bySurvivor.set(row.survivor!, list);
  }
  return bySurvivor;
}
