import { sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client.js';
import { inSubtree, subtreeIds } from '../db/location-tree.js';
import { queryRows } from '../db/query-rows.js';
import { HubError } from '../errors.js';
import type { Actor } from './actor.js';

/** A WHERE condition limiting rows to the actor's geographic scope, or undefined when the actor has none. */
export function withinScope(actor: Actor, locationColumn: AnyPgColumn): SQL | undefined {
  if (actor.locationId === null) return undefined;
  return inSubtree(locationColumn, actor.locationId);
}

/** Refuses a write that would place a record outside the actor's geographic scope. */
export async function assertLocationInScope(db: Db, actor: Actor, locationId: string | null, pointer: string) {
  if (actor.locationId === null) return;
  if (locationId !== null) {
    const [row] = await queryRows<{ ok: boolean }>(
      db,
      sql`SELECT ${locationId}::uuid IN ${subtreeIds(actor.locationId)} AS ok`,
    );
    if (row?.ok) return;
  }
  throw new HubError('forbidden', 'the record must be located inside your geographic scope', [
    { pointer, detail: 'outside the geographic scope of this client' },
  ]);
}

/**
 * A WHERE condition: `idColumn` names an individual inside the actor's geographic scope (a member, a payee, a
 * party), or undefined when the actor has none. A person outside the scope is as absent as one that never existed.
 */
export function personInScope(actor: Actor, idColumn: AnyPgColumn | SQL): SQL | undefined {
  if (actor.locationId === null) return undefined;
  return sql`${idColumn} IN (SELECT s.id FROM individuals s WHERE s.location_id IN ${subtreeIds(actor.locationId)})`;
}

/** As personInScope, for a beneficiary's subject: the individual, or the household, inside the actor's scope. */
export function subjectInScope(actor: Actor, idColumn: AnyPgColumn | SQL): SQL | undefined {
  if (actor.locationId === null) return undefined;
  const area = subtreeIds(actor.locationId);
  return sql`${idColumn} IN (SELECT s.id FROM individuals s WHERE s.location_id IN ${area}
                             UNION ALL SELECT s.id FROM groups s WHERE s.location_id IN ${area})`;
}
