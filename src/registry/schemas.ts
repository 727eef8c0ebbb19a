import { Type, type Static } from '@sinclair/typebox';

/** JSON shapes of registry records, shared by validation, the OpenAPI document and TypeScript types. */

export const Uuid = Type.String({ format: 'uuid' });
export const Count = Type.Integer({ minimum: 0 });
/** The largest value of a PostgreSQL integer column: larger ones are refused at the edge, not by the database. */
export const MAX_INT = 2 ** 31 - 1;
export const IsoDate = Type.String({ format: 'date', description: 'YYYY-MM-DD' });
const Timestamp = Type.String({ format: 'date-time' });
/**
 * Null comes first: Fastify's Ajv coerces types, and with the string branch first it turns a JSON null into ""
 * (so `"middle_name": null` was stored as an empty string) before the null branch is ever tried.
 */
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([Type.Null(), schema]);

/** additionalProperties: false makes the name pattern a rule; patternProperties alone lets any other name through. */
export const Attributes = Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' }), Type.Unknown(), {
  additionalProperties: false,
  description: 'Custom variables (e.g. PMT attributes such as rooms, roof_material, water_source).',
});

export const Sex = Type.Union(
  [Type.Literal('male'), Type.Literal('female'), Type.Literal('other'), Type.Literal('unknown')],
  { description: 'Administrative sex, as FHIR AdministrativeGender.' },
);

export const Identifier = Type.Object(
  {
    type: Type.String({
      pattern: '^[A-Z][A-Z0-9_]{0,31}$',
      description: 'Identifier type, e.g. NIN, UIN, BIRTH_REG_NO, MOBILE. Unique per type across the registry.',
    }),
    value: Type.String({ minLength: 1, maxLength: 128 }),
  },
  { additionalProperties: false },
);
export type Identifier = Static<typeof Identifier>;

const individualFields = {
  given_name: Type.String({ minLength: 1, maxLength: 200 }),
  family_name: Type.String({ minLength: 1, maxLength: 200 }),
  middle_name: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  sex: Type.Optional(Sex),
  birth_date: Type.Optional(Nullable(IsoDate)),
  death_date: Type.Optional(Nullable(IsoDate)),
  location_id: Type.Optional(Nullable(Uuid)),
  phone: Type.Optional(Nullable(Type.String({ maxLength: 40 }))),
  email: Type.Optional(Nullable(Type.String({ format: 'email', maxLength: 254 }))),
  attributes: Type.Optional(Attributes),
  identifiers: Type.Optional(Type.Array(Identifier, { maxItems: 50 })),
};

export const IndividualInput = Type.Object(individualFields, { additionalProperties: false });
export type IndividualInput = Static<typeof IndividualInput>;

export const IndividualPatch = Type.Partial(
  Type.Object(
    {
      ...individualFields,
      identifiers: Type.Array(Identifier, { maxItems: 50, description: 'Replaces the whole list when present.' }),
      version: Type.Integer({ minimum: 1, maximum: MAX_INT, description: 'Expected current version (alternative to If-Match).' }),
    },
    { additionalProperties: false },
  ),
  { additionalProperties: false, minProperties: 1 },
);
export type IndividualPatch = Static<typeof IndividualPatch>;

const recordMeta = {
  version: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
};

export const Individual = Type.Object({
  id: Uuid,
  given_name: Type.String(),
  family_name: Type.String(),
  middle_name: Nullable(Type.String()),
  sex: Sex,
  birth_date: Nullable(IsoDate),
  death_date: Nullable(IsoDate),
  location_id: Nullable(Uuid),
  phone: Nullable(Type.String()),
  email: Nullable(Type.String()),
  attributes: Attributes,
  identifiers: Type.Array(Identifier),
  ...recordMeta,
});
export type Individual = Static<typeof Individual>;

export const MemberRole = Type.Union(
  ['head', 'spouse', 'child', 'parent', 'sibling', 'grandchild', 'grandparent', 'other_relative', 'non_relative'].map(
    (r) => Type.Literal(r),
  ),
  { description: 'Role of the member in the household.' },
);
export type MemberRole = Static<typeof MemberRole>;

export const MemberInput = Type.Object(
  {
    individual_id: Type.Optional(Uuid),
    individual: Type.Optional(IndividualInput),
    role: MemberRole,
    start_date: Type.Optional(Nullable(IsoDate)),
  },
  {
    additionalProperties: false,
    description: 'An existing individual (individual_id) or a new one created with the group (individual).',
  },
);
export type MemberInput = Static<typeof MemberInput>;

