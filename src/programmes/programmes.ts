import { and, asc, eq, gt, inArray, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { decodeCursor, isUuid, toPage, type Page } from '../db/keyset.js';
import { programmes } from '../db/schema/index.js';
import { assertOperator } from './organizations.js';
import { checkReadable, checkWritable } from '../registry/versioning.js';
import type { Actor } from '../security/actor.js';
import { assertLocationInScope, withinScope } from '../security/geo-scope.js';
import { unprocessable } from '../errors.js';
import type { Approvals, OnMemberDeath, Programme, ProgrammeInput, ProgrammePatch } from './schemas.js';
import { compileProgrammeFormula, vocabularyFor, type Subject } from './vocabulary.js';

type Row = typeof programmes.$inferSelect;

/** Every kind of change with its number of levels, 0 for those not named. */
export const approvalsOf = (stored: Partial<Approvals> | null | undefined): Approvals => ({
  enrolment: stored?.enrolment ?? 0,
  status_change: stored?.status_change ?? 0,
  death_suspension: stored?.death_suspension ?? 0,
});

export function toProgramme(row: Row): Programme {
  return {
    id: row.id,
    code: row.code,
    subject: row.subject as Subject,
    name: row.name,
    status: row.status as Programme['status'],
    eligibility: row.eligibility,
    score: row.score,
    location_id: row.locationId,
    quota: row.quota,
    budget: row.budget === null ? null : Number(row.budget),
    currency: row.currency,
    operator_id: row.operatorId,
    approvals: approvalsOf(row.approvals),
    on_member_death: row.onMemberDeath as OnMemberDeath,
    version: row.version,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** Formulas are checked when saved, so a programme never holds one that cannot run. */
async function checkFormulas(db: Db, subject: Subject, eligibility: string | null, score: string | null) {
  const vocabulary = await vocabularyFor(db, subject, new Date().toISOString().slice(0, 10));
  if (eligibility) compileProgrammeFormula(eligibility, vocabulary, 'boolean', '/eligibility');
  if (score) compileProgrammeFormula(score, vocabulary, 'number', '/score');
}

function columnsOf(input: Omit<ProgrammeInput, 'code' | 'subject'>) {
  return {
    name: input.name,
    status: input.status,
    eligibility: input.eligibility,
    score: input.score,
    locationId: input.location_id,
    quota: input.quota,
    budget: input.budget === undefined || input.budget === null ? input.budget : String(input.budget),
    currency: input.currency,
    operatorId: input.operator_id,
    approvals: input.approvals === undefined ? undefined : approvalsOf(input.approvals),
    onMemberDeath: input.on_member_death,
  };
}

/** Only a household programme has members whose death could suspend its benefit. */
function checkDeathRule(subject: Subject, rule: OnMemberDeath | undefined) {
  if (rule === 'suspend_household' && subject !== 'group') {
    throw unprocessable('on_member_death applies to household (group) programmes', '/on_member_death');
  }
}

/** A programme created without `approvals` takes the hub's default rule (HUB_APPROVALS). */
export function createProgramme(db: Db, actor: Actor, input: ProgrammeInput, defaultApprovals: Partial<Approvals> = {}): Promise<Programme> {
  return db.transaction(async (tx) => {
    checkDeathRule(input.subject, input.on_member_death);
    await checkFormulas(tx, input.subject, input.eligibility ?? null, input.score ?? null);
    await assertLocationInScope(tx, actor, input.location_id ?? null, '/location_id');
    await assertOperator(tx, input.operator_id, '/operator_id');
    const [row] = await tx
      .insert(programmes)
      .values({
        ...columnsOf(input),
        name: input.name ?? input.code,
        code: input.code,
        subject: input.subject,
        approvals: approvalsOf(input.approvals ?? defaultApprovals),
      })
      .returning();
    const created = toProgramme(row!);
    await appendAudit(tx, actor, { action: 'programme.create', entityType: 'programme', entityId: created.id, after: created });
    return created;
  });
}

/** A client with a geographic scope sees the programmes run inside its area. */
const visible = (actor: Actor, id: string) => and(eq(programmes.id, id), withinScope(actor, programmes.locationId));

/** `column` names a programme the actor may see: for what belongs to a programme (payment plans and cycles). */
export function programmeInScope(db: Db, actor: Actor, column: AnyPgColumn): SQL | undefined {
  const scope = withinScope(actor, programmes.locationId);
  return scope ? inArray(column, db.select({ id: programmes.id }).from(programmes).where(scope)) : undefined;
}

export async function getProgramme(db: Db, actor: Actor, id: string): Promise<Programme> {
  const [row] = await db.select().from(programmes).where(visible(actor, id));
  return toProgramme(checkReadable(row, 'programme', id));
}

export function updateProgramme(db: Db, actor: Actor, id: string, expectedVersion: number | undefined, patch: ProgrammePatch) {
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(programmes).where(visible(actor, id)).for('update');
    const row = checkWritable(current, 'programme', id, expectedVersion);
    const { version: _version, ...fields } = patch;
    checkDeathRule(row.subject as Subject, fields.on_member_death);
    await checkFormulas(
      tx,
      row.subject as Subject,
      fields.eligibility === undefined ? row.eligibility : fields.eligibility,
      fields.score === undefined ? row.score : fields.score,
    );
    if (fields.location_id !== undefined) await assertLocationInScope(tx, actor, fields.location_id, '/location_id');
    await assertOperator(tx, fields.operator_id, '/operator_id');
    const [updated] = await tx
      .update(programmes)
      .set({ ...columnsOf(fields), version: row.version + 1, updatedAt: new Date() })
      .where(eq(programmes.id, id))
      .returning();
    const after = toProgramme(updated!);
    await appendAudit(tx, actor, { action: 'programme.update', entityType: 'programme', entityId: id, before: toProgramme(row), after });
    return after;
  });
}

export async function listProgrammes(db: Db, actor: Actor, limit: number, cursor: string | undefined): Promise<Page<Programme>> {
  const conditions: (SQL | undefined)[] = [withinScope(actor, programmes.locationId)];
  if (cursor !== undefined) conditions.push(gt(programmes.id, decodeCursor(cursor, isUuid)));
  const rows = await db
    .select()
    .from(programmes)
    .where(and(...conditions))
    .orderBy(asc(programmes.id))
    .limit(limit + 1);
  return toPage(rows.map(toProgramme), limit, (p) => p.id);
}
