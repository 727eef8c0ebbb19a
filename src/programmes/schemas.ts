import { Type, type Static } from '@sinclair/typebox';
import { Count, IsoDate, MAX_INT, Nullable, Uuid } from '../registry/schemas.js';

const Subject = Type.Union([Type.Literal('individual'), Type.Literal('group')], {
  description: 'individual: people are enrolled; group: households are.',
});
const FormulaSource = (description: string) => Type.String({ minLength: 1, maxLength: 2000, description });

export const AttributeDefinitionInput = Type.Object(
  {
    subject: Subject,
    name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' }),
    type: Type.Union([Type.Literal('number'), Type.Literal('boolean'), Type.Literal('text')]),
    label: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  },
  { additionalProperties: false },
);
export type AttributeDefinitionInput = Static<typeof AttributeDefinitionInput>;

export const AttributeDefinition = Type.Object({
  id: Uuid,
  subject: Subject,
  name: Type.String(),
  type: Type.String(),
  label: Nullable(Type.String()),
  version: Type.Integer(),
});
export type AttributeDefinition = Static<typeof AttributeDefinition>;

const Levels = (what: string) =>
  Type.Integer({ minimum: 0, maximum: 5, default: 0, description: `Approval levels ${what} needs (0: applied at once).` });

/**
 * Maker-checker rule of a programme: how many approvals (by clients other than the maker, and other than each
 * other) each kind of beneficiary status change needs before it is applied.
 */
export const Approvals = Type.Object(
  {
    enrolment: Type.Optional(Levels('activating beneficiaries (POTENTIAL → ACTIVE, or enrolment straight to ACTIVE)')),
    status_change: Type.Optional(Levels('suspending, reactivating or graduating beneficiaries, one or in bulk')),
    death_suspension: Type.Optional(Levels('the suspensions a recorded death causes (admin API, civil events, external CRVS, imports)')),
  },
  { additionalProperties: false },
);
export type Approvals = Required<Static<typeof Approvals>>;
export type ApprovalKind = keyof Approvals;

export const OnMemberDeath = Type.Union([Type.Literal('none'), Type.Literal('suspend_household')], {
  description:
    "Household programmes: whether a current member's death also suspends the household's benefit (suspend_household) " +
    "or leaves it (none). A person's own benefit in an individual programme is always suspended at their death.",
});
export type OnMemberDeath = Static<typeof OnMemberDeath>;

const programmeFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  status: Type.Union([Type.Literal('draft'), Type.Literal('active'), Type.Literal('closed')]),
  eligibility: Nullable(
    FormulaSource('Who qualifies: a formula giving true/false, e.g. `count_members(age < 5) > 0 and rooms <= 2`.'),
  ),
  score: Nullable(FormulaSource('Ranking (e.g. a proxy-means-test score): a formula giving a number; lower ranks first.')),
  location_id: Nullable(Uuid),
  quota: Nullable(Type.Integer({ minimum: 1, maximum: MAX_INT, description: 'Most beneficiaries at once.' })),
  budget: Nullable(Type.Number({ minimum: 0 })),
  currency: Nullable(Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code of the benefit currency.' })),
  operator_id: Nullable(Uuid),
  approvals: Approvals,
  on_member_death: OnMemberDeath,
};

export const ProgrammeInput = Type.Object(
  {
    code: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
    subject: Subject,
    ...Type.Partial(Type.Object(programmeFields)).properties,
  },
  { additionalProperties: false },
);
export type ProgrammeInput = Static<typeof ProgrammeInput>;

export const ProgrammePatch = Type.Partial(
  Type.Object({ ...programmeFields, version: Type.Integer({ minimum: 1, maximum: MAX_INT }) }, { additionalProperties: false }),
  { additionalProperties: false, minProperties: 1 },
);
export type ProgrammePatch = Static<typeof ProgrammePatch>;

export const Programme = Type.Object({
  id: Uuid,
  code: Type.String(),
  subject: Subject,
  ...programmeFields,
  version: Type.Integer(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
export type Programme = Static<typeof Programme>;

export const PreviewInput = Type.Object(
  {
    as_of: Type.Optional(IsoDate),
    by_level: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, default: 1, description: 'Location level to count by.' })),
    sample: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, default: 10 })),
  },
  { additionalProperties: false },
);
export type PreviewInput = Static<typeof PreviewInput>;

export const Preview = Type.Object({
  as_of: IsoDate,
  considered: Count,
  eligible: Count,
  by_location: Type.Array(Type.Object({ location_id: Uuid, code: Type.String(), name: Type.String(), eligible: Count })),
  by_sex: Type.Array(Type.Object({ sex: Type.String(), eligible: Count })),
  sample: Type.Array(
    Type.Object({ id: Uuid, label: Type.String(), score: Nullable(Type.Number()) }),
    { description: 'Eligible subjects, best ranked first (lowest score).' },
  ),
});
export type Preview = Static<typeof Preview>;

