import { sql } from 'drizzle-orm';
import { boolean, check, date, index, integer, jsonb, numeric, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { id, versioned } from './columns.js';
import { locations } from './locations.js';
import { beneficiaries, programmes } from './programmes.js';

/**
 * How a programme pays: an amount formula evaluated per beneficiary, which beneficiaries (area subtree and a
 * condition formula), the schedule of periods, the gateway, and whether payment is conditional (CCT).
 */
export const paymentPlans = pgTable(
  'payment_plans',
  {
    id: id(),
    programmeId: uuid('programme_id')
      .notNull()
      .references(() => programmes.id),
    name: text('name').notNull(),
    amount: text('amount').notNull(),
    /** Named numbers the amount formula may use (e.g. `base`). */
    parameters: jsonb('parameters').$type<Record<string, number>>().notNull().default({}),
    condition: text('condition'),
    locationId: uuid('location_id').references(() => locations.id),
    frequency: text('frequency').notNull(),
    startDate: date('start_date', { mode: 'string' }).notNull(),
    endDate: date('end_date', { mode: 'string' }).notNull(),
    gateway: text('gateway').notNull(),
    conditional: boolean('conditional').notNull().default(false),
    ...versioned(),
  },
  (t) => [
    index('payment_plans_programme_idx').on(t.programmeId),
    check('payment_plans_frequency_check', sql`${t.frequency} IN ('once', 'monthly', 'bimonthly', 'quarterly', 'semiannual', 'annual')`),
    check('payment_plans_period_check', sql`${t.endDate} >= ${t.startDate}`),
  ],
);

/** One period of a plan: its payments, their totals for approval, who generated and who approved it. */
export const paymentCycles = pgTable(
  'payment_cycles',
  {
    id: id(),
    planId: uuid('plan_id')
      .notNull()
      .references(() => paymentPlans.id),
    programmeId: uuid('programme_id')
      .notNull()
      .references(() => programmes.id),
    periodStart: date('period_start', { mode: 'string' }).notNull(),
    periodEnd: date('period_end', { mode: 'string' }).notNull(),
    status: text('status').notNull().default('DRAFT'),
    currency: text('currency'),
    paymentCount: integer('payment_count').notNull().default(0),
    totalAmount: numeric('total_amount').notNull().default('0'),
    /** Payments that may be sent: all of them, or for a conditional plan those marked compliant. */
    payableCount: integer('payable_count').notNull().default(0),
    payableAmount: numeric('payable_amount').notNull().default('0'),
    generatedBy: text('generated_by').notNull(),
    generatedAt: timestamp('generated_at', { withTimezone: true }).notNull().defaultNow(),
    approvedBy: text('approved_by'),
    approvedAt: timestamp('approved_at', { withTimezone: true }),
    ...versioned(),
  },
  (t) => [
    unique('payment_cycles_plan_period_key').on(t.planId, t.periodStart),
    index('payment_cycles_programme_idx').on(t.programmeId),
    check('payment_cycles_status_check', sql`${t.status} IN ('DRAFT', 'APPROVED', 'SENT')`),
  ],
);

/**
 * One payment per beneficiary and cycle. `reference_id` is the idempotency key every gateway receives: a payment
 * handed over twice is recognised by it and never paid twice.
 */
export const payments = pgTable(
  'payments',
  {
    id: id(),
    cycleId: uuid('cycle_id')
      .notNull()
      .references(() => paymentCycles.id),
    beneficiaryId: uuid('beneficiary_id')
      .notNull()
      .references(() => beneficiaries.id),
    subjectId: uuid('subject_id').notNull(),
    /** The subject's area when the payment was generated, for geographic scope. */
    locationId: uuid('location_id'),
    amount: numeric('amount').notNull(),
    currency: text('currency'),
    status: text('status').notNull().default('PENDING'),
    referenceId: text('reference_id').notNull(),
    /** Conditional plans: null until compliance is recorded; only `true` is paid. */
    compliant: boolean('compliant'),
    complianceNote: text('compliance_note'),
    gatewayReference: text('gateway_reference'),
    reason: text('reason'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    settledAt: timestamp('settled_at', { withTimezone: true }),
  },
  (t) => [
    // Payments are read by cycle (a subject's payments too: listing and compliance filter within one cycle), so the
    // cycle's keys serve them and no subject index is written for each of a cycle's payments.
    unique('payments_cycle_beneficiary_key').on(t.cycleId, t.beneficiaryId),
    unique('payments_reference_key').on(t.referenceId),
    index('payments_cycle_status_idx').on(t.cycleId, t.status),
    check('payments_status_check', sql`${t.status} IN ('PENDING', 'SENT', 'PAID', 'FAILED')`),
    check('payments_amount_check', sql`${t.amount} > 0`),
  ],
);
