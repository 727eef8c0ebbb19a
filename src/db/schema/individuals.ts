import { sql } from 'drizzle-orm';
import { type AnyPgColumn, date, index, jsonb, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
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
    /** Set (with deleted_at) when a duplicate was merged into another record: the survivor. */
    mergedInto: uuid('merged_into').references((): AnyPgColumn => individuals.id),
    /**
     * "given family" folded by hub_normalise, stored: fuzzy search and duplicate scoring compare it row after row,
     * and unaccent() on every candidate costs more than the trigram lookup itself.
     */
    searchName: text('search_name').generatedAlwaysAs(sql`hub_normalise(given_name || ' ' || family_name)`),
    ...versioned(),
  },
  // Search indexes (see src/registry/search.ts and src/registry/import/search-indexes.ts, which drops and rebuilds
  // them around bulk loads): names through hub_normalise for exact matches, the folded full name for the people of
  // the names a fuzzy search found (in search_names), location with birth date (subtree + age searches, duplicate
  // blocking), attributes for equality (@>) tests.
  (t) => [
    index('individuals_location_birth_idx').on(t.locationId, t.birthDate),
    // id last: a page of one name (ORDER BY id LIMIT n) reads n rows in index order instead of all namesakes.
    index('individuals_family_given_idx').on(sql`hub_normalise(${t.familyName})`, sql`hub_normalise(${t.givenName})`, t.id),
    index('individuals_given_idx').on(sql`hub_normalise(${t.givenName})`, t.id),
    // Live people only, id last: the people of one name, in id order, read from the index alone.
    index('individuals_search_name_idx').on(t.searchName, t.id).where(sql`${t.deletedAt} IS NULL`),
    index('individuals_birth_date_idx').on(t.birthDate),
    // FHIR _lastUpdated filters and sorts (keyset on updated_at, id).
    index('individuals_updated_idx').on(t.updatedAt, t.id),
    index('individuals_attributes_gin').using('gin', sql`${t.attributes} jsonb_path_ops`),
    // DCI MOBILE lookups and phone_number equality; people without a phone are left out.
    index('individuals_phone_idx').on(t.phone).where(sql`${t.phone} IS NOT NULL`),
    // The records merged into a survivor (FHIR Patient.link): few rows, so a partial index.
    index('individuals_merged_into_idx').on(t.mergedInto).where(sql`${t.mergedInto} IS NOT NULL`),
  ],
);

/**
 * Every folded full name (`individuals.search_name`) ever stored, once, filled by a trigger on individuals. A fuzzy
 * search scores these names (far fewer than people: namesakes share one row) through the trigram index, then reads
 * the people of the best names from individuals_search_name_idx, without touching a person's row to rank it. Names
 * nobody bears any more are not removed (their people are simply not found); removing them would make every update
 * of a name contend on the row of the name it leaves.
 */
export const searchNames = pgTable(
  'search_names',
  { name: text('name').primaryKey() },
  (t) => [index('search_names_trgm').using('gin', sql`${t.name} gin_trgm_ops`)],
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
