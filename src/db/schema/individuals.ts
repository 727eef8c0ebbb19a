import { sql } from 'drizzle-orm';
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
  // Search indexes (see src/registry/search.ts): names through hub_normalise (migration 0003) for exact and fuzzy
  // (trigram) matches, birth dates for age ranges, attributes for equality (@>) tests.
  (t) => [
    index('individuals_location_idx').on(t.locationId),
    index('individuals_family_given_idx').on(sql`hub_normalise(${t.familyName})`, sql`hub_normalise(${t.givenName})`),
    index('individuals_given_idx').on(sql`hub_normalise(${t.givenName})`),
    index('individuals_name_trgm').using('gin', sql`hub_normalise(${t.givenName} || ' ' || ${t.familyName}) gin_trgm_ops`),
    index('individuals_birth_date_idx').on(t.birthDate),
    // FHIR _lastUpdated filters and sorts (keyset on updated_at, id).
    index('individuals_updated_idx').on(t.updatedAt, t.id),
    index('individuals_attributes_gin').using('gin', sql`${t.attributes} jsonb_path_ops`),
  ],
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
    // Lookup by value alone ("any identifier"): the unique key leads with the type and cannot serve it.
    index('identifiers_value_idx').on(t.value),
    index('identifiers_individual_idx').on(t.individualId),
  ],
);