export const BeneficiaryStatus = Type.Union(
  [Type.Literal('POTENTIAL'), Type.Literal('ACTIVE'), Type.Literal('SUSPENDED'), Type.Literal('GRADUATED')],
  { description: 'POTENTIAL → ACTIVE ⇄ SUSPENDED; ACTIVE or SUSPENDED → GRADUATED.' },
);
export type BeneficiaryStatus = Static<typeof BeneficiaryStatus>;

export const Beneficiary = Type.Object({
  id: Uuid,
  programme_id: Uuid,
  subject_id: Uuid,
  status: BeneficiaryStatus,
  score: Nullable(Type.Number()),
  reason: Nullable(Type.String()),
  version: Type.Integer(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
export type Beneficiary = Static<typeof Beneficiary>;

export const BeneficiaryWithHistory = Type.Composite([
  Beneficiary,
  Type.Object({
    history: Type.Array(
      Type.Object({
        from: Nullable(BeneficiaryStatus),
        to: BeneficiaryStatus,
        reason: Type.String(),
        actor: Type.String({ description: 'Who asked for the move (the maker, when it went through a task).' }),
        at: Type.String({ format: 'date-time' }),
        task_id: Type.Optional(Uuid),
        approved_by: Type.Optional(
          Type.Array(Type.String(), { description: 'The checkers who approved the task that applied the move, level by level.' }),
        ),
      }),
    ),
  }),
]);

const Reason = Type.String({ minLength: 1, maxLength: 500, description: 'Why: kept in the history and the audit log.' });

export const EnrolmentInput = Type.Object(
  {
    as_of: Type.Optional(IsoDate),
    activate: Type.Optional(Type.Boolean({ default: false, description: 'Enrol as ACTIVE rather than POTENTIAL.' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_INT, description: 'Enrol at most this many (within the quota).' })),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);
export type EnrolmentInput = Static<typeof EnrolmentInput>;

export const EnrolmentResult = Type.Object({
  as_of: IsoDate,
  status: BeneficiaryStatus,
  enrolled: Count,
  remaining_quota: Nullable(Count),
  projected_cost: Type.Optional(
    Type.Number({ description: 'Budgeted programmes: what those enrolled now would cost over every payment plan schedule.' }),
  ),
  remaining_budget: Type.Optional(
    Type.Number({ description: 'Budgeted programmes: the budget left after the projected cost of all current beneficiaries.' }),
  ),
});
export type EnrolmentResult = Static<typeof EnrolmentResult>;

export const StatusChange = Type.Object({ status: BeneficiaryStatus, reason: Reason }, { additionalProperties: false });

export const BulkStatusChange = Type.Object(
  {
    status: BeneficiaryStatus,
    reason: Reason,
    where: Type.Object(
      {
        status: Type.Optional(BeneficiaryStatus),
        subject_ids: Type.Optional(Type.Array(Uuid, { maxItems: 10000 })),
      },
      { additionalProperties: false, minProperties: 1 },
    ),
  },
  { additionalProperties: false },
);

export const Benefit = Type.Object({
  programme_id: Uuid,
  programme_code: Type.String(),
  programme_name: Type.String(),
  beneficiary_id: Uuid,
  status: BeneficiaryStatus,
  since: Type.String({ format: 'date-time' }),
});

export const OrganizationType = Type.Union(
  [Type.Literal('programme-operator'), Type.Literal('payment-provider'), Type.Literal('government')],
  { description: 'programme-operator: runs programmes; payment-provider: delivers payments; government: a public body.' },
);
export type OrganizationType = Static<typeof OrganizationType>;

const organizationFields = {
  type: OrganizationType,
  name: Type.String({ minLength: 1, maxLength: 200 }),
  identifiers: Type.Array(
    Type.Object(
      {
        system: Type.String({ format: 'uri', maxLength: 500, description: 'The identifier scheme, as a URI (e.g. https://tax.example.gov/tin).' }),
        value: Type.String({ minLength: 1, maxLength: 200 }),
      },
      { additionalProperties: false },
    ),
    { maxItems: 20 },
  ),
  contact: Type.Object(
    {
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      phone: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
      email: Type.Optional(Type.String({ format: 'email', maxLength: 200 })),
    },
    { additionalProperties: false },
  ),
  active: Type.Boolean(),
};

export const OrganizationInput = Type.Object(
  {
    type: organizationFields.type,
    name: organizationFields.name,
    identifiers: Type.Optional(organizationFields.identifiers),
    contact: Type.Optional(organizationFields.contact),
    active: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);
export type OrganizationInput = Static<typeof OrganizationInput>;

export const OrganizationPatch = Type.Partial(
  Type.Object({ ...organizationFields, version: Type.Integer({ minimum: 1, maximum: MAX_INT }) }, { additionalProperties: false }),
  { additionalProperties: false, minProperties: 1 },
);
export type OrganizationPatch = Static<typeof OrganizationPatch>;

export const Organization = Type.Object({
  id: Uuid,
  ...organizationFields,
  version: Type.Integer(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
export type Organization = Static<typeof Organization>;
