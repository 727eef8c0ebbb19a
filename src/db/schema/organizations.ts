import { sql } from 'drizzle-orm';
import { boolean, check, index, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { id, versioned } from './columns.js';

/** An identifier an organisation holds in some scheme (tax number, bank code, government register …). */
export interface OrganizationIdentifier {
  system: string;
  value: string;
}

export interface OrganizationContact {
  name?: string;
  phone?: string;
  email?: string;
}

/**
 * Organisations the hub deals with: the agencies that operate programmes, the payment providers that deliver
 * benefits, and government bodies. Not located in the admin-area tree, so no geographic scope applies to them.
 */
export const organizations = pgTable(
  'organizations',
  {
    id: id(),
    type: text('type').notNull(),
    name: text('name').notNull(),
    identifiers: jsonb('identifiers').$type<OrganizationIdentifier[]>().notNull().default([]),
    contact: jsonb('contact').$type<OrganizationContact>().notNull().default({}),
    active: boolean('active').notNull().default(true),
    ...versioned(),
  },
  (t) => [
    check('organizations_type_check', sql`${t.type} IN ('programme-operator', 'payment-provider', 'government')`),
    // Lookup by identifier (FHIR identifier=system|value) with @>.
    index('organizations_identifiers_gin').using('gin', sql`${t.identifiers} jsonb_path_ops`),
  ],
);
