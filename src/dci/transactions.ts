import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { isUuid } from '../db/keyset.js';
import { dciTransactions } from '../db/schema/index.js';

export type TransactionRow = typeof dciTransactions.$inferSelect;

/**
 * Records a received message; undefined when this sender already sent this message_id (a replay). Runs in the
 * exchange's transaction, so a message whose processing fails is not consumed.
 */
export async function recordMessage(
  tx: Db,
  values: { clientId: string; senderId: string; messageId: string; transactionId: string | null; action: string; registry: string; messageEncrypted: boolean },
): Promise<TransactionRow | undefined> {
  const [row] = await tx
    .insert(dciTransactions)
    .values({ ...values, status: 'pdng' })
    .onConflictDoNothing({ target: [dciTransactions.senderId, dciTransactions.messageId] })
    .returning();
  return row;
}

export async function completeMessage(
  tx: Db,
  id: string,
  values: Pick<TransactionRow, 'status' | 'response' | 'recordCount' | 'consent'>,
): Promise<void> {
  await tx.update(dciTransactions).set(values).where(eq(dciTransactions.id, id));
}

/** This sender's searches, answered or still being worked (async), found the ways txn status allows; newest first. */
export async function findSearches(
  db: Db,
  registry: string,
  senderId: string,
  by: { transactionId?: string; correlationId?: string; referenceId?: string },
): Promise<TransactionRow[]> {
  const mine = and(eq(dciTransactions.registry, registry), eq(dciTransactions.senderId, senderId), eq(dciTransactions.action, 'search'), inArray(dciTransactions.status, ['pdng', 'succ']));
  let match;
  if (by.transactionId !== undefined) match = eq(dciTransactions.transactionId, by.transactionId);
  else if (by.correlationId !== undefined) {
    if (!isUuid(by.correlationId)) return [];
    match = eq(dciTransactions.correlationId, by.correlationId);
  } else {
    const probe = JSON.stringify({ search_response: [{ reference_id: by.referenceId }] });
    match = sql`${dciTransactions.response} @> ${probe}::jsonb`;
  }
  return db.select().from(dciTransactions).where(and(mine, match)).orderBy(desc(dciTransactions.receivedAt)).limit(20);
}
