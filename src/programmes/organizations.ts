import { and, asc, count, eq, getTableColumns, gt, isNull, sql, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { decodeCursor, isUuid, toPage, type Page } from '../db/keyset.js';
import { organizations, programmes } from '../db/schema/index.js';
import { keyset, sortedPage } from '../db/sorted-keyset.js';
import { conflict, unprocessable } from '../errors.js';
import type { Found, Selection } from '../registry/scoped-search.js';
import { recordVersion } from '../registry/record-versions.js';
import { checkReadable, checkWritable } from '../registry/versioning.js';
import type { Actor } from '../security/actor.js';
import type { Organization, OrganizationInput, OrganizationPatch } from './schemas.js';

type Row = typeof organizations.$inferSelect;

export function toOrganization(row: Row): Organization {
  return {
    id: row.id,
    type: row.type as Organization['type'],
    name: row.name,
    identifiers: row.identifiers,
    contact: row.contact,
    active: row.active,
    version: row.version,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export function createOrganization(db: Db, actor: Actor, input: OrganizationInput): Promise<Organization> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(organizations)
      .values({ type: input.type, name: input.name, identifiers: input.identifiers ?? [], contact: input.contact ?? {}, active: input.active ?? true })
      .returning();
    const created = toOrganization(row!);
    await appendAudit(tx, actor, { action: 'organization.create', entityType: 'organization', entityId: created.id, after: created });
    await recordVersion(tx, actor, 'organization', created);
    return created;
  });
}

/** Organisations are not located: every reader sees all of them, whatever its geographic scope. */
export async function getOrganization(db: Db, id: string): Promise<Organization> {
  const [row] = await db.select().from(organizations).where(eq(organizations.id, id));
  return toOrganization(checkReadable(row, 'organization', id));
}

export function updateOrganization(db: Db, actor: Actor, id: string, expectedVersion: number | undefined, patch: OrganizationPatch) {
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(organizations).where(eq(organizations.id, id)).for('update');
    const row = checkWritable(current, 'organization', id, expectedVersion);
    const { version: _version, ...fields } = patch;
    const [updated] = await tx
      .update(organizations)
      .set({ ...fields, version: row.version + 1, updatedAt: new Date() })
      .where(eq(organizations.id, id))
      .returning();
    const after = toOrganization(updated!);
    await appendAudit(tx, actor, { action: 'organization.update', entityType: 'organization', entityId: id, before: toOrganization(row), after });
    await recordVersion(tx, actor, 'organization', after);
    return after;
  });
}

/** Deletes an organisation no programme names as its operator (deactivate it instead while programmes do). */
export function deleteOrganization(db: Db, actor: Actor, id: string, expectedVersion: number | undefined): Promise<void> {
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(organizations).where(eq(organizations.id, id)).for('update');
    const row = checkWritable(current, 'organization', id, expectedVersion);
    const [operated] = await tx.select({ code: programmes.code }).from(programmes).where(eq(programmes.operatorId, id)).limit(1);
    if (operated) throw conflict(`organization ${id} operates programme ${operated.code}: set active to false instead`);
    const [deleted] = await tx
      .update(organizations)
      .set({ deletedAt: new Date(), version: row.version + 1, updatedAt: new Date() })
      .where(eq(organizations.id, id))
      .returning();
    await appendAudit(tx, actor, { action: 'organization.delete', entityType: 'organization', entityId: id, before: toOrganization(row) });
    await recordVersion(tx, actor, 'organization', toOrganization(deleted!), deleted!.deletedAt);
  });
}

export async function listOrganizations(
  db: Db,
  filter: { type?: Organization['type'] | undefined },
  limit: number,
  cursor: string | undefined,
): Promise<Page<Organization>> {
  const conditions: (SQL | undefined)[] = [isNull(organizations.deletedAt), filter.type ? eq(organizations.type, filter.type) : undefined];
  if (cursor !== undefined) conditions.push(gt(organizations.id, decodeCursor(cursor, isUuid)));
  const rows = await db
    .select()
    .from(organizations)
    .where(and(...conditions))
    .orderBy(asc(organizations.id))
    .limit(limit + 1);
  return toPage(rows.map(toOrganization), limit, (o) => o.id);
}

/** A programme's operator must be an existing programme-operator or government organisation. */
export async function assertOperator(tx: Db, operatorId: string | null | undefined, pointer: string) {
  if (operatorId === null || operatorId === undefined) return;
  const [row] = await tx
    .select({ type: organizations.type })
    .from(organizations)
    .where(and(eq(organizations.id, operatorId), isNull(organizations.deletedAt)));
  if (!row) throw unprocessable(`organization ${operatorId} does not exist`, pointer);
  if (row.type === 'payment-provider') throw unprocessable('a payment provider cannot operate a programme', pointer);
}

/** Conditions over the organizations table, for searches another surface builds (FHIR). */
export const organizationIdentifierMatch = (identifier: Partial<{ system: string; value: string }>): SQL =>
  sql`${organizations.identifiers} @> ${JSON.stringify([identifier])}::jsonb`;

/** Organisations (not deleted) meeting conditions another surface builds (FHIR search), keyset-paged. */
export async function findOrganizations(db: Db, sel: Selection): Promise<Found<Organization>> {
  const seek = keyset(organizations.id, sel.order, sel.after);
  const rows = await db
    .select({ ...getTableColumns(organizations), sortValue: seek.value })
    .from(organizations)
    .where(and(isNull(organizations.deletedAt), ...sel.where, seek.where))
    .orderBy(...seek.orderBy)
    .limit(sel.limit + 1);
  const { page, next } = sortedPage(rows, sel.limit, (r) => r.id);
  return { items: page.map(toOrganization), ...(next ? { next } : {}) };
}

export async function countOrganizations(db: Db, where: SQL[]): Promise<number> {
  const [row] = await db.select({ n: count() }).from(organizations).where(and(isNull(organizations.deletedAt), ...where));
  return row?.n ?? 0;
}