export const Member = Type.Object({
  individual_id: Uuid,
  role: MemberRole,
  start_date: Nullable(IsoDate),
  end_date: Nullable(IsoDate),
  given_name: Type.String(),
  family_name: Type.String(),
  sex: Sex,
  birth_date: Nullable(IsoDate),
});
export type Member = Static<typeof Member>;

const GROUP_KIND_PATTERN = '^[a-z][a-z0-9_]{0,31}$';

const groupFields = {
  code: Type.Optional(
    Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: 'Household code; generated when omitted.' }),
  ),
  kind: Type.Optional(Type.String({ pattern: GROUP_KIND_PATTERN, default: 'household' })),
  name: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  location_id: Type.Optional(Nullable(Uuid)),
  attributes: Type.Optional(Attributes),
};

export const GroupInput = Type.Object(
  { ...groupFields, members: Type.Optional(Type.Array(MemberInput, { maxItems: 100 })) },
  { additionalProperties: false },
);
export type GroupInput = Static<typeof GroupInput>;

export const GroupPatch = Type.Partial(
  Type.Object(
    {
      ...groupFields,
      // No default here: Ajv fills defaults in, so a patch that left kind out would reset it to household.
      kind: Type.String({ pattern: GROUP_KIND_PATTERN }),
      version: Type.Integer({ minimum: 1, maximum: MAX_INT, description: 'Expected current version (alternative to If-Match).' }),
    },
    { additionalProperties: false },
  ),
  { additionalProperties: false, minProperties: 1 },
);
export type GroupPatch = Static<typeof GroupPatch>;

export const Group = Type.Object({
  id: Uuid,
  code: Type.String(),
  kind: Type.String(),
  name: Nullable(Type.String()),
  location_id: Nullable(Uuid),
  attributes: Attributes,
  members: Type.Array(Member, { description: 'Current members (membership not ended).' }),
  ...recordMeta,
});
export type Group = Static<typeof Group>;

export const LocationInput = Type.Object(
  {
    code: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    kind: Type.Optional(Nullable(Type.String({ maxLength: 64, description: 'e.g. province, commune, colline' }))),
    parent_id: Type.Optional(Nullable(Uuid)),
  },
  { additionalProperties: false },
);
export type LocationInput = Static<typeof LocationInput>;

export const LocationPatch = Type.Partial(
  Type.Object(
    {
      name: Type.String({ minLength: 1, maxLength: 200 }),
      kind: Nullable(Type.String({ maxLength: 64 })),
      version: Type.Integer({ minimum: 1, maximum: MAX_INT }),
    },
    { additionalProperties: false },
  ),
  { additionalProperties: false, minProperties: 1 },
);
export type LocationPatch = Static<typeof LocationPatch>;

export const Location = Type.Object({
  id: Uuid,
  code: Type.String(),
  name: Type.String(),
  kind: Nullable(Type.String()),
  level: Type.Integer({ description: '1 for a root area, parent level + 1 below it.' }),
  parent_id: Nullable(Uuid),
  ...recordMeta,
});
export type Location = Static<typeof Location>;

export const DuplicateStatus = Type.Union([Type.Literal('open'), Type.Literal('dismissed'), Type.Literal('merged')]);
export type DuplicateStatus = Static<typeof DuplicateStatus>;

/** What a reviewer needs to compare the two records of a candidate at a glance. */
export const DuplicatePerson = Type.Object({
  id: Uuid,
  given_name: Type.String(),
  family_name: Type.String(),
  sex: Sex,
  birth_date: Nullable(IsoDate),
  location_id: Nullable(Uuid),
  deleted: Type.Boolean(),
  merged_into: Nullable(Uuid),
});
export type DuplicatePerson = Static<typeof DuplicatePerson>;

export const DuplicateCandidate = Type.Object({
  id: Uuid,
  kind: Type.Union([Type.Literal('probable'), Type.Literal('identifier')], {
    description:
      'probable: two records with similar names, the same birth year and the same location. identifier: an import row ' +
      'carrying the identifier of `individual` but describing someone else, held back (in `incoming`) until dismissed.',
  }),
  status: DuplicateStatus,
  score: Type.Integer({ minimum: 0, maximum: 100, description: 'Higher is more likely one person (identifier conflicts: 100).' }),
  reasons: Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: 'Each rule that matched, with its evidence.' }),
  individual: DuplicatePerson,
  other: Nullable(DuplicatePerson),
  incoming: Nullable(Type.Record(Type.String(), Type.Unknown())),
  created_at: Timestamp,
  decided_by: Nullable(Type.String()),
  decided_at: Nullable(Timestamp),
});
export type DuplicateCandidate = Static<typeof DuplicateCandidate>;
