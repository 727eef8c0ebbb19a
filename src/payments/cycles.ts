import { and, asc, eq, gt, sql, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import { useBulkMemory } from '../db/bulk-memory.js';
import type { Db } from '../db/client.js';
import { decodeCursor, isUuid, toPage, type Page } from '../db/keyset.js';
import { subtreeIds } from '../db/location-tree.js';
import { queryRows } from '../db/query-rows.js';
import { paymentCycles, paymentPlans, payments } from '../db/schema/index.js';
import { conflict, HubError, notFound, unprocessable } from '../errors.js';
import { getProgramme, programmeInScope } from '../programmes/programmes.js';
import type { Programme } from '../programmes/schemas.js';
import { MEMBER_ALIAS } from '../programmes/formula/member-aggregates.js';
import { SUBJECT_ALIAS, vocabularyFor } from '../programmes/vocabulary.js';
import type { Actor } from '../security/actor.js';
import { withinScope } from '../security/geo-scope.js';
import { compilePlan } from './amount.js';
import { assertCycleWithinBudget, subjectTable } from './budget.js';
import { loadPlan, planPeriods } from './plans.js';
import type { ComplianceInput, CycleStatus, Payment, PaymentCycle, PaymentStatus } from './schemas.js';

type CycleRow = typeof paymentCycles.$inferSelect;
type PlanRow = typeof paymentPlans.$inferSelect;
type PaymentRow = typeof payments.$inferSelect;

export function toCycle(row: CycleRow, plan: Pick<PlanRow, 'conditional' | 'gateway'>): PaymentCycle {
  return {
    id: row.id,
    plan_id: row.planId,
    programme_id: row.programmeId,
    period_start: row.periodStart,
    period_end: row.periodEnd,
    status: row.status as CycleStatus,
    conditional: plan.conditional,
    gateway: plan.gateway,
    currency: row.currency,
    payment_count: row.paymentCount,
    total_amount: Number(row.totalAmount),
    payable_count: row.payableCount,
    payable_amount: Number(row.payableAmount),
    generated_by: row.generatedBy,
    generated_at: row.generatedAt.toISOString(),
    approved_by: row.approvedBy,
    approved_at: row.approvedAt?.toISOString() ?? null,
    version: row.version,
  };
}

export const toPayment = (row: PaymentRow): Payment => ({
  id: row.id,
  cycle_id: row.cycleId,
  beneficiary_id: row.beneficiaryId,
  subject_id: row.subjectId,
  location_id: row.locationId,
  amount: Number(row.amount),
  currency: row.currency,
  status: row.status as PaymentStatus,
  reference_id: row.referenceId,
  compliant: row.compliant,
  compliance_note: row.complianceNote,
  gateway_reference: row.gatewayReference,
  reason: row.reason,
  attempts: row.attempts,
  last_error: row.lastError,
  sent_at: row.sentAt?.toISOString() ?? null,
  settled_at: row.settledAt?.toISOString() ?? null,
});

export interface LoadedCycle {
  cycle: CycleRow;
  plan: PlanRow;
  programme: Programme;
}

/**
 * A client with a geographic scope sees (and acts on) the cycles of the programmes of its area whose every payee
 * lies inside the area (as for maker-checker tasks): approving, sending or reconciling a cycle acts on all of it,
 * and its totals count every payee.
 */
function cycleInScope(db: Db, actor: Actor): SQL | undefined {
  if (actor.locationId === null) return undefined;
  return and(
    programmeInScope(db, actor, paymentCycles.programmeId),
    sql`NOT EXISTS (SELECT 1 FROM payments vp WHERE vp.cycle_id = ${paymentCycles.id}
          AND (vp.location_id IS NULL OR vp.location_id NOT IN ${subtreeIds(actor.locationId)}))`,
  );
}

/** A cycle with its plan and programme, if the cycle is visible to the actor; `lock` takes the cycle row. */
export async function loadCycle(db: Db, actor: Actor, cycleId: string, lock = false): Promise<LoadedCycle> {
  const query = db
    .select()
    .from(paymentCycles)
    .where(and(eq(paymentCycles.id, cycleId), cycleInScope(db, actor)));
  const [cycle] = lock ? await query.for('update') : await query;
  if (!cycle) throw notFound('payment cycle', cycleId);
  const [plan] = await db.select().from(paymentPlans).where(eq(paymentPlans.id, cycle.planId));
  return { cycle, plan: plan!, programme: await getProgramme(db, actor, cycle.programmeId) };
}

/** Recomputes a cycle's totals from its payments; for a conditional plan only compliant payments are payable. */
async function refreshTotals(tx: Db, cycleId: string, conditional: boolean): Promise<CycleRow> {
  const payable = conditional ? sql`compliant IS TRUE` : sql`TRUE`;
  await tx.execute(sql`
    UPDATE payment_cycles c SET payment_count = t.n, total_amount = t.total, payable_count = t.payable_n,
           payable_amount = t.payable_total, updated_at = now()
    FROM (SELECT count(*)::int AS n, COALESCE(sum(amount), 0) AS total,
                 (count(*) FILTER (WHERE ${payable}))::int AS payable_n,
                 COALESCE(sum(amount) FILTER (WHERE ${payable}), 0) AS payable_total
          FROM payments WHERE cycle_id = ${cycleId}) t
    WHERE c.id = ${cycleId}`);
  const [row] = await tx.select().from(paymentCycles).where(eq(paymentCycles.id, cycleId));
  return row!;
}

/**
 * Who a plan could pay in a period, and how much: ACTIVE beneficiaries whose subject is not deleted, with `payable`
 * telling whether the subject is alive (a household: has at least one living current member, counted in the same
 * members' pass as the formulas' terms), inside the plan's area, meets its condition and gets a positive amount.
 * `payable` is a column rather than a filter so that the planner, which cannot estimate a formula, sizes the join of
 * beneficiaries and subjects right (a filter here made it probe beneficiaries once per household).
 */
async function candidateRows(tx: Db, plan: PlanRow, programme: Programme, asOf: string): Promise<SQL> {
  const vocabulary = await vocabularyFor(tx, programme.subject, asOf);
  const compiled = compilePlan(vocabulary, plan);
  const s = sql.identifier(SUBJECT_ALIAS);
  const alive = vocabulary.aggregates
    ? sql`${vocabulary.aggregates.count(sql`${sql.identifier(MEMBER_ALIAS)}.death_date IS NULL`)} > 0`
    : sql`${s}.death_date IS NULL`;
  const area = plan.locationId === null ? sql`TRUE` : sql`${s}.location_id IN ${subtreeIds(plan.locationId)}`;
  return sql`SELECT b.id AS beneficiary_id, b.subject_id, ${s}.location_id, x.amount,
                    COALESCE(${alive} AND ${area} AND ${compiled.condition} AND x.amount > 0, FALSE) AS payable
             FROM beneficiaries b
             JOIN ${subjectTable(programme)} ${s} ON ${s}.id = b.subject_id
             ${vocabulary.joins(sql`SELECT subject_id FROM beneficiaries WHERE programme_id = ${programme.id} AND status = 'ACTIVE'`)}
             CROSS JOIN LATERAL (SELECT ${compiled.amount} AS amount) x
             WHERE b.programme_id = ${programme.id} AND b.status = 'ACTIVE' AND ${s}.deleted_at IS NULL`;
}

/** Runs a data-modifying statement ending in `RETURNING 1` and answers how many rows it touched. */
async function touched(tx: Db, statement: SQL): Promise<number> {
  const [row] = await queryRows<{ n: string | number }>(tx, sql`WITH touched AS (${statement}) SELECT count(*) AS n FROM touched`);
  return Number(row!.n);
}

/**
 * Brings a cycle's payments in line with the payable candidates: removes, updates, then adds, each its own statement
 * over the due rows kept in a temporary table for the transaction. In one statement the checks against `payments`
 * would run while the same statement adds to it, and a plan scanning `payments` per due row (sized on statistics
 * from before the cycle existed) grew quadratically at 120,000 payments. Additions: the due rows the cycle
 * already pays are dropped from the temporary table first (a join, before anything is added; a NOT EXISTS inside
 * the INSERT re-read the growing `payments` per row), then the rest is inserted plainly. The cycle row is locked,
 * so no other generation adds to it meanwhile, and ON CONFLICT would cost a speculative insertion (a check of
 * every unique index and an extra WAL record) per new payment.
 */
async function applyDue(tx: Db, cycleId: string, currency: string | null, candidates: SQL) {
  // CREATE TABLE AS writes the rows in bulk into a table without a key (its rows are distinct beneficiaries already,
  // and once analysed the joins below are hashed); unlike INSERT … SELECT its query may also run in parallel.
  await tx.execute(sql`CREATE TEMPORARY TABLE cycle_due ON COMMIT DROP AS
    SELECT beneficiary_id, subject_id, location_id, amount FROM (${candidates}) c WHERE payable`);
  await tx.execute(sql`ANALYZE cycle_due`);
  const removed = await touched(
    tx,
    sql`DELETE FROM payments p WHERE p.cycle_id = ${cycleId}
          AND NOT EXISTS (SELECT 1 FROM cycle_due d WHERE d.beneficiary_id = p.beneficiary_id)
        RETURNING 1`,
  );
  const updated = await touched(
    tx,
    sql`UPDATE payments p SET amount = d.amount, location_id = d.location_id
        FROM cycle_due d
        WHERE p.cycle_id = ${cycleId} AND p.beneficiary_id = d.beneficiary_id
          AND (p.amount <> d.amount OR p.location_id IS DISTINCT FROM d.location_id)
        RETURNING 1`,
  );
  await tx.execute(sql`DELETE FROM cycle_due d USING payments p WHERE p.cycle_id = ${cycleId} AND p.beneficiary_id = d.beneficiary_id`);
  const added = await touched(
    tx,
    sql`INSERT INTO payments (cycle_id, beneficiary_id, subject_id, location_id, amount, currency, reference_id)
        SELECT ${cycleId}, d.beneficiary_id, d.subject_id, d.location_id, d.amount, ${currency},
               'PAY-' || md5(${cycleId}::text || d.beneficiary_id::text)
        FROM cycle_due d
        RETURNING 1`,
  );
  return { added, updated, removed };
}

export interface GenerationResult {
  cycle: PaymentCycle;
  added: number;
  updated: number;
  removed: number;
}

/**
 * Generates (or generates again) the cycle of one plan period: set-based statements bring the cycle's payments
 * in line with who is due now — new ones added, changed amounts updated, those no longer due removed — keyed by
 * (cycle, beneficiary), so running it twice never duplicates a payment. Payments that stay as they are are not
 * written (an upsert would lock and rewrite every one of them). Only a DRAFT cycle can be generated again;
 * a total over the programme's remaining budget is refused and nothing is kept.
 */
export function generateCycle(db: Db, actor: Actor, planId: string, periodStart: string | undefined): Promise<GenerationResult> {
  return db.transaction(async (tx) => {
    const { row: plan, programme } = await loadPlan(tx, actor, planId);
    await tx.select({ id: paymentPlans.id }).from(paymentPlans).where(eq(paymentPlans.id, planId)).for('update');
    if (programme.status !== 'active') throw conflict(`programme ${programme.code} is ${programme.status}; only active programmes pay`);
    const periods = planPeriods(plan);
    let period;
    if (periodStart === undefined) {
      const done = new Set(
        (await tx.select({ start: paymentCycles.periodStart }).from(paymentCycles).where(eq(paymentCycles.planId, planId))).map((r) => r.start),
      );
      period = periods.find((p) => !done.has(p.start));
      if (!period) throw conflict('every period of this plan already has a cycle');
    } else {
      period = periods.find((p) => p.start === periodStart);
      if (!period) {
        throw unprocessable(`${periodStart} does not start a period of this plan (periods start on ${periods.slice(0, 3).map((p) => p.start).join(', ')}…)`, '/period_start');
      }
    }
    await tx
      .insert(paymentCycles)
      .values({ planId, programmeId: programme.id, periodStart: period.start, periodEnd: period.end, currency: programme.currency, generatedBy: actor.id })
      .onConflictDoNothing();
    const [cycle] = await tx
      .select()
      .from(paymentCycles)
      .where(and(eq(paymentCycles.planId, planId), eq(paymentCycles.periodStart, period.start)))
      .for('update');
    if (cycle!.status !== 'DRAFT') throw conflict(`the cycle of ${period.start} is ${cycle!.status}; only a DRAFT cycle can be generated again`);
    const cycleId = cycle!.id;
    await useBulkMemory(tx);
    const candidates = await candidateRows(tx, plan, programme, period.start);
    const changes = await applyDue(tx, cycleId, programme.currency, candidates);
    if (actor.locationId !== null) {
      const [visible] = await tx.select({ id: paymentCycles.id }).from(paymentCycles).where(and(eq(paymentCycles.id, cycleId), cycleInScope(tx, actor)));
      if (!visible) throw new HubError('forbidden', 'the cycle would pay people outside your geographic scope: a client without one must generate it');
    }
    await tx.update(paymentCycles).set({ generatedBy: actor.id, generatedAt: new Date(), version: sql`${paymentCycles.version} + 1` }).where(eq(paymentCycles.id, cycleId));
    const totals = await refreshTotals(tx, cycleId, plan.conditional);
    await assertCycleWithinBudget(tx, programme, cycleId, Number(totals.totalAmount), `the cycle of ${period.start} totals`);
    const result = {
      cycle: toCycle(totals, plan),
      ...changes,
    };
    await appendAudit(tx, actor, { action: 'payment_cycle.generate', entityType: 'payment_cycle', entityId: cycleId, after: result });
    return result;
  });
}

export async function getCycle(db: Db, actor: Actor, cycleId: string): Promise<PaymentCycle> {
  const { cycle, plan } = await loadCycle(db, actor, cycleId);
  return toCycle(cycle, plan);
}

export async function listCycles(db: Db, actor: Actor, planId: string): Promise<PaymentCycle[]> {
  const { row: plan } = await loadPlan(db, actor, planId);
  const rows = await db
    .select()
    .from(paymentCycles)
    .where(and(eq(paymentCycles.planId, planId), cycleInScope(db, actor)))
    .orderBy(asc(paymentCycles.periodStart));
  return rows.map((r) => toCycle(r, plan));
}

/**
 * Approval freezes a DRAFT cycle's payable totals for sending. The approver must not be who generated it (four
 * eyes), and the payable total must fit in the programme's remaining budget.
 */
export function approveCycle(db: Db, actor: Actor, cycleId: string): Promise<PaymentCycle> {
  return db.transaction(async (tx) => {
    const { cycle, plan, programme } = await loadCycle(tx, actor, cycleId, true);
    if (cycle.status !== 'DRAFT') throw conflict(`the cycle is already ${cycle.status}`);
    if (cycle.generatedBy === actor.id) {
      throw new HubError('forbidden', `the cycle was generated by ${actor.id}: another client must approve it (four eyes)`);
    }
    if (cycle.payableCount === 0) {
      throw conflict(plan.conditional ? 'no payment of this cycle is marked compliant: nothing to approve' : 'the cycle has no payment to approve');
    }
    await assertCycleWithinBudget(tx, programme, cycleId, Number(cycle.payableAmount), 'the payable total of this cycle');
    const [approved] = await tx
      .update(paymentCycles)
      .set({ status: 'APPROVED', approvedBy: actor.id, approvedAt: new Date(), version: cycle.version + 1, updatedAt: new Date() })
      .where(eq(paymentCycles.id, cycleId))
      .returning();
    const result = toCycle(approved!, plan);
    await appendAudit(tx, actor, { action: 'payment_cycle.approve', entityType: 'payment_cycle', entityId: cycleId, after: result });
    return result;
  });
}

/**
 * Records compliance with the conditions of a conditional plan, for many beneficiaries of one DRAFT cycle at once;
 * only compliant payments are payable. A client with a geographic scope records it for the payees inside its area.
 */
export function setCompliance(db: Db, actor: Actor, cycleId: string, input: ComplianceInput) {
  return db.transaction(async (tx) => {
    const { cycle, plan } = await loadCycle(tx, actor, cycleId, true);
    if (!plan.conditional) throw conflict('the plan of this cycle is not conditional: every payment is payable');
    if (cycle.status !== 'DRAFT') throw conflict(`the cycle is ${cycle.status}: compliance is recorded before approval`);
    const who: SQL[] = [];
    if (input.where.beneficiary_ids) who.push(sql`beneficiary_id IN ${input.where.beneficiary_ids.length ? input.where.beneficiary_ids : [null]}`);
    if (input.where.subject_ids) who.push(sql`subject_id IN ${input.where.subject_ids.length ? input.where.subject_ids : [null]}`);
    const changed = await queryRows<{ id: string }>(
      tx,
      sql`UPDATE payments SET compliant = ${input.compliant}, compliance_note = ${input.note ?? null}
          WHERE cycle_id = ${cycleId} AND (${sql.join(who, sql` OR `)}) AND ${withinScope(actor, payments.locationId) ?? sql`TRUE`}
            AND (compliant IS DISTINCT FROM ${input.compliant} OR compliance_note IS DISTINCT FROM ${input.note ?? null})
          RETURNING beneficiary_id AS id`,
    );
    // Nothing changed (no payee matched, or none inside the caller's area): the cycle is not touched either.
    const totals = changed.length > 0 ? await refreshTotals(tx, cycleId, true) : cycle;
    if (changed.length > 0) {
      await appendAudit(tx, actor, {
        action: 'payment_cycle.compliance',
        entityType: 'payment_cycle',
        entityId: cycleId,
        after: { compliant: input.compliant, note: input.note ?? null, beneficiaries: changed.map((c) => c.id).sort() },
      });
    }
    return { changed: changed.length, cycle: toCycle(totals, plan) };
  });
}

/** A cycle's payments inside the actor's geographic scope (the payee's area when generated), by id. */
export async function listPayments(
  db: Db,
  actor: Actor,
  cycleId: string,
  filters: { status?: PaymentStatus; subject_id?: string },
  limit: number,
  cursor: string | undefined,
): Promise<Page<Payment>> {
  await loadCycle(db, actor, cycleId);
  const rows = await db
    .select()
    .from(payments)
    .where(
      and(
        eq(payments.cycleId, cycleId),
        withinScope(actor, payments.locationId),
        filters.status ? eq(payments.status, filters.status) : undefined,
        filters.subject_id ? eq(payments.subjectId, filters.subject_id) : undefined,
        cursor === undefined ? undefined : gt(payments.id, decodeCursor(cursor, isUuid)),
      ),
    )
    .orderBy(asc(payments.id))
    .limit(limit + 1);
  return toPage(rows.map(toPayment), limit, (p) => p.id);
}
