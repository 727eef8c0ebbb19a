import { Type, type Static } from '@sinclair/typebox';
import { Count, IsoDate, Nullable, Uuid } from '../registry/schemas.js';
import { FREQUENCIES } from './schedule.js';

const Formula = (description: string) => Type.String({ minLength: 1, maxLength: 2000, description });
const Money = Type.Number({ description: 'In the programme currency, rounded to cents.' });
const Timestamp = Type.String({ format: 'date-time' });
const NAME = '^[A-Za-z_][A-Za-z0-9_]{0,63}$';

const Frequency = Type.Union(
  (Object.keys(FREQUENCIES) as (keyof typeof FREQUENCIES)[]).map((f) => Type.Literal(f)),
  { description: 'once: one period from start_date to end_date; otherwise one period every 1, 2, 3, 6 or 12 months.' },
);

const planFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  amount: Formula('Amount per beneficiary and cycle, in the programme vocabulary plus `parameters`, e.g. `base + 5000 * min(count_members(), 6)`.'),
  parameters: Type.Record(Type.String({ pattern: NAME }), Type.Number(), {
    maxProperties: 20,
    description: 'Named numbers the amount and condition may use, e.g. {"base": 20000}.',
  }),
  condition: Nullable(Formula('Which beneficiaries this plan pays (sub-groups), e.g. `count_members(age < 5) > 0`; all when null.')),
  location_id: Nullable(Type.String({ format: 'uuid', description: 'Pays only beneficiaries in this area (subtree).' })),
  frequency: Frequency,
  start_date: IsoDate,
  end_date: IsoDate,
  gateway: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: 'A payment gateway configured in HUB_PAYMENT_GATEWAYS.' }),
  conditional: Type.Boolean({ description: 'Conditional cash transfer: only beneficiaries marked compliant in a cycle are paid.' }),
};

export const PaymentPlanInput = Type.Object(
  {
    ...planFields,
    parameters: Type.Optional(planFields.parameters),
    condition: Type.Optional(planFields.condition),
    location_id: Type.Optional(planFields.location_id),
    conditional: Type.Optional(planFields.conditional),
  },
  { additionalProperties: false },
);
export type PaymentPlanInput = Static<typeof PaymentPlanInput>;

export const PaymentPlan = Type.Object({
  id: Uuid,
  programme_id: Uuid,
  ...planFields,
  currency: Nullable(Type.String()),
  periods: Type.Array(Type.Object({ start: IsoDate, end: IsoDate })),
  version: Type.Integer(),
  created_at: Timestamp,
});
export type PaymentPlan = Static<typeof PaymentPlan>;

export const CycleStatus = Type.Union([Type.Literal('DRAFT'), Type.Literal('APPROVED'), Type.Literal('SENT')], {
  description: 'DRAFT (generated; may be generated again) → APPROVED (totals frozen) → SENT (every payable payment handed over).',
});
export type CycleStatus = Static<typeof CycleStatus>;

export const CycleInput = Type.Object(
  { period_start: Type.Optional(IsoDate) },
  { additionalProperties: false, description: 'period_start: one of the plan periods; the first not yet generated when omitted.' },
);

export const PaymentCycle = Type.Object({
  id: Uuid,
  plan_id: Uuid,
  programme_id: Uuid,
  period_start: IsoDate,
  period_end: IsoDate,
  status: CycleStatus,
  conditional: Type.Boolean(),
  gateway: Type.String(),
  currency: Nullable(Type.String()),
  payment_count: Count,
  total_amount: Money,
  payable_count: Type.Integer({ minimum: 0, description: 'Payments that will be sent (for a conditional plan: the compliant ones).' }),
  payable_amount: Money,
  generated_by: Type.String(),
  generated_at: Timestamp,
  approved_by: Nullable(Type.String()),
  approved_at: Nullable(Timestamp),
  version: Type.Integer(),
});
export type PaymentCycle = Static<typeof PaymentCycle>;

