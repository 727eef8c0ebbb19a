import { Type, type Static } from '@sinclair/typebox';
import { BeneficiaryStatus } from '../programmes/schemas.js';
import { Count, Nullable, Uuid } from '../registry/schemas.js';

export const TaskKind = Type.Union([Type.Literal('enrolment'), Type.Literal('status_change'), Type.Literal('death_suspension')], {
  description: "The programme's approval rule the change falls under (its `approvals` setting).",
});
export type TaskKind = Static<typeof TaskKind>;

export const TaskStatus = Type.Union(
  [Type.Literal('pending'), Type.Literal('applied'), Type.Literal('failed'), Type.Literal('rejected')],
  {
    description:
      'pending: waiting for approvals; applied: the last approval applied the change (to the beneficiaries still in the ' +
      'status they had); failed: none of them was any more; rejected: a checker refused it.',
  },
);
export type TaskStatus = Static<typeof TaskStatus>;

export const Task = Type.Object({
  id: Uuid,
  kind: TaskKind,
  status: TaskStatus,
  programme_id: Uuid,
  change: Type.Object({
    to: BeneficiaryStatus,
    reason: Type.String(),
    origin: Type.Object({}, { additionalProperties: true, description: 'What asked for the change: a beneficiary, a bulk filter, an enrolment, a death.' }),
  }),
  maker: Type.String({ description: 'The client that asked for the change.' }),
  required_levels: Type.Integer({ minimum: 1 }),
  decisions: Type.Array(
    Type.Object({
      level: Type.Integer({ minimum: 1 }),
      decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
      by: Type.String(),
      at: Type.String({ format: 'date-time' }),
      comment: Nullable(Type.String()),
    }),
  ),
  items: Type.Object({
    total: Count,
    applied: Count,
    not_applied: Type.Integer({ minimum: 0, description: 'Beneficiaries whose state had moved on when the change was applied (see the items).' }),
  }),
  created_at: Type.String({ format: 'date-time' }),
  decided_at: Nullable(Type.String({ format: 'date-time' })),
  version: Type.Integer(),
});
export type Task = Static<typeof Task>;

export const TaskItemOutcome = Type.Union([Type.Literal('applied'), Type.Literal('status_changed'), Type.Literal('deceased')], {
  description: 'applied; status_changed: the beneficiary was no longer in from_status; deceased: the person died meanwhile.',
});

export const TaskItem = Type.Object({
  beneficiary_id: Uuid,
  subject_id: Uuid,
  from_status: BeneficiaryStatus,
  outcome: Nullable(TaskItemOutcome),
  found_status: Nullable(BeneficiaryStatus),
});
export type TaskItem = Static<typeof TaskItem>;

export const Approval = Type.Object(
  { comment: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) },
  { additionalProperties: false },
);

export const Rejection = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 500, description: 'Why: kept on the task and in the audit log.' }) },
  { additionalProperties: false },
);
