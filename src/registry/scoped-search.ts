import { and, count, getTableColumns, isNull, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client.js';
import { groups, individuals, locations } from '../db/schema/index.js';
import { keyset, sortedPage, type Ordering, type Position } from '../db/sorted-keyset.js';
import type { Actor } from '../security/actor.js';
import { withinScope } from '../security/geo-scope.js';
import { membersOf, toGroup } from './groups.js';
import { identifiersOf, toIndividual } from './individuals.js';
import { toLocation } from './locations.js';
import type { Group, Individual, Location } from './schemas.js';

/**
 * Searches driven by conditions another surface builds (the FHIR search parameters), under the same visibility
 * rules as the admin API lists: deleted records are left out and the actor's geographic scope is part of the SQL.
 * Results come in id order unless `order` names a sort key; `after` continues after the previous page's last row
 * (keyset, not offset).
 */
export interface Selection {
  where: SQL[];
  limit: number;
  order?: Ordering;
  after?: Position;
}

export interface Found<T> {
  items: T[];
  /** Where the next page starts; absent on the last page. */
  next?: Position;
}

function visible(deletedAt: AnyPgColumn, scope: SQL | undefined, where: SQL[]): SQL | undefined {
  return and(isNull(deletedAt), scope, ...where);
}

export async function findIndividuals(db: Db, actor: Actor, sel: Selection): Promise<Found<Individual>> {
  const seek = keyset(individuals.id, sel.order, sel.after);
  const rows = await db
    .select({ ...getTableColumns(individuals), sortValue: seek.value })
    .from(individuals)
    .where(and(visible(individuals.deletedAt, withinScope(actor, individuals.locationId), sel.where), seek.where))
    .orderBy(...seek.orderBy)
    .limit(sel.limit + 1);
  const { page, next } = sortedPage(rows, sel.limit, (r) => r.id);
  const ids = await identifiersOf(db, page.map((r) => r.id));
  return { items: page.map((r) => toIndividual(r, ids.get(r.id) ?? [])), ...(next ? { next } : {}) };
}

export async function countIndividuals(db: Db, actor: Actor, where: SQL[]): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(individuals)
    .where(visible(individuals.deletedAt, withinScope(actor, individuals.locationId), where));
  return row?.n ?? 0;
}

export async function findGroups(db: Db, actor: Actor, sel: Selection): Promise<Found<Group>> {
  const seek = keyset(groups.id, sel.order, sel.after);
  const rows = await db
    .select({ ...getTableColumns(groups), sortValue: seek.value })
    .from(groups)
    .where(and(visible(groups.deletedAt, withinScope(actor, groups.locationId), sel.where), seek.where))
    .orderBy(...seek.orderBy)
    .limit(sel.limit + 1);
  const { page, next } = sortedPage(rows, sel.limit, (r) => r.id);
  const members = await membersOf(db, actor, page.map((r) => r.id));
  return { items: page.map((r) => toGroup(r, members.get(r.id) ?? [])), ...(next ? { next } : {}) };
}

export async function countGroups(db: Db, actor: Actor, where: SQL[]): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(groups)
    .where(visible(groups.deletedAt, withinScope(actor, groups.locationId), where));
  return row?.n ?? 0;
}

export async function findLocations(db: Db, actor: Actor, sel: Selection): Promise<Found<Location>> {
  const seek = keyset(locations.id, sel.order, sel.after);
  const rows = await db
    .select({ ...getTableColumns(locations), sortValue: seek.value })
    .from(locations)
    .where(and(visible(locations.deletedAt, withinScope(actor, locations.id), sel.where), seek.where))
    .orderBy(...seek.orderBy)
    .limit(sel.limit + 1);
  const { page, next } = sortedPage(rows, sel.limit, (r) => r.id);
  return { items: page.map(toLocation), ...(next ? { next } : {}) };
}

export async function countLocations(db: Db, actor: Actor, where: SQL[]): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(locations)
    .where(visible(locations.deletedAt, withinScope(actor, locations.id), where));
  return row?.n ?? 0;
}
