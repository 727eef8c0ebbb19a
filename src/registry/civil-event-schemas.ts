import { Type, type Static } from '@sinclair/typebox';
import { Identifier, IndividualInput, IsoDate, Nullable, Uuid } from './schemas.js';

/** JSON shapes of civil (vital) events, shared by validation, the OpenAPI document and TypeScript types. */

export const CIVIL_EVENT_TYPES = ['birth', 'death', 'fetal_death', 'marriage', 'divorce', 'adoption'] as const;
export type CivilEventType = (typeof CIVIL_EVENT_TYPES)[number];

export const CivilEventType = Type.Union(
  CIVIL_EVENT_TYPES.map((t) => Type.Literal(t)),
  { description: 'Vital event type (the DCI VitalEvents list; birth is its live_birth).' },
);

const PartyRole = Type.Union((['mother', 'father', 'parent', 'spouse', 'informant'] as const).map((r) => Type.Literal(r)));

export const EventParty = Type.Object(
  {
    role: PartyRole,
    individual_id: Type.Optional(Uuid),
    given_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    family_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    sex: Type.Optional(Type.String({ maxLength: 20 })),
    birth_date: Type.Optional(IsoDate),
    identifiers: Type.Optional(Type.Array(Identifier, { maxItems: 10 })),
  },
  {
    additionalProperties: false,
    description: 'A parent, spouse or informant: a registry individual (individual_id) or what the registration says of them.',
  },
);

export const CivilEventInput = Type.Object(
  {
    event_type: CivilEventType,
    registration_number: Type.String({ minLength: 1, maxLength: 64, description: 'Unique per event type (and source).' }),
    event_date: IsoDate,
    registration_date: Type.Optional(IsoDate),
    place_id: Type.Optional(Nullable(Uuid)),
    subject: Type.Union(
      [
        Type.Object({ individual_id: Uuid }, { additionalProperties: false }),
        Type.Object({ individual: IndividualInput }, { additionalProperties: false }),
      ],
      { description: 'The person the event is about: an existing individual, or a new one (a newborn).' },
    ),
    parties: Type.Optional(Type.Array(EventParty, { maxItems: 10 })),
    add_to_household: Type.Optional(
      Type.Boolean({ description: "Birth: add the child to the mother's (else the father's) current household as a child." }),
    ),
  },
  { additionalProperties: false },
);
export type CivilEventInput = Static<typeof CivilEventInput>;

export const CivilEvent = Type.Object({
  id: Uuid,
  event_type: CivilEventType,
  registration_number: Type.String(),
  source: Type.String({ description: '`local`, or the external registry the event came from.' }),
  event_date: IsoDate,
  registration_date: IsoDate,
  place_id: Nullable(Uuid),
  subject_id: Uuid,
  parties: Type.Array(EventParty),
  household_id: Type.Optional(Nullable(Uuid)),
  recorded_by: Type.String(),
  recorded_at: Type.String({ format: 'date-time' }),
});
export type CivilEvent = Static<typeof CivilEvent>;
