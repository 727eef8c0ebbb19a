import { randomBytes } from 'node:crypto';
import { and, asc, count, eq, gt, inArray, isNull, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { decodeCursor, isUuid, toPage, type Page } from '../db/keyset.js';
import { inLocations, subtreeOf } from '../db/location-tree.js';
import { groupMembers, groups, individuals } from '../db/schema/index.js';
import { conflict, notFound, unprocessable } from '../errors.js';
import type { Actor } from '../security/actor.js';
import { assertLocationInScope, personInScope, withinScope } from '../security/geo-scope.js';
import { insertIndividual } from './individuals.js';
import type { Group, GroupInput, GroupPatch, Member, MemberInput } from './schemas.js';
import { recordGroupVersion } from './record-versions.js';
import { attributeConditions, COUNT_CAP } from './search.js';
import { checkReadable, checkWritable } from './versioning.js';

type Row = typeof groups.$inferSelect;

export function toGroup(row: Row, members: Member[]): Group {
  return {
    id: row.id,
    code: row.code,
    kind: row.kind,
    name: row.name,
    location_id: row.locationId,
    attributes: row.attributes,
    members,
    version: row.version,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** Current members of each group; members located outside the reader's geographic scope are not shown. */
export async function membersOf(db: Db, actor: Actor, groupIds: string[]): Promise<Map<string, Member[]>> {
  const byGroup = new Map<string, Member[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return byGroup;
  const rows = await db
    .select({
      groupId: groupMembers.groupId,
      individual_id: groupMembers.individualId,
      role: groupMembers.role,
      start_date: groupMembers.startDate,
      end_date: groupMembers.endDate,
      given_name: individuals.givenName,
      family_name: individuals.familyName,
      sex: individuals.sex,
      birth_date: individuals.birthDate,
    })
    .from(groupMembers)
    .innerJoin(individuals, eq(individuals.id, groupMembers.individualId))
    .where(
      and(
        inArray(groupMembers.groupId, groupIds),
        isNull(groupMembers.endDate),
        withinScope(actor, individuals.locationId),
      ),
    )
    .orderBy(asc(groupMembers.groupId), asc(individuals.birthDate), asc(individuals.id));
  for (const { groupId, ...member } of rows) byGroup.get(groupId)?.push(member as Member);
  return byGroup;
}

/** Household codes are short, unambiguous (no 0/O, 1/I) and random. */
function newGroupCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return 'HH-' + Array.from(randomBytes(10), (b) => alphabet[b % alphabet.length]).join('');
}

/** The individual must exist, not be deleted and be visible to the actor. */
async function assertVisibleIndividual(tx: Db, actor: Actor, individualId: string, pointer: string) {
  const [row] = await tx
    .select({ id: individuals.id })
    .from(individuals)
    .where(and(eq(individuals.id, individualId), isNull(individuals.deletedAt), withinScope(actor, individuals.locationId)));
  if (!row) throw unprocessable(`individual ${individualId} does not exist`, pointer);
}

async function addMemberRow(tx: Db, actor: Actor, groupId: string, member: MemberInput, pointer: string) {
  let individualId = member.individual_id;
  if (member.individual && individualId) {
    throw unprocessable('give either individual_id or individual, not both', pointer);
  }
  if (member.individual) {
    individualId = (await insertIndividual(tx, actor, member.individual, `${pointer}/individual`)).id;
  } else if (individualId) {
    await assertVisibleIndividual(tx, actor, individualId, `${pointer}/individual_id`);
  } else {
    throw unprocessable('a member needs individual_id or individual', pointer);
  }
  await tx
    .insert(groupMembers)
    .values({ groupId, individualId, role: member.role, startDate: member.start_date ?? null });
}

function assertOneHead(members: MemberInput[]) {
  const heads = members.filter((m) => m.role === 'head').length;
  if (heads > 1) throw unprocessable('a group has at most one head', '/members');
}

export function createGroup(db: Db, actor: Actor, input: GroupInput): Promise<Group> {
  return db.transaction(async (tx) => {
    await assertLocationInScope(tx, actor, input.location_id ?? null, '/location_id');
    const members = input.members ?? [];
    assertOneHead(members);
    const [row] = await tx
      .insert(groups)
      .values({
        code: input.code ?? newGroupCode(),
        kind: input.kind ?? 'household',
        name: input.name ?? null,
        locationId: input.location_id ?? null,
        attributes: input.attributes ?? {},
      })
      .returning();
    for (const [i, member] of members.entries()) await addMemberRow(tx, actor, row!.id, member, `/members/${i}`);
    const created = toGroup(row!, (await membersOf(tx, actor, [row!.id])).get(row!.id)!);
    await appendAudit(tx, actor, { action: 'group.create', entityType: 'group', entityId: created.id, after: created });
    await recordGroupVersion(tx, actor, created.id);
    return created;
  });
}

export async function getGroup(db: Db, actor: Actor, id: string): Promise<Group> {
  const [row] = await db
    .select()
    .from(groups)
    .where(and(eq(groups.id, id), withinScope(actor, groups.locationId)));
  const found = checkReadable(row, 'group', id);
  return toGroup(found, (await membersOf(db, actor, [id])).get(id)!);
}

async function lockGroup(tx: Db, actor: Actor, id: string, expectedVersion: number | undefined) {
  const [row] = await tx
    .select()
    .from(groups)
    .where(and(eq(groups.id, id), withinScope(actor, groups.locationId)))
    .for('update');
  return checkWritable(row, 'group', id, expectedVersion);
}

/** Runs a change to a group under its row lock, bumps its version and audits before/after. */
function changeGroup(
  db: Db,
  actor: Actor,
  id: string,
  expectedVersion: number | undefined,
  action: string,
  change: (tx: Db, current: Row) => Promise<Partial<typeof groups.$inferInsert>>,
): Promise<Group> {
  return db.transaction(async (tx) => {
    const current = await lockGroup(tx, actor, id, expectedVersion);
    const before = toGroup(current, (await membersOf(tx, actor, [id])).get(id)!);
    const set = await change(tx, current);
    const [row] = await tx
      .update(groups)
      .set({ ...set, version: current.version + 1, updatedAt: new Date() })
      .where(eq(groups.id, id))
      .returning();
    const after = toGroup(row!, (await membersOf(tx, actor, [id])).get(id)!);
    await appendAudit(tx, actor, { action, entityType: 'group', entityId: id, before, after });
    await recordGroupVersion(tx, actor, id);
    return after;
  });
}

export function updateGroup(db: Db, actor: Actor, id: string, expectedVersion: number | undefined, patch: GroupPatch) {
  return changeGroup(db, actor, id, expectedVersion, 'group.update', async (tx) => {
    if (patch.location_id !== undefined) await assertLocationInScope(tx, actor, patch.location_id, '/location_id');
    return {
      code: patch.code,
      kind: patch.kind,
      name: patch.name,
      locationId: patch.location_id,
      attributes: patch.attributes,
    };
  });
}

/**
 * Replaces a group's fields and its current members in one version (a FHIR update): members left out leave today,
 * new ones join, and a changed role ends the old membership and starts a new one. Members outside the caller's
 * geographic scope are neither seen nor touched.
 */
export function replaceGroup(db: Db, actor: Actor, id: string, expectedVersion: number | undefined, input: GroupInput) {
  return changeGroup(db, actor, id, expectedVersion, 'group.replace', async (tx) => {
    if (input.location_id !== undefined) await assertLocationInScope(tx, actor, input.location_id, '/location_id');
    const members = input.members ?? [];
    assertOneHead(members);
    const current = (await membersOf(tx, actor, [id])).get(id)!;
    const wanted = new Map(members.map((m) => [m.individual_id, m]));
    const today = new Date().toISOString().slice(0, 10);
    for (const member of current) {
      if (wanted.get(member.individual_id)?.role === member.role) continue;
      await tx
        .update(groupMembers)
        .set({ endDate: today })
        .where(and(eq(groupMembers.groupId, id), eq(groupMembers.individualId, member.individual_id), isNull(groupMembers.endDate)));
    }
    for (const [i, member] of members.entries()) {
      if (current.some((c) => c.individual_id === member.individual_id && c.role === member.role)) continue;
      await addMemberRow(tx, actor, id, member, `/members/${i}`);
    }
    return { code: input.code, kind: input.kind ?? 'household', name: input.name ?? null, locationId: input.location_id ?? null };
  });
}

export function addMember(db: Db, actor: Actor, groupId: string, expectedVersion: number | undefined, member: MemberInput) {
  return changeGroup(db, actor, groupId, expectedVersion, 'group.member.add', async (tx) => {
    if (member.individual_id) {
      // Visibility first: "already a member" about a person outside the scope would tell that the person exists.
      await assertVisibleIndividual(tx, actor, member.individual_id, '/individual_id');
      const [existing] = await tx
        .select({ id: groupMembers.id })
        .from(groupMembers)
        .where(
          and(
            eq(groupMembers.groupId, groupId),
            eq(groupMembers.individualId, member.individual_id),
            isNull(groupMembers.endDate),
          ),
        );
      if (existing) throw conflict(`individual ${member.individual_id} is already a member of group ${groupId}`);
    }
    await addMemberRow(tx, actor, groupId, member, '');
    return {};
  });
}

/** Ends a membership (history is kept): the person leaves the household on end_date (default today). */
export function endMembership(
  db: Db,
  actor: Actor,
  groupId: string,
  individualId: string,
  expectedVersion: number | undefined,
  endDate: string | undefined,
) {
  return changeGroup(db, actor, groupId, expectedVersion, 'group.member.end', async (tx) => {
    const ended = await tx
      .update(groupMembers)
      .set({ endDate: endDate ?? new Date().toISOString().slice(0, 10) })
      .where(
        and(
          eq(groupMembers.groupId, groupId),
          eq(groupMembers.individualId, individualId),
          isNull(groupMembers.endDate),
          personInScope(actor, groupMembers.individualId),
        ),
      )
      .returning({ id: groupMembers.id });
    if (ended.length === 0) throw notFound('current member', individualId);
    return {};
  });
}

export function deleteGroup(db: Db, actor: Actor, id: string, expectedVersion: number | undefined) {
  return changeGroup(db, actor, id, expectedVersion, 'group.delete', async (tx) => {
    await tx
      .update(groupMembers)
      .set({ endDate: new Date().toISOString().slice(0, 10) })
      .where(and(eq(groupMembers.groupId, id), isNull(groupMembers.endDate)));
    return { deletedAt: new Date() };
  });
}

export interface GroupFilters {
  location_id?: string;
  kind?: string;
  code?: string;
  member_id?: string;
  attr?: string[];
}

/** Filters with the location subtree already read (see inLocations). */
export interface GroupSearch extends GroupFilters {
  location_ids?: string[];
}

export async function resolveGroupFilters(db: Db, filters: GroupFilters): Promise<GroupSearch> {
  return filters.location_id ? { ...filters, location_ids: await subtreeOf(db, filters.location_id) } : filters;
}

function searchConditions(db: Db, actor: Actor, filters: GroupSearch): (SQL | undefined)[] {
  const conditions: (SQL | undefined)[] = [isNull(groups.deletedAt), withinScope(actor, groups.locationId)];
  if (filters.location_ids) conditions.push(inLocations(groups.locationId, filters.location_ids));
  if (filters.kind) conditions.push(eq(groups.kind, filters.kind));
  if (filters.code) conditions.push(eq(groups.code, filters.code));
  if (filters.member_id) {
    conditions.push(
      inArray(
        groups.id,
        db
          .select({ id: groupMembers.groupId })
          .from(groupMembers)
          .where(and(eq(groupMembers.individualId, filters.member_id), isNull(groupMembers.endDate), personInScope(actor, groupMembers.individualId))),
      ),
    );
  }
  conditions.push(...attributeConditions(groups.attributes, filters.attr));
  return conditions;
}

/** The query a list page runs; exported so tests can EXPLAIN exactly what the API executes. */
export function groupSearchQuery(db: Db, actor: Actor, filters: GroupSearch, limit: number, cursor: string | undefined) {
  const conditions = searchConditions(db, actor, filters);
  if (cursor !== undefined) conditions.push(gt(groups.id, decodeCursor(cursor, isUuid)));
  return db
    .select()
    .from(groups)
    .where(and(...conditions))
    .orderBy(asc(groups.id))
    .limit(limit + 1);
}

export async function listGroups(
  db: Db,
  actor: Actor,
  filters: GroupFilters,
  limit: number,
  cursor: string | undefined,
  withTotal = false,
): Promise<Page<Group> & { total?: number; total_capped?: boolean }> {
  const search = await resolveGroupFilters(db, filters);
  const rows = await groupSearchQuery(db, actor, search, limit, cursor);
  const members = await membersOf(db, actor, rows.slice(0, limit).map((r) => r.id));
  const page = toPage(
    rows.map((r) => toGroup(r, members.get(r.id) ?? [])),
    limit,
    (g) => g.id,
  );
  if (!withTotal) return page;
  const matches = db
    .select({ id: groups.id })
    .from(groups)
    .where(and(...searchConditions(db, actor, search)))
    .limit(COUNT_CAP + 1)
    .as('matches');
  const [counted] = await db.select({ total: count() }).from(matches);
  const total = counted?.total ?? 0;
  return { ...page, total: Math.min(total, COUNT_CAP), total_capped: total > COUNT_CAP };
}
