import { and, asc, eq, gt, sql, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import { useBulkMemory } from '../db/bulk-memory.js';
import type { Db } from '../db/client.js';
import { decodeCursor, isUuid, toPage, type Page } from '../db/keyset.js';
import { queryRows } from '../db/query-rows.js';
import { beneficiaries, beneficiaryEvents, programmes, tasks } from '../db/schema/index.js';
import { conflict, notFound } from '../errors.js';
import type { Actor } from '../security/actor.js';
import { subjectInScope } from '../security/geo-scope.js';
import { enrolmentBudget } from '../payments/budget.js';
import { consideredSubjects } from './eligibility.js';
import { getProgramme, toProgramme } from './programmes.js';
import type { Beneficiary, BeneficiaryStatus, EnrolmentInput, EnrolmentResult } from './schemas.js';
import { vocabularyFor } from './vocabulary.js';
import type { Task } from '../workflow/schemas.js';
import { requestStatusChange, type StatusOutcome } from '../workflow/status-requests.js';
import { pendingTaskFor } from '../workflow/tasks.js';
import { deceasedSubject } from './status.js';

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
 * Enrols the best-ranked eligible subjects not yet in the programme, up to its quota and within its budget (the
 * projected cost of its payment plans), as POTENTIAL (or ACTIVE when asked). The programme row is locked so that two enrolments never overshoot the quota together.
 * When the programme's rule asks approval of enrolment, those asked to be ACTIVE are enrolled POTENTIAL and their
 * activation becomes a maker-checker task (answered with the result).
 */
export function enrol(db: Db, actor: Actor, programmeId: string, input: EnrolmentInput): Promise<EnrolmentResult & { task?: Task }> {
  return db.transaction(async (tx) => {
    const visible = await getProgramme(tx, actor, programmeId);
    const [locked] = await tx.select().from(programmes).where(eq(programmes.id, programmeId)).for('update');
    const programme = toProgramme(locked!);
    if (programme.status !== 'active') throw conflict(`programme ${visible.code} is ${programme.status}; only active programmes enrol`);
    const asOf = input.as_of ?? new Date().toISOString().slice(0, 10);
    const awaitsApproval = input.activate === true && (programme.approvals.enrolment ?? 0) > 0;
    const status: BeneficiaryStatus = input.activate && !awaitsApproval ? 'ACTIVE' : 'POTENTIAL';
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
    // Those already in the programme are left out by NOT EXISTS, which sees every enrolment committed before the
    // programme lock was taken; so the insert needs no ON CONFLICT, whose speculative insertion costs a check of
    // every unique index and an extra WAL record per row.
    const ranked = budget
      ? sql`SELECT c.id, c.score, c.cost, sum(c.cost) OVER (ORDER BY c.score ASC NULLS LAST, c.id ROWS UNBOUNDED PRECEDING) AS running
            FROM considered c`
      : sql`SELECT c.id, c.score, c.cost FROM considered c`;
    // The choice is a plain SELECT of its own: a statement that writes (even in a CTE) never gets a parallel plan,
    // and the registry-wide members' pass is most of the work. The chosen ids and scores come back as two array
    // literals and are inserted in the next statement, still under the programme lock.
    const [picked] = await queryRows<{ ids: string | null; scores: string | null; cost: string | number }>(
      tx,
      sql`WITH considered AS MATERIALIZED (${considered}),
        ranked AS (${ranked}
          WHERE c.eligible AND NOT EXISTS (
            SELECT 1 FROM beneficiaries b WHERE b.programme_id = ${programmeId} AND b.subject_id = c.id)),
        chosen AS (
          SELECT id, score, cost FROM ranked
          ${budget ? sql`WHERE running <= ${budget.room}::numeric` : sql``}
          ORDER BY score ASC NULLS LAST, id
          LIMIT ${limit}::bigint)
        SELECT array_agg(id)::text AS ids, array_agg(score)::text AS scores, COALESCE(sum(cost), 0) AS cost FROM chosen`,
    );
    const [outcome] = picked!.ids === null
      ? [{ enrolled: 0, ids: null }]
      : await queryRows<{ enrolled: string | number; ids?: string | null }>(
          tx,
          sql`WITH inserted AS (
              INSERT INTO beneficiaries (programme_id, subject_id, status, score, reason)
              SELECT ${programmeId}, c.id, ${status}, c.score, ${reason}
              FROM unnest(${picked!.ids}::uuid[], ${picked!.scores}::numeric[]) AS c (id, score)
              RETURNING id),
            events AS (
              INSERT INTO beneficiary_events (beneficiary_id, from_status, to_status, reason, actor)
              SELECT id, NULL, ${status}, ${reason}, ${actor.id} FROM inserted
              RETURNING beneficiary_id)
            SELECT (SELECT count(*) FROM events) AS enrolled
                   ${awaitsApproval ? sql`, (SELECT array_agg(id)::text FROM inserted) AS ids` : sql``}`,
        );
    const enrolled = Number(outcome!.enrolled);
    const activation =
      awaitsApproval && outcome!.ids
        ? await requestStatusChange(tx, actor, {
            selection: sql`b.id = ANY(${outcome!.ids}::uuid[])`,
            to: 'ACTIVE',
            reason,
            kind: 'enrolment',
            origin: { enrolment: { as_of: asOf, enrolled } },
          })
        : undefined;
    const result: EnrolmentResult = {
      as_of: asOf,
      status,
      enrolled,
      remaining_quota: room === null ? null : room - enrolled,
      ...(budget ? { projected_cost: Number(picked!.cost), remaining_budget: budget.room - Number(picked!.cost) } : {}),
    };
    const task = activation?.tasks[0];
    await appendAudit(tx, actor, { action: 'programme.enrol', entityType: 'programme', entityId: programmeId, after: { ...result, task_id: task?.id } });
    return task ? { ...result, task } : result;
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
        subjectInScope(actor, beneficiaries.subjectId),
        status ? eq(beneficiaries.status, status) : undefined,
        cursor === undefined ? undefined : gt(beneficiaries.id, decodeCursor(cursor, isUuid)),
      ),
    )
    .orderBy(asc(beneficiaries.id))
    .limit(limit + 1);
  return toPage(rows.map(toBeneficiary), limit, (b) => b.id);
}

/** 404 unless the programme is visible and the beneficiary's subject lies inside the actor's geographic scope. */
export async function getBeneficiary(db: Db, actor: Actor, programmeId: string, id: string) {
  await getProgramme(db, actor, programmeId);
  const [row] = await db
    .select()
    .from(beneficiaries)
    .where(and(eq(beneficiaries.id, id), eq(beneficiaries.programmeId, programmeId), subjectInScope(actor, beneficiaries.subjectId)));
  if (!row) throw notFound('beneficiary', id);
  const history = await db
    .select({ event: beneficiaryEvents, decisions: tasks.decisions })
    .from(beneficiaryEvents)
    .leftJoin(tasks, eq(tasks.id, beneficiaryEvents.taskId))
    .where(eq(beneficiaryEvents.beneficiaryId, id))
    .orderBy(asc(beneficiaryEvents.seq));
  return {
    ...toBeneficiary(row),
    history: history.map(({ event: e, decisions }) => ({
      from: e.fromStatus as BeneficiaryStatus | null,
      to: e.toStatus as BeneficiaryStatus,
      reason: e.reason,
      actor: e.actor,
      at: e.at.toISOString(),
      ...(e.taskId ? { task_id: e.taskId, approved_by: (decisions ?? []).filter((d) => d.decision === 'approve').map((d) => d.by) } : {}),
    })),
  };
}

/** Why a single change asked for nothing: already waiting for approval, a deceased person, or a move not allowed. */
async function refusal(tx: Db, id: string, current: BeneficiaryStatus, to: BeneficiaryStatus) {
  const pending = await pendingTaskFor(tx, id, to);
  if (pending) return conflict(`the beneficiary already waits to become ${to} in task ${pending}`);
  if (to === 'ACTIVE') {
    const [dead] = await queryRows<{ id: string }>(tx, sql`SELECT b.id FROM beneficiaries b WHERE b.id = ${id} AND ${deceasedSubject}`);
    if (dead) return conflict('the person is recorded as deceased: the benefit cannot become ACTIVE');
  }
  return conflict(`a ${current} beneficiary cannot become ${to}`);
}

/**
 * One beneficiary's status change: applied at once (answered with the beneficiary), or waiting for approval
 * (answered with the task). A move its status does not allow is a 409.
 */
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
    const kind = 'status_change';
    const outcome = await requestStatusChange(tx, actor, { selection: sql`b.id = ${id}`, to, reason, kind, origin: { beneficiary_id: id } });
    if (outcome.tasks[0]) return { task: outcome.tasks[0] };
    if (outcome.changed.length === 0) throw await refusal(tx, id, current.status, to);
    return { beneficiary: await getBeneficiary(tx, actor, programmeId, id) };
  });
}

