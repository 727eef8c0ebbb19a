import { bigint, boolean, index, integer, jsonb, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
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
    /** The provider the message was sent to: sr (Social Registry) or crvs. */
    registry: text('registry').notNull().default('sr'),
    /** rcvd | pdng | succ | rjct, as in the header of the answer. */
    status: text('status').notNull(),
    statusReasonCode: text('status_reason_code'),
    /** consent and authorize of each search_request item, keyed by reference_id. */
    consent: jsonb('consent').$type<Record<string, { consent?: unknown; authorize?: unknown }>>(),
    recordCount: integer('record_count').notNull().default(0),
    /** The message we answered with (its `message` part), replayed by txn status. */
    response: jsonb('response').$type<Record<string, unknown>>(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    /** Where the asynchronous answer (on-search, on-subscribe, notify …) goes; null for synchronous exchanges. */
    callbackUrl: text('callback_url'),
    /** pending | delivered | failed: the delivery state txn status reports. */
    callbackStatus: text('callback_status'),
    callbackAttempts: integer('callback_attempts').notNull().default(0),
    callbackError: text('callback_error'),
    callbackAt: timestamp('callback_at', { withTimezone: true }),
    /** The partner sent this message encrypted (or subscribed encrypted): our answers to it go out encrypted too. */
    messageEncrypted: boolean('message_encrypted').notNull().default(false),
    /** The callback given up on (`failed`): url, header and message, kept so that an operator can send it again. */
    callbackBody: jsonb('callback_body').$type<Record<string, unknown>>(),
  },
  (t) => [
    unique('dci_transactions_message_key').on(t.senderId, t.messageId),
    index('dci_transactions_transaction_idx').on(t.senderId, t.transactionId),
    // Retention deletes by age; the delivery list pages through one delivery state, newest first.
    index('dci_transactions_received_idx').on(t.receivedAt),
    index('dci_transactions_delivery_idx').on(t.callbackStatus, t.receivedAt, t.id).where(sql`callback_status IS NOT NULL`),
  ],
);

/** A partner's subscription to registry events (DCI subscribe); `id` is the subscription code we hand out. */
export const dciSubscriptions = pgTable(
  'dci_subscriptions',
  {
    id: id(),
    clientId: text('client_id').notNull(),
    senderId: text('sender_id').notNull(),
    referenceId: text('reference_id').notNull(),
    /** The provider subscribed to: sr (registry changes) or crvs (vital events). */
    registry: text('registry').notNull().default('sr'),
    regType: text('reg_type'),
    /** Our event name: REGISTER, UPDATE, DELETE, LINK or UNLINK (sr); a civil event type (crvs). */
    event: text('event').notNull(),
    /** Member or Group: which records are notified. */
    entity: text('entity').notNull(),
    notifyRecordType: text('notify_record_type').notNull(),
    filterType: text('filter_type').notNull(),
    filter: jsonb('filter').notNull(),
    /** Notified only between these times when given (the spec's frequency window). */
    startsAt: timestamp('starts_at', { withTimezone: true }),
    endsAt: timestamp('ends_at', { withTimezone: true }),
    frequency: text('frequency'),
    locale: text('locale'),
    /** subscribe | unsubscribe, as the spec's SubscriptionStatus. */
    status: text('status').notNull().default('subscribe'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    unsubscribedAt: timestamp('unsubscribed_at', { withTimezone: true }),
    /** Subscribed with an encrypted message: its notify messages are encrypted to the partner's key. */
    messageEncrypted: boolean('message_encrypted').notNull().default(false),
  },
  (t) => [index('dci_subscriptions_active_idx').on(t.event, t.entity).where(sql`status = 'subscribe'`)],
);

/**
 * Outbox of registry changes, written by triggers in the transaction that makes the change (only while someone is
 * subscribed), and consumed by the notify dispatcher, which deletes what it has turned into notify jobs.
 */
export const registryChanges = pgTable('registry_changes', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  /** individual | group (for a civil event: its subject) */
  entity: text('entity').notNull(),
  entityId: uuid('entity_id').notNull(),
  /** REGISTER | UPDATE | DELETE | LINK | UNLINK, or a civil event type (birth, death …) */
  event: text('event').notNull(),
  changedAt: timestamp('changed_at', { withTimezone: true }).notNull().defaultNow(),
});
