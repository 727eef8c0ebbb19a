import { and, desc, eq, sql } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { decodeCursor, toPage, type Page } from '../db/keyset.js';
import { dciTransactions } from '../db/schema/index.js';
import { conflict, notFound } from '../errors.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Actor } from '../security/actor.js';
import type { Callback } from './callbacks.js';

export type DeliveryState = 'pending' | 'delivered' | 'failed';

/** A DCI exchange as operators see it: who, what, and where its asynchronous answer stands. */
export interface TransactionSummary {
  id: string;
  correlation_id: string;
  registry: string;
  action: string;
  client_id: string;
  sender_id: string;
  message_id: string;
  transaction_id: string | null;
  status: string;
  record_count: number;
  received_at: string;
  delivery: {
    status: DeliveryState;
    url: string | null;
    attempts: number;
    last_error: string | null;
    last_attempt_at: string | null;
    /** A failed delivery whose callback was kept can be sent again. */
    retryable: boolean;
  } | null;
}

type Row = typeof dciTransactions.$inferSelect;

const toSummary = (r: Row): TransactionSummary => ({
  id: r.id,
  correlation_id: r.correlationId,
  registry: r.registry,
  action: r.action,
  client_id: r.clientId,
  sender_id: r.senderId,
  message_id: r.messageId,
  transaction_id: r.transactionId,
  status: r.status,
  record_count: r.recordCount,
  received_at: r.receivedAt.toISOString(),
  delivery:
    r.callbackStatus === null
      ? null
      : {
          status: r.callbackStatus as DeliveryState,
          url: r.callbackUrl,
          attempts: r.callbackAttempts,
          last_error: r.callbackError,
          last_attempt_at: r.callbackAt?.toISOString() ?? null,
          retryable: r.callbackStatus === 'failed' && r.callbackBody !== null,
        },
});

/** Keyset on (received_at, id), newest first; received_at travels as microseconds since the epoch, exact. */
const CURSOR = /^(\d{1,17})\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const micros = sql<string>`(extract(epoch FROM ${dciTransactions.receivedAt}) * 1000000)::bigint::text`;

/** Exchanges with an asynchronous answer in the given delivery state (all that have one when not given), newest first. */
export async function listTransactions(
  db: Db,
  filters: { delivery?: DeliveryState; sender_id?: string; registry?: string },
  limit: number,
  cursor: string | undefined,
): Promise<Page<TransactionSummary>> {
  let after;
  if (cursor !== undefined) {
    const [, at, id] = CURSOR.exec(decodeCursor(cursor, (key) => CURSOR.test(key)))!;
    after = sql`(${dciTransactions.receivedAt}, ${dciTransactions.id}) < (timestamptz 'epoch' + ${at}::bigint * interval '1 microsecond', ${id}::uuid)`;
  }
  const rows = await db
    .select({ row: dciTransactions, key: micros })
    .from(dciTransactions)
    .where(
      and(
        filters.delivery ? eq(dciTransactions.callbackStatus, filters.delivery) : sql`${dciTransactions.callbackStatus} IS NOT NULL`,
        filters.sender_id ? eq(dciTransactions.senderId, filters.sender_id) : undefined,
        filters.registry ? eq(dciTransactions.registry, filters.registry) : undefined,
        after,
      ),
    )
    .orderBy(desc(dciTransactions.receivedAt), desc(dciTransactions.id))
    .limit(limit + 1);
  const page = toPage(rows, limit, (r) => `${r.key}|${r.row.id}`);
  return { items: page.items.map((r) => toSummary(r.row)), next_cursor: page.next_cursor };
}

export async function getTransaction(db: Db, id: string): Promise<TransactionSummary> {
  const [row] = await db.select().from(dciTransactions).where(eq(dciTransactions.id, id));
  if (!row) throw notFound('DCI transaction', id);
  return toSummary(row);
}

/**
 * Sends a failed callback again: back to `pending` and a new delivery job, with the queue's full retries, in one
 * transaction (so two operators retrying at once enqueue it once). The partner gets the same header and message_id.
 */
export async function retryDelivery(db: Db, jobs: JobQueue, actor: Actor, id: string): Promise<TransactionSummary> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(dciTransactions).where(eq(dciTransactions.id, id)).for('update');
    if (!row) throw notFound('DCI transaction', id);
    if (row.callbackStatus !== 'failed') {
      throw conflict(`the callback of DCI transaction ${id} is ${row.callbackStatus ?? 'not asynchronous'}; only a failed delivery can be retried`);
    }
    if (row.callbackBody === null) throw conflict(`the callback of DCI transaction ${id} was not kept when it failed, so it cannot be sent again`);
    const [updated] = await tx
      .update(dciTransactions)
      .set({ callbackStatus: 'pending', callbackBody: null })
      .where(eq(dciTransactions.id, id))
      .returning();
    await jobs.send('dci-callback', row.callbackBody as unknown as Callback, { tx });
    await appendAudit(tx, actor, {
      action: 'dci.callback.retry',
      entityType: 'dci_transaction',
      entityId: row.correlationId,
      after: { sender_id: row.senderId, url: row.callbackUrl, attempts: row.callbackAttempts, last_error: row.callbackError },
    });
    return toSummary(updated!);
  });
}
