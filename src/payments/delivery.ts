import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';

/**
 * What a gateway that delivers batches later (from a job) reports about that delivery. The batch's payments are SENT
 * from the moment the job is recorded; an outcome that arrived meanwhile is never undone.
 */

/**
 * The gateway took the batch: its reference for the transaction is kept on payments that have none yet, whether
 * still SENT or already settled by a callback that overtook this acknowledgement.
 */
export async function batchDelivered(db: Db, references: string[], gatewayReference: string | null): Promise<void> {
  if (references.length === 0) return;
  await db.execute(sql`
    UPDATE payments SET last_error = NULL, gateway_reference = COALESCE(gateway_reference, ${gatewayReference}::text)
    WHERE reference_id IN ${references} AND status <> 'PENDING'`);
}

/**
 * An attempt to deliver the batch failed. After the last attempt the payments go back to PENDING, and their cycle to
 * APPROVED, so the next send hands them over again under the same references (which a gateway that did receive them
 * recognises): none is lost.
 */
export async function batchUndelivered(db: Db, references: string[], error: string, final: boolean): Promise<void> {
  if (references.length === 0) return;
  if (!final) {
    await db.execute(sql`UPDATE payments SET last_error = ${error} WHERE reference_id IN ${references} AND status = 'SENT'`);
    return;
  }
  await db.transaction(async (tx) => {
    await tx.execute(sql`
      WITH returned AS (
        UPDATE payments SET last_error = ${error}, status = 'PENDING'
        WHERE reference_id IN ${references} AND status = 'SENT' RETURNING cycle_id)
      UPDATE payment_cycles SET status = 'APPROVED', updated_at = now()
      WHERE id IN (SELECT cycle_id FROM returned) AND status = 'SENT'`);
  });
}
