import { and, asc, eq, sql } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { paymentPlans } from '../db/schema/index.js';
import { notFound, unprocessable } from '../errors.js';
import { getProgramme, programmeInScope } from '../programmes/programmes.js';
import type { Programme } from '../programmes/schemas.js';
import { vocabularyFor } from '../programmes/vocabulary.js';
import type { Actor } from '../security/actor.js';
import { assertLocationInScope } from '../security/geo-scope.js';
import { compilePlan } from './amount.js';
import type { GatewayRegistry } from './gateway.js';
import { periodsOf, type Frequency } from './schedule.js';
import type { PaymentPlan, PaymentPlanInput } from './schemas.js';

/** A schedule longer than this is a mistake (monthly for 20 years), not a plan. */
const MAX_PERIODS = 240;

type Row = typeof paymentPlans.$inferSelect;

export const planPeriods = (row: Pick<Row, 'frequency' | 'startDate' | 'endDate'>) =>
  periodsOf(row.frequency as Frequency, row.startDate, row.endDate);

export function toPlan(row: Row, programme: Pick<Programme, 'currency'>): PaymentPlan {
  return {
    id: row.id,
    programme_id: row.programmeId,
    name: row.name,
    amount: row.amount,
    parameters: row.parameters,
    condition: row.condition,
    location_id: row.locationId,
    frequency: row.frequency as Frequency,
    start_date: row.startDate,
    end_date: row.endDate,
    gateway: row.gateway,
    conditional: row.conditional,
    currency: programme.currency,
    periods: planPeriods(row),
    version: row.version,
    created_at: row.createdAt.toISOString(),
  };
}

export function createPlan(
  db: Db,
  actor: Actor,
  gateways: GatewayRegistry,
  programmeId: string,
  input: PaymentPlanInput,
): Promise<PaymentPlan> {
  return db.transaction(async (tx) => {
    const programme = await getProgramme(tx, actor, programmeId);
    if (!programme.currency) throw unprocessable(`programme ${programme.code} has no currency; set one before planning payments`);
    if (!gateways.has(input.gateway)) {
      throw unprocessable(`no payment gateway is configured under the name "${input.gateway}" (known: ${[...gateways.keys()].join(', ')})`, '/gateway');
    }
    if (input.end_date < input.start_date) throw unprocessable('end_date is before start_date', '/end_date');
    if (periodsOf(input.frequency, input.start_date, input.end_date).length > MAX_PERIODS) {
      throw unprocessable(`the schedule has more than ${MAX_PERIODS} periods`, '/end_date');
    }
    const parameters = input.parameters ?? {};
    compilePlan(await vocabularyFor(tx, programme.subject, input.start_date), { amount: input.amount, parameters, condition: input.condition ?? null });
    await assertLocationInScope(tx, actor, input.location_id ?? null, '/location_id');
    const [row] = await tx
      .insert(paymentPlans)
      .values({
        programmeId,
        name: input.name,
        amount: input.amount,
        parameters,
        condition: input.condition ?? null,
        locationId: input.location_id ?? null,
        frequency: input.frequency,
        startDate: input.start_date,
        endDate: input.end_date,
        gateway: input.gateway,
        conditional: input.conditional ?? false,
      })
      .returning();
    const plan = toPlan(row!, programme);
    await appendAudit(tx, actor, { action: 'payment_plan.create', entityType: 'payment_plan', entityId: plan.id, after: plan });
    return plan;
  });
}

export async function listPlans(db: Db, actor: Actor, programmeId: string): Promise<PaymentPlan[]> {
  const programme = await getProgramme(db, actor, programmeId);
  const rows = await db
    .select()
    .from(paymentPlans)
    .where(and(eq(paymentPlans.programmeId, programmeId), sql`${paymentPlans.deletedAt} IS NULL`))
    .orderBy(asc(paymentPlans.createdAt), asc(paymentPlans.id));
  return rows.map((r) => toPlan(r, programme));
}

/** A plan and its programme, if the programme is visible to the actor (else 404, as for a plan that does not exist). */
export async function loadPlan(db: Db, actor: Actor, planId: string): Promise<{ row: Row; programme: Programme }> {
  const [row] = await db
    .select()
    .from(paymentPlans)
    .where(and(eq(paymentPlans.id, planId), sql`${paymentPlans.deletedAt} IS NULL`, programmeInScope(db, actor, paymentPlans.programmeId)));
  if (!row) throw notFound('payment plan', planId);
  return { row, programme: await getProgramme(db, actor, row.programmeId) };
}

export async function getPlan(db: Db, actor: Actor, planId: string): Promise<PaymentPlan> {
  const { row, programme } = await loadPlan(db, actor, planId);
  return toPlan(row, programme);
}
