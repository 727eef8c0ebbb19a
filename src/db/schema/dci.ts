import { index, integer, jsonb, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { id } from './columns.js';

/**
 * One row per DCI message received: replay protection (one message_id per sender), the answer for txn status,
 * and the record of who asked what, with which consent, and how many records went out.
 */
export const dciTransactions = pgTable(
  'dci_transactions',
  {
    id: id(),
    /** Our correlation_id for the exchange. */
    correlationId: uuid('correlation_id').notNull().unique().defaultRandom(),
    clientId: text('client_id').notNull(),
    senderId: text('sender_id').notNull(),
    messageId: text('message_id').notNull(),
    transactionId: text('transaction_id'),
    action: text('action').notNull(),
    /** rcvd | pdng | succ | rjct, as in the header of the answer. */
    status: text('status').notNull(),
    statusReasonCode: text('status_reason_code'),
    /** consent and authorize of each search_request item, keyed by reference_id. */
    consent: jsonb('consent').$type<Record<string, { consent?: unknown; authorize?: unknown }>>(),
    recordCount: integer('record_count').notNull().default(0),
    /** The message we answered with (its `message` part), replayed by txn status. */
    response: jsonb('response').$type<Record<string, unknown>>(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique('dci_transactions_message_key').on(t.senderId, t.messageId),
    index('dci_transactions_transaction_idx').on(t.senderId, t.transactionId),
  ],
);
