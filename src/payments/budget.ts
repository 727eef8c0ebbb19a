import { and, eq, isNull, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { subtreeIds } from '../db/location-tree.js';
import { queryRows } from '../db/query-rows.js';
import { paymentPlans } from '../db/schema/index.js';
import { conflict, unprocessable } from '../errors.js';
import type { Programme } from '../programmes/schemas.js';
import { SUBJECT_ALIAS, type SubjectVocabulary } from '../programmes/vocabulary.js';
import { compilePlan } from './amount.js';
import { planPeriods } from './plans.js';

/** The registry table holding a programme's subjects. */
export const subjectTable = (programme: Pick<Programme, 'subject'>) =>
  sql.identifier(programme.subject === 'individual' ? 'individuals' : 'groups');

const money = (value: number, currency: string | null) => `${value.toFixed(2)} ${currency ?? ''}`.trim();

/**
 * What one subject (the row aliased SUBJECT_ALIAS) would cost over the whole schedule of every plan of the
 * programme: the sum over plans of amount × number of periods, for the plans whose area and condition take it in.
 * Null when the programme has no plan, so nothing can be projected.
 */
export async function projectedCost(db: Db, programme: Programme, vocabulary: SubjectVocabulary): Promise<SQL | null> {
  const plans = await db
    .select()
    .from(paymentPlans)
    .where(and(eq(paymentPlans.programmeId, programme.id), isNull(paymentPlans.deletedAt)));
  if (plans.length === 0) return null;
  const s = sql.identifier(SUBJECT_ALIAS);
  const terms: SQL[] = [];
  for (const plan of plans) {
    const compiled = compilePlan(vocabulary, { amount: plan.amount, parameters: plan.parameters, condition: plan.condition });
    const area = plan.locationId === null ? sql`TRUE` : sql`${s}.location_id IN ${subtreeIds(plan.locationId)}`;
    terms.push(sql`(CASE WHEN ${compiled.condition} AND ${area} THEN GREATEST(COALESCE(${compiled.amount}, 0), 0) * ${planPeriods(plan).length}::int ELSE 0 END)`);
  }
  return sql`(${sql.join(terms, sql` + `)})`;
}

export interface EnrolmentBudget {
  /** Projected cost of the subject row aliased SUBJECT_ALIAS, compiled with the vocabulary given. */
  cost: SQL;
  /** Budget left once the projected cost of the current beneficiaries is taken. */
  room: number;
}

/**
 * The budget enrolment must stay within: null when the programme has none. A programme with a budget but no payment
 * plan is refused (409): its beneficiaries' cost cannot be projected, so no budget could be respected. The cost is
 * compiled with the enrolment's own vocabulary, so the statement ranking candidates reads it from its members' pass.
 */
export async function enrolmentBudget(
  db: Db,
  programme: Programme,
  vocabulary: SubjectVocabulary,
  holding: readonly string[],
): Promise<EnrolmentBudget | null> {
  if (programme.budget === null) return null;
  const cost = await projectedCost(db, programme, vocabulary);
  if (cost === null) {
    throw conflict(`programme ${programme.code} has a budget but no payment plan: the cost of enrolling cannot be projected`);
  }
  const [row] = await queryRows<{ committed: string | number }>(
    db,
    sql`SELECT COALESCE(sum(${cost}), 0) AS committed
        FROM beneficiaries b JOIN ${subjectTable(programme)} ${sql.identifier(SUBJECT_ALIAS)} ON ${sql.identifier(SUBJECT_ALIAS)}.id = b.subject_id
          ${vocabulary.joins(sql`SELECT subject_id FROM beneficiaries WHERE programme_id = ${programme.id} AND status IN ${holding}`)}
        WHERE b.programme_id = ${programme.id} AND b.status IN ${holding}`,
  );
  return { cost, room: programme.budget - Number(row!.committed) };
}

/**
 * Refuses (422) a cycle whose `amount` would take the programme over its budget, counting what the other approved
 * cycles committed (their payments, failed ones excepted).
 */
export async function assertCycleWithinBudget(db: Db, programme: Programme, cycleId: string, amount: number, what: string) {
  if (programme.budget === null) return;
  const [row] = await queryRows<{ committed: string | number }>(
    db,
    sql`SELECT COALESCE(sum(p.amount), 0) AS committed
        FROM payments p JOIN payment_cycles c ON c.id = p.cycle_id
        WHERE c.programme_id = ${programme.id} AND c.id <> ${cycleId} AND c.status <> 'DRAFT' AND p.status <> 'FAILED'`,
  );
  const committed = Number(row!.committed);
  const remaining = programme.budget - committed;
  if (amount > remaining) {
    throw unprocessable(
      `${what} ${money(amount, programme.currency)} exceeds the remaining budget of programme ${programme.code}: ` +
        `${money(remaining, programme.currency)} (budget ${money(programme.budget, programme.currency)}, ` +
        `${money(committed, programme.currency)} committed by approved cycles)`,
    );
  }
}
