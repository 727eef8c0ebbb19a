import { and, asc, eq, gt, sql, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import { useBulkMemory } from '../db/bulk-memory.js';
import type { Db } from '../db/client.js';
import { decodeCursor, isUuid, toPage, type Page } from '../db/keyset.js';
import { queryRows } from '../db/query-rows.js';
import { beneficiaries, beneficiaryEvents, programmes } from '../db/schema/index.js';
import { conflict, notFound } from '../errors.js';
import type { Actor } from '../security/actor.js';
import { enrolmentBudget } from '../payments/budget.js';
import { consideredSubjects } from './eligibility.js';
import { getProgramme, toProgramme } from './programmes.js';
import type { Beneficiary, BeneficiaryStatus, EnrolmentInput, EnrolmentResult } from './schemas.js';
import { vocabularyFor } from './vocabulary.js';

/** The statuses a beneficiary may come from to reach each status. POTENTIAL is entered only by enrolment. */
const ALLOWED_FROM: Record<BeneficiaryStatus, BeneficiaryStatus[]> = {
  POTENTIAL: [],
  ACTIVE: ['POTENTIAL', 'SUSPENDED'],
  SUSPENDED: ['ACTIVE'],
  GRADUATED: ['ACTIVE', 'SUSPENDED'],
};

/** Statuses that hold a place in the programme's quota. */
const HOLDING_QUOTA: BeneficiaryStatus[] = ['POTENTIAL', 'ACTIVE', 'SUSPENDED'];

type Row = typeof beneficiaries.$inferSelect;

const toBeneficiary = (row: Row): Beneficiary => ({
  id: row.id,
  programme_id: row.programmeId,
  subject_id: row.subjectId,
  status: row.status as BeneficiaryStatus,
  score: row.score === null ? null : Number(row.score),
  reason: row.reason,
  version: row.version,
  created_at: row.createdAt.toISOString(),
  updated_at: row.updatedAt.toISOString(),
});

/**
 * The one path every beneficiary status change takes (single, bulk, or a death recorded in the registry): the
 * change, its history rows and one audit entry, in the caller's transaction. Answers how many changed; rows whose
 * current status cannot move to `to` are left alone.
 */
export async function changeBeneficiaryStatus(
  tx: Db,
  actor: Actor,
  selection: SQL,
  to: BeneficiaryStatus,
  reason: string,
): Promise<string[]> {
  const from = ALLOWED_FROM[to];
  if (from.length === 0) return [];
  const changed = await queryRows<{ id: string }>(
    tx,
    sql`WITH target AS (
          SELECT b.id, b.status FROM beneficiaries b
          WHERE ${selection} AND b.status IN ${from} FOR UPDATE),
        updated AS (
          UPDATE beneficiaries SET status = ${to}, reason = ${reason}, version = beneficiaries.version + 1, updated_at = now()
          FROM target WHERE beneficiaries.id = target.id
          RETURNING beneficiaries.id, target.status AS from_status)
        INSERT INTO beneficiary_events (beneficiary_id, from_status, to_status, reason, actor)
        SELECT id, from_status, ${to}, ${reason}, ${actor.id} FROM updated
        RETURNING beneficiary_id AS id`,
  );
  if (changed.length > 0) {
    await appendAudit(tx, actor, {
      action: 'beneficiary.status',
      entityType: 'beneficiary',
      entityId: changed.length === 1 ? changed[0]!.id : `${changed.length} beneficiaries`,
      after: { to, reason, ids: changed.map((c) => c.id).sort() },
    });
  }
  return changed.map((c) => c.id);
}

/**
 * Enrols the best-ranked eligible subjects not yet in the programme, up to its quota and within its budget (the
 * projected cost of its payment plans), as POTENTIAL (or ACTIVE when asked). The programme row is locked so that two enrolments never overshoot the quota together.
 */
export function enrol(db: Db, actor: Actor, programmeId: string, input: EnrolmentInput): Promise<EnrolmentResult> {
  return db.transaction(async (tx) => {
    const visible = await getProgramme(tx, actor, programmeId);
    const [locked] = await tx.select().from(programmes).where(eq(programmes.id, programmeId)).for('update');
    const programme = toProgramme(locked!);
    if (programme.status !== 'active') throw conflict(`programme ${visible.code} is ${programme.status}; only active programmes enrol`);
    const asOf = input.as_of ?? new Date().toISOString().slice(0, 10);
    const status: BeneficiaryStatus = input.activate ? 'ACTIVE' : 'POTENTIAL';
    const reason = input.reason ?? `enrolled on eligibility as of ${asOf}`;
    const [held] = await queryRows<{ n: string | number }>(
      tx,
      sql`SELECT count(*) AS n FROM beneficiaries WHERE programme_id = ${programmeId} AND status IN ${HOLDING_QUOTA}`,
    );
    const room = programme.quota === null ? null : Math.max(0, programme.quota - Number(held!.n));
    const limit = Math.min(room ?? Number.MAX_SAFE_INTEGER, input.limit ?? Number.MAX_SAFE_INTEGER);
    await useBulkMemory(tx);
    const vocabulary = await vocabularyFor(tx, programme.subject, asOf);
    const budget = await enrolmentBudget(tx, programme, vocabulary, HOLDING_QUOTA);
    const considered = consideredSubjects(actor, programme, vocabulary, budget?.cost);
    // With a budget, candidates are taken in rank order while their running projected cost fits in what is left.
    const ranked = budget
      ? sql`SELECT c.id, c.score, c.cost, sum(c.cost) OVER (ORDER BY c.score ASC NULLS LAST, c.id ROWS UNBOUNDED PRECEDING) AS running
            FROM considered c`
      : sql`SELECT c.id, c.score, c.cost FROM considered c`;
    const [outcome] = await queryRows<{ enrolled: string | number; cost: string | number }>(
      tx,
      sql`WITH considered AS MATERIALIZED (${considered}),
        ranked AS (${ranked}
          WHERE c.eligible AND NOT EXISTS (
            SELECT 1 FROM beneficiaries b WHERE b.programme_id = ${programmeId} AND b.subject_id = c.id)),
        chosen AS (
          SELECT id, score, cost FROM ranked
          ${budget ? sql`WHERE running <= ${budget.room}::numeric` : sql``}
          ORDER BY score ASC NULLS LAST, id
          LIMIT ${limit}::bigint),
        inserted AS (
          INSERT INTO beneficiaries (programme_id, subject_id, status, score, reason)
          SELECT ${programmeId}, id, ${status}, score, ${reason} FROM chosen
          ON CONFLICT DO NOTHING
          RETURNING id, subject_id),
        events AS (
          INSERT INTO beneficiary_events (beneficiary_id, from_status, to_status, reason, actor)
          SELECT id, NULL, ${status}, ${reason}, ${actor.id} FROM inserted
          RETURNING beneficiary_id)
        SELECT (SELECT count(*) FROM events) AS enrolled,
               (SELECT COALESCE(sum(ch.cost), 0) FROM inserted i JOIN chosen ch ON ch.id = i.subject_id) AS cost`,
    );
    const enrolled = Number(outcome!.enrolled);
    const result: EnrolmentResult = {
      as_of: asOf,
      status,
      enrolled,
      remaining_quota: room === null ? null : room - enrolled,
      ...(budget ? { projected_cost: Number(outcome!.cost), remaining_budget: budget.room - Number(outcome!.cost) } : {}),
    };
    await appendAudit(tx, actor, { action: 'programme.enrol', entityType: 'programme', entityId: programmeId, after: result });
    return result;
  });
}

export async function listBeneficiaries(
  db: Db,
  actor: Actor,
  programmeId: string,
  status: BeneficiaryStatus | undefined,
  limit: number,
  cursor: string | undefined,
): Promise<Page<Beneficiary>> {
  await getProgramme(db, actor, programmeId);
  const rows = await db
    .select()
    .from(beneficiaries)
    .where(
      and(
        eq(beneficiaries.programmeId, programmeId),
        status ? eq(beneficiaries.status, status) : undefined,
        cursor === undefined ? undefined : gt(beneficiaries.id, decodeCursor(cursor, isUuid)),
      ),
    )
    .orderBy(asc(beneficiaries.id))
    .limit(limit + 1);
  return toPage(rows.map(toBeneficiary), limit, (b) => b.id);
}

export async function getBeneficiary(db: Db, actor: Actor, programmeId: string, id: string) {
  await getProgramme(db, actor, programmeId);
  const [row] = await db
    .select()
    .from(beneficiaries)
    .where(and(eq(beneficiaries.id, id), eq(beneficiaries.programmeId, programmeId)));
  if (!row) throw notFound('beneficiary', id);
  const history = await db
    .select()
    .from(beneficiaryEvents)
    .where(eq(beneficiaryEvents.beneficiaryId, id))
    .orderBy(asc(beneficiaryEvents.seq));
  return {
    ...toBeneficiary(row),
    history: history.map((e) => ({
      from: e.fromStatus as BeneficiaryStatus | null,
      to: e.toStatus as BeneficiaryStatus,
      reason: e.reason,
      actor: e.actor,
      at: e.at.toISOString(),
    })),
  };
}

/** One beneficiary's status change; a move its status does not allow is a 409. */
export function setBeneficiaryStatus(
  db: Db,
  actor: Actor,
  programmeId: string,
  id: string,
  to: BeneficiaryStatus,
  reason: string,
) {
  return db.transaction(async (tx) => {
    const current = await getBeneficiary(tx, actor, programmeId, id);
    const changed = await changeBeneficiaryStatus(tx, actor, sql`b.id = ${id}`, to, reason);
    if (changed.length === 0) throw conflict(`a ${current.status} beneficiary cannot become ${to}`);
    return getBeneficiary(tx, actor, programmeId, id);
  });
}

/** Bulk change: the programme's beneficiaries in a given status and/or among given subjects. */
export function setStatusWhere(
  db: Db,
  actor: Actor,
  programmeId: string,
  filter: { status?: BeneficiaryStatus; subject_ids?: string[] },
  to: BeneficiaryStatus,
  reason: string,
) {
  return db.transaction(async (tx) => {
    await getProgramme(tx, actor, programmeId);
    const conditions = [sql`b.programme_id = ${programmeId}`];
    if (filter.status) conditions.push(sql`b.status = ${filter.status}`);
    if (filter.subject_ids) conditions.push(sql`b.subject_id IN ${filter.subject_ids.length ? filter.subject_ids : [null]}`);
    const changed = await changeBeneficiaryStatus(tx, actor, sql.join(conditions, sql` AND `), to, reason);
    return { changed: changed.length };
  });
}

/**
 * Deaths recorded in bulk (an import): the active benefits of those of `people` (a subquery of individual ids) who
 * are now recorded as deceased are suspended, each with its own death as the reason, as a death recorded through
 * the API does. Already suspended benefits are left alone, so re-running the same import changes nothing.
 */
export async function suspendBenefitsOfDeceasedAmong(tx: Db, actor: Actor, people: SQL): Promise<number> {
  const deaths = await queryRows<{ id: string; death_date: string }>(
    tx,
    sql`SELECT i.id, i.death_date::text AS death_date FROM individuals i
        WHERE i.id IN ${people} AND i.death_date IS NOT NULL
          AND EXISTS (SELECT 1 FROM beneficiaries b WHERE b.subject_id = i.id AND b.status = 'ACTIVE')`,
  );
  let suspended = 0;
  for (const date of new Set(deaths.map((d) => d.death_date))) {
    const ids = deaths.filter((d) => d.death_date === date).map((d) => d.id);
    suspended += (await changeBeneficiaryStatus(tx, actor, sql`b.subject_id IN ${ids}`, 'SUSPENDED', `deceased on ${date}`)).length;
  }
  return suspended;
}

/**
 * A person recorded as deceased: their benefits in every programme are suspended, with the death as the reason (the
 * civil registration that reported it, when there is one).
 */
export function suspendBenefitsOfDeceased(tx: Db, actor: Actor, individualId: string, deathDate: string, reason = `deceased on ${deathDate}`) {
  return changeBeneficiaryStatus(tx, actor, sql`b.subject_id = ${individualId}`, 'SUSPENDED', reason);
}

/** Every programme a person or household benefits from, with the current status. */
export async function benefitsOf(db: Db, subjectId: string) {
  const rows = await db
    .select({
      programme_id: programmes.id,
      programme_code: programmes.code,
      programme_name: programmes.name,
      beneficiary_id: beneficiaries.id,
      status: beneficiaries.status,
      since: beneficiaries.updatedAt,
    })
    .from(beneficiaries)
    .innerJoin(programmes, eq(programmes.id, beneficiaries.programmeId))
    .where(eq(beneficiaries.subjectId, subjectId))
    .orderBy(asc(programmes.code));
  return rows.map((r) => ({ ...r, status: r.status as BeneficiaryStatus, since: r.since.toISOString() }));
}