/**
 * Bulk change: the programme's beneficiaries in a given status and/or among given subjects (those inside the actor's
 * geographic scope only). Answers how many
 * changed at once and the tasks made for those whose change waits for approval.
 */
export function setStatusWhere(
  db: Db,
  actor: Actor,
  programmeId: string,
  filter: { status?: BeneficiaryStatus; subject_ids?: string[] },
  to: BeneficiaryStatus,
  reason: string,
): Promise<{ changed: number; tasks: Task[] }> {
  return db.transaction(async (tx) => {
    await getProgramme(tx, actor, programmeId);
    const conditions = [sql`b.programme_id = ${programmeId}`];
    const inScope = subjectInScope(actor, sql`b.subject_id`);
    if (inScope) conditions.push(inScope);
    if (filter.status) conditions.push(sql`b.status = ${filter.status}`);
    if (filter.subject_ids) conditions.push(sql`b.subject_id IN ${filter.subject_ids.length ? filter.subject_ids : [null]}`);
    const origin = { bulk: { where: filter.subject_ids ? { ...filter, subject_ids: filter.subject_ids.length } : filter } };
    const outcome = await requestStatusChange(tx, actor, { selection: sql.join(conditions, sql` AND `), to, reason, kind: 'status_change', origin });
    return { changed: outcome.changed.length, tasks: outcome.tasks };
  });
}

