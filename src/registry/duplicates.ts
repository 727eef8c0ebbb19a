import { and, asc, desc, eq, isNull, or, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { decodeCursor, toPage, type Page } from '../db/keyset.js';
import { queryRows } from '../db/query-rows.js';
import { duplicateCandidates, groups, identifiers, individuals } from '../db/schema/index.js';
import { conflict, gone, notFound, unprocessable } from '../errors.js';
import type { Actor } from '../security/actor.js';
import { withinScope } from '../security/geo-scope.js';
import { identifiersOf, toIndividual } from './individuals.js';
import { recordGroupVersion, recordVersion } from './record-versions.js';
import type { DuplicateCandidate, DuplicatePerson, DuplicateStatus, Individual } from './schemas.js';

const other = alias(individuals, 'other');
type Row = typeof duplicateCandidates.$inferSelect;
type PersonRow = typeof individuals.$inferSelect;

const person = (row: PersonRow): DuplicatePerson => ({
  id: row.id,
  given_name: row.givenName,
  family_name: row.familyName,
  sex: row.sex as DuplicatePerson['sex'],
  birth_date: row.birthDate,
  location_id: row.locationId,
  deleted: row.deletedAt !== null,
  merged_into: row.mergedInto,
});

function toCandidate(row: Row, first: PersonRow, second: PersonRow | null): DuplicateCandidate {
  return {
    id: row.id,
    kind: row.kind as DuplicateCandidate['kind'],
    status: row.status as DuplicateStatus,
    score: row.score,
    reasons: row.reasons,
    individual: person(first),
    other: second ? person(second) : null,
    incoming: row.incoming,
    created_at: row.createdAt.toISOString(),
    decided_by: row.decidedBy,
    decided_at: row.decidedAt?.toISOString() ?? null,
  };
}

/**
 * A candidate is visible when each of its records is inside the actor's geographic scope. While open, a candidate
 * whose record has since been deleted (or merged by another decision) is no longer shown: there is nothing to decide.
 */
function visibility(actor: Actor, status: DuplicateStatus | undefined): SQL | undefined {
  const otherInScope = withinScope(actor, other.locationId);
  return and(
    withinScope(actor, individuals.locationId),
    otherInScope ? or(isNull(duplicateCandidates.otherId), otherInScope) : undefined,
    status === 'open' ? and(isNull(individuals.deletedAt), isNull(other.deletedAt)) : undefined,
  );
}

const select = (db: Db) =>
  db
    .select({ candidate: duplicateCandidates, first: individuals, second: other })
    .from(duplicateCandidates)
    .innerJoin(individuals, eq(individuals.id, duplicateCandidates.individualId))
    .leftJoin(other, eq(other.id, duplicateCandidates.otherId));

/** The cursor is "score:id" of the last candidate: the list runs best score first, then by id. */
const cursorKey = /^(\d{1,3}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export async function listDuplicates(
  db: Db,
  actor: Actor,
  filters: { status?: DuplicateStatus; kind?: DuplicateCandidate['kind']; individual_id?: string },
  limit: number,
  cursor: string | undefined,
): Promise<Page<DuplicateCandidate>> {
  let after: SQL | undefined;
  if (cursor !== undefined) {
    const [, score, id] = cursorKey.exec(decodeCursor(cursor, (k) => cursorKey.test(k)))!;
    after = sql`(${duplicateCandidates.score} < ${Number(score)} OR (${duplicateCandidates.score} = ${Number(score)} AND ${duplicateCandidates.id} > ${id}))`;
  }
  const rows = await select(db)
    .where(
      and(
        filters.status ? eq(duplicateCandidates.status, filters.status) : undefined,
        filters.kind ? eq(duplicateCandidates.kind, filters.kind) : undefined,
        filters.individual_id
          ? or(eq(duplicateCandidates.individualId, filters.individual_id), eq(duplicateCandidates.otherId, filters.individual_id))
          : undefined,
        visibility(actor, filters.status),
        after,
      ),
    )
    .orderBy(desc(duplicateCandidates.score), asc(duplicateCandidates.id))
    .limit(limit + 1);
  return toPage(
    rows.map((r) => toCandidate(r.candidate, r.first, r.second)),
    limit,
    (c) => `${c.score}:${c.id}`,
  );
}

/** The candidate locked for a decision: 404 when absent or out of scope, 409 unless still open, 410 for a deleted record. */
async function lockOpen(tx: Db, actor: Actor, id: string) {
  const [row] = await select(tx)
    .where(and(eq(duplicateCandidates.id, id), visibility(actor, undefined)))
    .for('update', { of: duplicateCandidates });
  if (!row) throw notFound('duplicate candidate', id);
  if (row.candidate.status !== 'open') throw conflict(`duplicate candidate ${id} is already ${row.candidate.status}`);
  for (const record of [row.first, row.second]) if (record?.deletedAt) throw gone('individual', record.id);
  return row;
}

async function decide(tx: Db, actor: Actor, id: string, status: DuplicateStatus) {
  const [row] = await tx
    .update(duplicateCandidates)
    .set({ status, decidedBy: actor.id, decidedAt: new Date() })
    .where(eq(duplicateCandidates.id, id))
    .returning();
  return row!;
}

/** Not the same person (or, for a held import row, the row may be applied by re-running the import). */
export function dismissDuplicate(db: Db, actor: Actor, id: string): Promise<DuplicateCandidate> {
  return db.transaction(async (tx) => {
    const { first, second } = await lockOpen(tx, actor, id);
    const row = await decide(tx, actor, id, 'dismissed');
    const decided = toCandidate(row, first, second);
    await appendAudit(tx, actor, { action: 'duplicate.dismiss', entityType: 'duplicate_candidate', entityId: id, after: decided });
    return decided;
  });
}

export interface MergeResult {
  candidate: DuplicateCandidate;
  survivor: Individual;
}

async function snapshot(tx: Db, id: string): Promise<Individual> {
  const [row] = await tx.select().from(individuals).where(eq(individuals.id, id));
  return toIndividual(row!, (await identifiersOf(tx, [id])).get(id)!);
}

/**
 * Merges the pair into `survivorId` (one of the two; by default the record registered first). The survivor keeps
 * its own values and takes the other's for fields it lacks (attributes: its own keys win); it takes all the
 * other's identifiers and memberships — except a current membership of a household it already belongs to, which
 * ends today on the merged record. The merged record is soft-deleted with merged_into set (reads answer 410), and
 * both changes are versioned (record_versions) and audited, as are the households whose members changed.
 */
export function mergeDuplicate(db: Db, actor: Actor, id: string, survivorId: string | undefined): Promise<MergeResult> {
  return db.transaction(async (tx) => {
    const { candidate, first, second } = await lockOpen(tx, actor, id);
    if (!second) throw conflict(`duplicate candidate ${id} holds back an import row, not a pair: dismiss it to apply the row, or correct the records`);
    const byAge = [first, second].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
    const keep = survivorId ?? byAge[0]!.id;
    if (keep !== first.id && keep !== second.id) throw unprocessable('survivor_id must be one of the two records of the candidate', '/survivor_id');
    const [survivor, merged] = keep === first.id ? [first, second] : [second, first];
    // Both records locked in id order (as every merge takes them), so that two merges never deadlock; the values
    // merged are read after the locks.
    const locked = await tx
      .select({ id: individuals.id, deletedAt: individuals.deletedAt })
      .from(individuals)
      .where(or(eq(individuals.id, first.id), eq(individuals.id, second.id)))
      .orderBy(asc(individuals.id))
      .for('update');
    for (const record of locked) if (record.deletedAt) throw gone('individual', record.id);
    const survivorBefore = await snapshot(tx, survivor.id);
    const mergedBefore = await snapshot(tx, merged.id);
    const now = new Date();
    const today = now.toISOString().slice(0, 10);

    await tx.update(identifiers).set({ individualId: survivor.id }).where(eq(identifiers.individualId, merged.id));
    const touched = await queryRows<{ group_id: string }>(
      tx,
      sql`
      WITH moved AS (
        UPDATE group_members m SET individual_id = ${survivor.id}
        WHERE m.individual_id = ${merged.id}
          AND NOT (m.end_date IS NULL AND EXISTS (SELECT 1 FROM group_members o WHERE o.individual_id = ${survivor.id}
                                                  AND o.group_id = m.group_id AND o.end_date IS NULL))
        RETURNING m.group_id, m.end_date
      ), ended AS (
        UPDATE group_members SET end_date = ${today} WHERE individual_id = ${merged.id} AND end_date IS NULL RETURNING group_id
      )
      SELECT group_id FROM moved WHERE end_date IS NULL UNION SELECT group_id FROM ended`,
    );
    const groupIds = touched.map((r) => r.group_id);

    await tx
      .update(individuals)
      .set({
        middleName: survivorBefore.middle_name ?? mergedBefore.middle_name,
        birthDate: survivorBefore.birth_date ?? mergedBefore.birth_date,
        deathDate: survivorBefore.death_date ?? mergedBefore.death_date,
        locationId: survivorBefore.location_id ?? mergedBefore.location_id,
        phone: survivorBefore.phone ?? mergedBefore.phone,
        email: survivorBefore.email ?? mergedBefore.email,
        sex: survivorBefore.sex === 'unknown' ? mergedBefore.sex : survivorBefore.sex,
        attributes: { ...mergedBefore.attributes, ...survivorBefore.attributes },
        version: sql`${individuals.version} + 1`,
        updatedAt: now,
      })
      .where(eq(individuals.id, survivor.id));
    await tx
      .update(individuals)
      .set({ deletedAt: now, mergedInto: survivor.id, version: sql`${individuals.version} + 1`, updatedAt: now })
      .where(eq(individuals.id, merged.id));

    const survivorAfter = await snapshot(tx, survivor.id);
    const mergedAfter = await snapshot(tx, merged.id);
    await appendAudit(tx, actor, {
      action: 'individual.merge',
      entityType: 'individual',
      entityId: survivor.id,
      before: survivorBefore,
      after: { ...survivorAfter, merged_from: merged.id, duplicate_candidate: id },
    });
    await appendAudit(tx, actor, {
      action: 'individual.merged',
      entityType: 'individual',
      entityId: merged.id,
      before: mergedBefore,
      after: { merged_into: survivor.id, duplicate_candidate: id },
    });
    await recordVersion(tx, actor, 'individual', survivorAfter);
    await recordVersion(tx, actor, 'individual', mergedAfter, now);
    for (const groupId of groupIds) {
      await tx.update(groups).set({ version: sql`${groups.version} + 1`, updatedAt: now }).where(eq(groups.id, groupId));
      await appendAudit(tx, actor, {
        action: 'group.member.merge',
        entityType: 'group',
        entityId: groupId,
        after: { merged: merged.id, survivor: survivor.id },
      });
      await recordGroupVersion(tx, actor, groupId);
    }
    const row = await decide(tx, actor, id, 'merged');
    const [firstNow] = await tx.select().from(individuals).where(eq(individuals.id, candidate.individualId));
    const [secondNow] = await tx.select().from(individuals).where(eq(individuals.id, candidate.otherId!));
    const decided = toCandidate(row, firstNow!, secondNow!);
    await appendAudit(tx, actor, { action: 'duplicate.merge', entityType: 'duplicate_candidate', entityId: id, after: decided });
    return { candidate: decided, survivor: survivorAfter };
  });
}
