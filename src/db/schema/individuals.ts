import { date, index, jsonb, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { id, versioned } from './columns.js';
import { locations } from './locations.js';

export const individuals = pgTable(
  'individuals',
  {
    id: id(),
    givenName: text('given_name').notNull(),
    familyName: text('family_name').notNull(),
    middleName: text('middle_name'),
    sex: text('sex').notNull().default('unknown'),
    birthDate: date('birth_date', { mode: 'string' }),
    deathDate: date('death_date', { mode: 'string' }),
    locationId: uuid('location_id').references(() => locations.id),
    phone: text('phone'),
    email: text('email'),
    attributes: jsonb('attributes').$type<Record<string, unknown>>().notNull().default({}),
    ...versioned(),
  },
  (t) => [index('individuals_location_idx').on(t.locationId)],
);

/** National ID, birth registration number, phone-as-ID …: one value per type across the registry. */
export const identifiers = pgTable(
  'identifiers',
  {
    id: id(),
    individualId: uuid('individual_id')
      .notNull()
      .references(() => individuals.id),
    type: text('type').notNull(),
    value: text('value').notNull(),
  },
  (t) => [
    unique('identifiers_type_value_key').on(t.type, t.value),
    index('identifiers_individual_idx').on(t.individualId),
  ],
);