/**
 * The benefits a death touches, for people given as a parenthesised list or subquery of individual ids: their own
 * (individual programmes), and their current household's in household programmes whose rule says so. The subjects
 * are gathered into one array first, so the beneficiaries are found through their subject index.
 */
const touchedByDeathOf = (people: SQL) =>
  sql`b.subject_id = ANY(ARRAY(
        SELECT d.id FROM individuals d WHERE d.id IN ${people}
        UNION ALL
        SELECT m.group_id FROM group_members m WHERE m.individual_id IN ${people} AND m.end_date IS NULL))
      AND (p.subject = 'individual' OR p.on_member_death = 'suspend_household')`;

/** A death's suspensions go through the workflow hook: applied at once or waiting, per each programme's rule. */
function suspendForDeath(tx: Db, actor: Actor, people: SQL, reason: string, origin: Record<string, unknown>): Promise<StatusOutcome> {
  return requestStatusChange(tx, actor, { selection: touchedByDeathOf(people), to: 'SUSPENDED', reason, kind: 'death_suspension', origin });
}

/**
 * Deaths recorded in bulk (an import): the active benefits of those of `people` (a subquery of individual ids) who
 * are now recorded as deceased are suspended (or put to approval), each with its own death as the reason, as a
 * death recorded through the API is. Already suspended benefits, or those already waiting for approval, are left
 * alone, so re-running the same import changes nothing.
 */
export async function suspendBenefitsOfDeceasedAmong(tx: Db, actor: Actor, people: SQL): Promise<number> {
  const deaths = await queryRows<{ id: string; death_date: string }>(
    tx,
    sql`SELECT i.id, i.death_date::text AS death_date FROM individuals i
        WHERE i.id IN ${people} AND i.death_date IS NOT NULL
          AND EXISTS (SELECT 1 FROM beneficiaries b JOIN programmes p ON p.id = b.programme_id
                      WHERE ${touchedByDeathOf(sql`(i.id)`)} AND b.status = 'ACTIVE')`,
  );
  let suspended = 0;
  for (const date of new Set(deaths.map((d) => d.death_date))) {
    const ids = deaths.filter((d) => d.death_date === date).map((d) => d.id);
    const outcome = await suspendForDeath(tx, actor, sql`${ids}`, `deceased on ${date}`, { deaths: { date, people: ids.length } });
    suspended += outcome.changed.length;
  }
  return suspended;
}

/**
 * A person recorded as deceased: their benefits in every programme, and their household's where the programme's
 * rule says so, are suspended (or put to approval), with the death as the reason (the civil registration that
 * reported it, when there is one).
 */
export function suspendBenefitsOfDeceased(tx: Db, actor: Actor, individualId: string, deathDate: string, reason = `deceased on ${deathDate}`) {
  return suspendForDeath(tx, actor, sql`(${individualId}::uuid)`, reason, { death: { individual_id: individualId, date: deathDate } });
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
