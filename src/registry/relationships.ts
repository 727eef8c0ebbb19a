import { and, eq, inArray, isNull, ne, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client.js';
import { groupMembers, groups, individuals } from '../db/schema/index.js';
import { keyset, sortedPage } from '../db/sorted-keyset.js';
import { notFound } from '../errors.js';
import type { Actor } from '../security/actor.js';
import { withinScope } from '../security/geo-scope.js';
import { identifiersOf, toIndividual } from './individuals.js';
import type { Found, Selection } from './scoped-search.js';
import type { Individual, MemberRole } from './schemas.js';

/** A current household member's relationship to the head: one membership row of a household that has a head. */
export interface Relationship {
  /** The membership's id. */
  id: string;
  group_id: string;
  head_id: string;
  role: MemberRole;
  start_date: string | null;
  person: Individual;
}

const head = alias(groupMembers, 'head');

/** Columns FHIR searches filter on: the membership id and the head (the "patient" the relation is to). */
export const relationshipColumns = { id: groupMembers.id, headId: head.individualId };

/**
 * Conditions of a visible relationship (over the membership, its head, its group and its member): the household
 * and the member are both inside the actor's geographic scope, the membership is current and not the head's own,
 * and neither the household nor the member is deleted.
 */
function visible(actor: Actor, where: SQL[]): SQL | undefined {
  return and(
    isNull(groupMembers.endDate),
    ne(groupMembers.role, 'head'),
    isNull(groups.deletedAt),
    isNull(individuals.deletedAt),
    withinScope(actor, groups.locationId),
    withinScope(actor, individuals.locationId),
    ...where,
  );
}

/** Relationships visible to the actor, in membership id order unless the selection sorts (keyset). */
export async function findRelationships(db: Db, actor: Actor, sel: Selection): Promise<Found<Relationship>> {
  const seek = keyset(groupMembers.id, sel.order, sel.after);
  const rows = await db
    .select({ membership: groupMembers, headId: head.individualId, person: individuals, sortValue: seek.value })
    .from(groupMembers)
    .innerJoin(head, and(eq(head.groupId, groupMembers.groupId), eq(head.role, 'head'), isNull(head.endDate)))
    .innerJoin(groups, eq(groups.id, groupMembers.groupId))
    .innerJoin(individuals, eq(individuals.id, groupMembers.individualId))
    .where(and(visible(actor, sel.where), seek.where))
    .orderBy(...seek.orderBy)
    .limit(sel.limit + 1);
  const { page, next } = sortedPage(rows, sel.limit, (r) => r.membership.id);
  const ids = await identifiersOf(db, page.map((r) => r.person.id));
  return {
    items: page.map((r) => ({
      id: r.membership.id,
      group_id: r.membership.groupId,
      head_id: r.headId,
      role: r.membership.role as MemberRole,
      start_date: r.membership.startDate,
      person: toIndividual(r.person, ids.get(r.person.id) ?? []),
    })),
    ...(next ? { next } : {}),
  };
}

export async function countRelationships(db: Db, actor: Actor, where: SQL[]): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(groupMembers)
    .innerJoin(head, and(eq(head.groupId, groupMembers.groupId), eq(head.role, 'head'), isNull(head.endDate)))
    .innerJoin(groups, eq(groups.id, groupMembers.groupId))
    .innerJoin(individuals, eq(individuals.id, groupMembers.individualId))
    .where(visible(actor, where));
  return row?.n ?? 0;
}

/** One relationship by membership id; 404 when it is not (or no longer) a visible current relationship. */
export async function getRelationship(db: Db, actor: Actor, id: string): Promise<Relationship> {
  const found = await findRelationships(db, actor, { where: [inArray(groupMembers.id, [id])], limit: 1 });
  if (!found.items[0]) throw notFound('relationship', id);
  return found.items[0];
}
