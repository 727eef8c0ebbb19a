import { randomUUID } from 'node:crypto';
import { and, eq, inArray, isNull, lte, gte, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { queryRows } from '../db/query-rows.js';
import { dciSubscriptions, dciTransactions } from '../db/schema/index.js';
import { hasScope, type Actor } from '../security/actor.js';
import { findEnabledClient } from '../security/clients.js';
import { withinScope } from '../security/geo-scope.js';
import { callbackUrl, enqueueCallback } from './callbacks.js';
import { responseHeader } from './envelope.js';
import type { DciContext } from './exchange.js';
import type { DciRegistry, RecordKind } from './registry.js';
import { withRegistryAttributes } from './criteria/vocabulary.js';
import { compileCriteria } from './search.js';

interface Change {
  id: number;
  entity: 'individual' | 'group';
  entity_id: string;
  /** A registry event (REGISTER …) or a civil event type (birth …). */
  event: string;
}

/** The providers whose subscriptions are notified, by name. */
export type Registries = Record<string, DciRegistry>;

type Subscription = typeof dciSubscriptions.$inferSelect;

/** The subscriber as it is now: disabled clients, lost scopes and narrowed geographic scopes apply to notifications. */
async function subscriberOf(tx: Db, subscription: Subscription): Promise<{ actor: Actor; callbackBase: string | null } | undefined> {
  const client = await findEnabledClient(tx, subscription.clientId);
  if (!client) return undefined;
  const actor: Actor = { id: client.clientId, scopes: client.scopes, locationId: client.locationId };
  return hasScope(actor, 'dci:subscribe') ? { actor, callbackBase: client.dciCallbackUrl } : undefined;
}

/** Ids among `ids` that the subscription's filter selects, inside the subscriber's geographic scope. */
async function matching(tx: Db, ctx: DciContext, registry: DciRegistry, kind: RecordKind, subscription: Subscription, actor: Actor, ids: string[]): Promise<string[]> {
  const { where } = compileCriteria(registry, { query_type: subscription.filterType as 'expression', query: subscription.filter }, ctx.config, kind);
  const table = kind.table;
  // A deletion is notified with the record as it was; every other event only for live records.
  const live = subscription.event === 'DELETE' ? undefined : isNull(table.deletedAt);
  const rows = await tx
    .select({ id: table.id })
    .from(table)
    .where(and(inArray(table.id, ids), live, withinScope(actor, table.locationId), kind.scope, where));
  return rows.map((r) => r.id);
}

async function notifySubscriber(tx: Db, ctx: DciContext, registry: DciRegistry, kind: RecordKind, subscription: Subscription, changed: string[]): Promise<void> {
  const subscriber = await subscriberOf(tx, subscription);
  if (!subscriber) return;
  const url = callbackUrl(subscriber.callbackBase, undefined, 'notify');
  if (!url) return;
  const ids = await matching(tx, ctx, registry, kind, subscription, subscriber.actor, changed);
  if (ids.length === 0) return;
  const records = await kind.records(tx, subscriber.actor, ids);
  const now = new Date().toISOString();
  const message = {
    transaction_id: randomUUID(),
    notify_event: records.map((record) => ({
      reference_id: randomUUID(),
      timestamp: now,
      data: {
        version: '1.0.0',
        ...(subscription.regType ? { reg_type: subscription.regType } : {}),
        reg_event_type: registry.notifyEventType(subscription.event),
        reg_record_type: kind.regRecordType,
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
      registry: registry.name,
      status: 'succ',
      recordCount: records.length,
      messageEncrypted: subscription.messageEncrypted,
    })
    .returning({ id: dciTransactions.id });
  await enqueueCallback(tx, ctx.jobs, { transaction: row!.id, url, header, message });
}

/**
 * Turns one batch of registry changes into notify callbacks, in one transaction with deleting the batch: each change
 * is notified once, even with several hub instances dispatching (SKIP LOCKED) or a crash mid-way (nothing commits).
 * Answers how many changes it consumed.
 */
export async function dispatchChanges(ctx: DciContext, registries: Registries, batchSize: number): Promise<number> {
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
    // Filters may name the registry's attribute definitions, as they could when the subscription was made.
    const withDefinitions = subscriptions.length > 0 ? { ...ctx, config: await withRegistryAttributes(tx, ctx.config) } : ctx;
    for (const subscription of subscriptions) {
      const registry = registries[subscription.registry];
      if (!registry) continue;
      const kind = registry.subscriptionRecords(subscription.notifyRecordType, subscription.event, withDefinitions.config);
      const changed = [...new Set(changes.filter((c) => c.entity === kind.changeEntity && c.event === subscription.event).map((c) => c.entity_id))];
      if (changed.length > 0) await notifySubscriber(tx, withDefinitions, registry, kind, subscription, changed);
    }
    await tx.execute(sql`DELETE FROM registry_changes WHERE id IN (${sql.join(changes.map((c) => sql`${c.id}`), sql`, `)})`);
    return changes.length;
  });
}

/** Polls the change outbox: drains it in batches, then waits `intervalMs`. `stop` waits for a running batch. */
export function startNotifyDispatcher(ctx: DciContext, registries: Registries, options: { intervalMs: number; batchSize: number; onError: (err: unknown) => void }) {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = (async () => {
      try {
        while (!stopped && (await dispatchChanges(ctx, registries, options.batchSize)) === options.batchSize);
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
