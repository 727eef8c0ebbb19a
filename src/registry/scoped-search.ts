import { and, asc, count, gt, isNull, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client.js';
import { groups, individuals, locations } from '../db/schema/index.js';
import type { Actor } from '../security/actor.js';
import { withinScope } from '../security/geo-scope.js';
import { membersOf, toGroup } from './groups.js';
import { identifiersOf, toIndividual } from './individuals.js';
import { toLocation } from './locations.js';
import type { Group, Individual, Location } from './schemas.js';

/**
 * Searches driven by conditions another surface builds (the FHIR search parameters), under the same visibility
 * rules as the admin API lists: deleted records are left out and the actor's geographic scope is part of the SQL.
 * Results come in id order; `afterId` continues after the last id of the previous page (keyset, not offset).
 */
export interface Selection {
  where: SQL[];
  limit: number;
  afterId?: string;
}

export interface Found<T> {
  items: T[];
  /** Another page follows. */
  more: boolean;
}

function visible(deletedAt: AnyPgColumn, scope: SQL | undefined, where: SQL[]): SQL | undefined {
  return and(isNull(deletedAt), scope, ...where);
}

export async function findIndividuals(db: Db, actor: Actor, sel: Selection): Promise<Found<Individual>> {
  const rows = await db
    .select()
    .from(individuals)
    .where(
      and(
        visible(individuals.deletedAt, withinScope(actor, individuals.locationId), sel.where),
        sel.afterId === undefined ? undefined : gt(individuals.id, sel.afterId),
      ),
    )
    .orderBy(asc(individuals.id))
    .limit(sel.limit + 1);
  const page = rows.slice(0, sel.limit);
  const ids = await identifiersOf(db, page.map((r) => r.id));
  return { items: page.map((r) => toIndividual(r, ids.get(r.id) ?? [])), more: rows.length > sel.limit };
}

export async function countIndividuals(db: Db, actor: Actor, where: SQL[]): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(individuals)
    .where(visible(individuals.deletedAt, withinScope(actor, individuals.locationId), where));
  return row?.n ?? 0;
}

export async function findGroups(db: Db, actor: Actor, sel: Selection): Promise<Found<Group>> {
  const rows = await db
    .select()
    .from(groups)
    .where(
      and(
        visible(groups.deletedAt, withinScope(actor, groups.locationId), sel.where),
        sel.afterId === undefined ? undefined : gt(groups.id, sel.afterId),
      ),
    )
    .orderBy(asc(groups.id))
    .limit(sel.limit + 1);
  const page = rows.slice(0, sel.limit);
  const members = await membersOf(db, actor, page.map((r) => r.id));
  return { items: page.map((r) => toGroup(r, members.get(r.id) ?? [])), more: rows.length > sel.limit };
}

export async function countGroups(db: Db, actor: Actor, where: SQL[]): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(groups)
    .where(visible(groups.deletedAt, withinScope(actor, groups.locationId), where));
  return row?.n ?? 0;
}

export async function findLocations(db: Db, actor: Actor, sel: Selection): Promise<Found<Location>> {
  const rows = await db
    .select()
    .from(locations)
    .where(
      and(
        visible(locations.deletedAt, withinScope(actor, locations.id), sel.where),
        sel.afterId === undefined ? undefined : gt(locations.id, sel.afterId),
      ),
    )
    .orderBy(asc(locations.id))
    .limit(sel.limit + 1);
  return { items: rows.slice(0, sel.limit).map(toLocation), more: rows.length > sel.limit };
}

export async function countLocations(db: Db, actor: Actor, where: SQL[]): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(locations)
    .where(visible(locations.deletedAt, withinScope(actor, locations.id), where));
  return row?.n ?? 0;
}