export const PaymentStatus = Type.Union(
  [Type.Literal('PENDING'), Type.Literal('SENT'), Type.Literal('PAID'), Type.Literal('FAILED')],
  { description: 'PENDING → SENT → PAID | FAILED (a synchronous gateway may answer PAID or FAILED at once).' },
);
export type PaymentStatus = Static<typeof PaymentStatus>;

export const Payment = Type.Object({
  id: Uuid,
  cycle_id: Uuid,
  beneficiary_id: Uuid,
  subject_id: Uuid,
  location_id: Nullable(Uuid),
  amount: Money,
  currency: Nullable(Type.String()),
  status: PaymentStatus,
  reference_id: Type.String({ description: 'Idempotency key given to the gateway; reconciliation files match on it.' }),
  compliant: Nullable(Type.Boolean()),
  compliance_note: Nullable(Type.String()),
  gateway_reference: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  attempts: Count,
  last_error: Nullable(Type.String()),
  sent_at: Nullable(Timestamp),
  settled_at: Nullable(Timestamp),
});
export type Payment = Static<typeof Payment>;

export const ComplianceInput = Type.Object(
  {
    compliant: Type.Boolean(),
    note: Type.Optional(Type.String({ maxLength: 500 })),
    where: Type.Object(
      {
        beneficiary_ids: Type.Optional(Type.Array(Uuid, { maxItems: 10000 })),
        subject_ids: Type.Optional(Type.Array(Uuid, { maxItems: 10000 })),
      },
      { additionalProperties: false, minProperties: 1 },
    ),
  },
  { additionalProperties: false },
);
export type ComplianceInput = Static<typeof ComplianceInput>;

export const ComplianceResult = Type.Object({ changed: Count, cycle: PaymentCycle });

export const Artefact = Type.Object({
  name: Type.String({ description: 'File written to the gateway directory.' }),
  sha256: Type.String(),
  payments: Count,
  total: Money,
  manifest: Type.String({ description: 'The manifest (totals, SHA-256) as a JWS signed with the hub key (see /.well-known/jwks.json).' }),
});
export type Artefact = Static<typeof Artefact>;

export const SendResult = Type.Object({
  batches: Count,
  accepted: Type.Integer({ minimum: 0, description: 'Handed over, result pending (now SENT).' }),
  paid: Count,
  failed: Count,
  unacknowledged: Type.Integer({ minimum: 0, description: 'Sent but not acknowledged (timeout, failure mid-batch): still PENDING, sent again with the same reference next time.' }),
  held: Type.Integer({ minimum: 0, description: 'Not sent: the beneficiary is no longer ACTIVE (suspended, deceased, graduated).' }),
  error: Type.Optional(Type.String({ description: 'Why sending stopped early.' })),
  artefacts: Type.Array(Artefact),
  cycle: PaymentCycle,
});
export type SendResult = Static<typeof SendResult>;

export const Mismatch = Type.Object({
  line: Type.Optional(Type.Integer()),
  reference_id: Type.String(),
  problem: Type.Union([
    Type.Literal('duplicate'),
    Type.Literal('unknown_reference'),
    Type.Literal('amount_mismatch'),
    Type.Literal('conflicting_status'),
    Type.Literal('not_payable'),
  ]),
  detail: Type.String(),
});
export type Mismatch = Static<typeof Mismatch>;

export const ReconciliationResult = Type.Object({
  reported: Count,
  paid: Type.Integer({ minimum: 0, description: 'Payments marked PAID by this reconciliation.' }),
  failed: Type.Integer({ minimum: 0, description: 'Payments marked FAILED by this reconciliation.' }),
  unchanged: Type.Integer({ minimum: 0, description: 'Reports that repeat what is already recorded.' }),
  mismatch_count: Count,
  mismatches: Type.Array(Mismatch, { description: 'Reports not applied (at most 1000 listed).' }),
});
export type ReconciliationResult = Static<typeof ReconciliationResult>;
