import { randomUUID } from 'node:crypto';
import { and, eq, inArray, isNull, lte, gte, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { queryRows } from '../db/query-rows.js';
import { dciSubscriptions, dciTransactions, groups, individuals } from '../db/schema/index.js';
import { hasScope, type Actor } from '../security/actor.js';
import { findEnabledClient } from '../security/clients.js';
import { withinScope } from '../security/geo-scope.js';
import { callbackUrl, enqueueCallback } from './callbacks.js';
import { responseHeader } from './envelope.js';
import type { DciContext } from './exchange.js';
import { groupRecords, personRecords } from './records.js';
import { compileCriteria, regRecordType } from './search.js';
import { NOTIFY_EVENT_TYPE, type RegistryEvent } from './subscriptions.js';

interface Change {
  id: number;
  entity: 'individual' | 'group';
  entity_id: string;
  event: RegistryEvent;
}

type Subscription = typeof dciSubscriptions.$inferSelect;

/** The subscriber as it is now: disabled clients, lost scopes and narrowed geographic scopes apply to notifications. */
async function subscriberOf(tx: Db, subscription: Subscription): Promise<{ actor: Actor; callbackBase: string | null } | undefined> {
  const client = await findEnabledClient(tx, subscription.clientId);
  if (!client) return undefined;
  const actor: Actor = { id: client.clientId, scopes: client.scopes, locationId: client.locationId };
  return hasScope(actor, 'dci:subscribe') ? { actor, callbackBase: client.dciCallbackUrl } : undefined;
}

/** Ids among `ids` that the subscription's filter selects, inside the subscriber's geographic scope. */
async function matching(tx: Db, ctx: DciContext, subscription: Subscription, actor: Actor, ids: string[]): Promise<string[]> {
  const { where } = compileCriteria(
    { query_type: subscription.filterType as 'expression', query: subscription.filter, response_entity: subscription.entity as 'Member' },
    ctx.config,
  );
  const table = subscription.entity === 'Group' ? groups : individuals;
  // A deletion is notified with the record as it was; every other event only for live records.
  const live = subscription.event === 'DELETE' ? undefined : isNull(table.deletedAt);
  const rows = await tx.select({ id: table.id }).from(table).where(and(inArray(table.id, ids), live, withinScope(actor, table.locationId), where));
  return rows.map((r) => r.id);
}

async function notifySubscriber(tx: Db, ctx: DciContext, subscription: Subscription, changed: string[]): Promise<void> {
  const subscriber = await subscriberOf(tx, subscription);
  if (!subscriber) return;
  const url = callbackUrl(subscriber.callbackBase, undefined, 'notify');
  if (!url) return;
  const ids = await matching(tx, ctx, subscription, subscriber.actor, changed);
  if (ids.length === 0) return;
  const entity = subscription.entity as 'Group' | 'Member';
  const records = entity === 'Group' ? await groupRecords(tx, subscriber.actor, ids, ctx.config.attributes) : await personRecords(tx, ids);
  const now = new Date().toISOString();
  const message = {
    transaction_id: randomUUID(),
    notify_event: records.map((record) => ({
      reference_id: randomUUID(),
      timestamp: now,
      data: {
        version: '1.0.0',
        ...(subscription.regType ? { reg_type: subscription.regType } : {}),
        reg_event_type: NOTIFY_EVENT_TYPE[subscription.event as RegistryEvent],
        reg_record_type: regRecordType(entity),
        reg_records: record,
      },
      ...(subscription.locale ? { locale: subscription.locale } : {}),
    })),
  };
  const header = responseHeader(
    { sender_id: subscription.senderId, total_count: records.length },
    { action: 'notify', status: 'succ', senderId: ctx.config.senderId, completed: records.length },
  );
  const [row] = await tx
    .insert(dciTransactions)
    .values({
      clientId: subscription.clientId,
      senderId: subscription.senderId,
      messageId: header.message_id,
      transactionId: message.transaction_id,
      action: 'notify',
      status: 'succ',
      recordCount: records.length,
    })
    .returning({ id: dciTransactions.id });
  await enqueueCallback(tx, ctx.jobs, { transaction: row!.id, url, header, message });
}

/**
 * Turns one batch of registry changes into notify callbacks, in one transaction with deleting the batch: each change
 * is notified once, even with several hub instances dispatching (SKIP LOCKED) or a crash mid-way (nothing commits).
 * Answers how many changes it consumed.
 */
export async function dispatchChanges(ctx: DciContext, batchSize: number): Promise<number> {
  return ctx.db.transaction(async (tx) => {
    const changes = await queryRows<Change>(
      tx,
      sql`SELECT id, entity, entity_id, event FROM registry_changes ORDER BY id LIMIT ${batchSize} FOR UPDATE SKIP LOCKED`,
    );
    if (changes.length === 0) return 0;
    const now = new Date();
    const subscriptions = await tx
      .select()
      .from(dciSubscriptions)
      .where(
        and(
          eq(dciSubscriptions.status, 'subscribe'),
          or(isNull(dciSubscriptions.startsAt), lte(dciSubscriptions.startsAt, now)),
          or(isNull(dciSubscriptions.endsAt), gte(dciSubscriptions.endsAt, now)),
        ),
      );
    for (const subscription of subscriptions) {
      const entity = subscription.entity === 'Group' ? 'group' : 'individual';
      const changed = [...new Set(changes.filter((c) => c.entity === entity && c.event === subscription.event).map((c) => c.entity_id))];
      if (changed.length > 0) await notifySubscriber(tx, ctx, subscription, changed);
    }
    await tx.execute(sql`DELETE FROM registry_changes WHERE id IN (${sql.join(changes.map((c) => sql`${c.id}`), sql`, `)})`);
    return changes.length;
  });
}

/** Polls the change outbox: drains it in batches, then waits `intervalMs`. `stop` waits for a running batch. */
export function startNotifyDispatcher(ctx: DciContext, options: { intervalMs: number; batchSize: number; onError: (err: unknown) => void }) {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = (async () => {
      try {
        while (!stopped && (await dispatchChanges(ctx, options.batchSize)) === options.batchSize);
      } catch (err) {
        options.onError(err);
      }
      if (!stopped) timer = setTimeout(tick, options.intervalMs);
    })();
  };
  timer = setTimeout(tick, options.intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
