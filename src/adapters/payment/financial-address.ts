import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { queryRows } from '../../db/query-rows.js';

/**
 * Where a payee's financial address (G2P Connect `id-type:id@provider`) is kept in the registry: an identifier of one
 * type (a mobile-money number, a bank account) or a custom attribute of the person. `format` turns the stored value
 * into the address: `mobile:{value}@lumicash`, or `{value}` when the registry holds whole addresses.
 */
export type PayeeAddressSource = { identifier_type: string; format: string } | { attribute: string; format: string };

/** As in schemas/dci/disburse (FinancialAddress). */
export const FINANCIAL_ADDRESS = /^[a-zA-Z0-9.:_-]+@[a-zA-Z0-9.-]+$/;

export const describeSource = (source: PayeeAddressSource) =>
  'identifier_type' in source ? `identifier ${source.identifier_type}` : `attribute ${source.attribute}`;

/** A payee's address, or why there is none to pay to. */
export type AddressLookup = { address: string } | { problem: string };

/**
 * The financial address of each payee (individual id), read in the sending transaction. A payee with none, with two
 * different ones, or with one that does not make a valid address gets a problem instead: it is not paid.
 */
export async function payeeAddresses(tx: Db, payeeIds: string[], source: PayeeAddressSource): Promise<Map<string, AddressLookup>> {
  const ids = [...new Set(payeeIds)];
  const found = new Map<string, AddressLookup>();
  if (ids.length === 0) return found;
  const rows = await queryRows<{ id: string; value: string }>(
    tx,
    'identifier_type' in source
      ? sql`SELECT individual_id AS id, value FROM identifiers WHERE type = ${source.identifier_type} AND individual_id IN ${ids}`
      : sql`SELECT id, attributes ->> ${source.attribute}::text AS value FROM individuals
            WHERE id IN ${ids} AND jsonb_typeof(attributes -> ${source.attribute}::text) IN ('string', 'number')`,
  );
  const where = describeSource(source);
  for (const { id, value } of rows) {
    const address = source.format.replace('{value}', value.trim());
    const seen = found.get(id);
    if (seen && !('address' in seen && seen.address === address)) {
      found.set(id, { problem: `the payee has more than one ${where}, so which account to pay is not clear` });
    } else if (!FINANCIAL_ADDRESS.test(address)) {
      found.set(id, { problem: `the payee's ${where} gives "${address.slice(0, 80)}", not a financial address (id-type:id@provider)` });
    } else {
      found.set(id, { address });
    }
  }
  return found;
}
