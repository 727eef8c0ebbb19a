import { and, eq, inArray, sql } from 'drizzle-orm';
import { isUuid } from '../db/keyset.js';
import { dciSubscriptions } from '../db/schema/index.js';
import { DciError, ItemRejection, type SubscribeReasonCode, type UnsubscribeReasonCode } from './codes.js';
import type { DciContext, ExchangeHandler } from './exchange.js';
import { answerEach, itemErrors } from './item-errors.js';
import type { DciRegistry } from './registry.js';
import { describeErrors, validator } from './schemas.js';
import { withRegistryAttributes } from './criteria/vocabulary.js';
import { compileCriteria, parseWithinLimits, type SearchCriteria } from './search.js';

interface SubscribeItem {
  reference_id: string;
  timestamp: string;
  subscribe_criteria: {
    reg_type?: string;
    reg_event_type: string;
    frequency?: { start_time: string; end_time: string; frequency: string };
    filter_type?: SearchCriteria['query_type'] | 'graphql';
    filter: unknown;
    notify_record_type: string;
  };
  locale?: string;
}

interface SubscribeMessage {
  transaction_id: string;
  subscribe_request: SubscribeItem[];
}

function subscribeReason(paths: string[]): SubscribeReasonCode {
  const all = (start: string) => paths.every((p) => p.startsWith(start));
  if (all('/reference_id')) return 'rjct.reference_id.invalid';
  if (all('/timestamp')) return 'rjct.timestamp.invalid';
  if (all('/subscribe_criteria/reg_event_type')) return 'rjct.notify_types.invalid';
  return 'rjct.notify_details.invalid';
}

/** `registry/subscribe`: each subscribe_request item becomes a subscription (or is rejected on its own). */
export function subscribeHandler(ctx: DciContext, registry: DciRegistry): ExchangeHandler<SubscribeMessage> {
  return {
    registry: registry.name,
    action: 'subscribe',
    answerAction: 'on-subscribe',
    count(message) {
      if (!Array.isArray(message.subscribe_request)) throw new DciError(400, 'err.request.bad', '/message/subscribe_request must be a list');
      itemErrors(message, registry.spec, 'SubscribeRequest', 'subscribe_request', subscribeReason);
      return message.subscribe_request.length;
    },
    async process(tx, { partner, message, row: exchangeRow }) {
      const rejected = itemErrors(message as unknown as Record<string, unknown>, registry.spec, 'SubscribeRequest', 'subscribe_request', subscribeReason);
      const vocabulary = await withRegistryAttributes(tx, ctx.config);
      const { responses, audit } = await answerEach(message.subscribe_request, rejected, async (item) => {
        const criteria = item.subscribe_criteria;
        const event = registry.subscriptionEvent(criteria.reg_event_type);
        if (!event) {
          throw new ItemRejection('rjct.notify_types.invalid', `reg_event_type must name one of ${registry.eventNames.join(', ')} (case-insensitive, namespace optional)`);
        }
        const filterType = criteria.filter_type ?? 'expression';
        if (filterType === 'graphql') throw new ItemRejection('rjct.notify_details.invalid', 'graphql filters are not supported; use idtype-value, expression or predicate');
        const kind = registry.subscriptionRecords(criteria.notify_record_type, event, vocabulary);
        const entity = kind.name;
        try {
          const filter = { query_type: filterType, query: criteria.filter };
          compileCriteria(registry, filter, vocabulary, kind, parseWithinLimits(filter, ctx.config.queryLimits));
        } catch (err) {
          if (err instanceof ItemRejection) throw new ItemRejection('rjct.notify_details.invalid', err.message);
          throw err;
        }
        const window = criteria.frequency;
        const [existing] = await tx
          .select({ id: dciSubscriptions.id })
          .from(dciSubscriptions)
          .where(
            and(
              eq(dciSubscriptions.registry, registry.name),
              eq(dciSubscriptions.clientId, partner.clientId),
              eq(dciSubscriptions.status, 'subscribe'),
              eq(dciSubscriptions.event, event),
              eq(dciSubscriptions.entity, entity),
              eq(dciSubscriptions.filterType, filterType),
              sql`${dciSubscriptions.filter} = ${JSON.stringify(criteria.filter)}::jsonb`,
            ),
          )
          .limit(1);
        if (existing) throw new ItemRejection('rjct.event.already_subscribed', `subscription ${existing.id} already notifies these events`);
        const [row] = await tx
          .insert(dciSubscriptions)
          .values({
            clientId: partner.clientId,
            senderId: partner.senderId,
            referenceId: item.reference_id,
            registry: registry.name,
            regType: criteria.reg_type ?? null,
            event,
            entity,
            notifyRecordType: criteria.notify_record_type,
            filterType,
            filter: criteria.filter as object,
            startsAt: window ? new Date(window.start_time) : null,
            endsAt: window ? new Date(window.end_time) : null,
            frequency: window?.frequency ?? null,
            locale: item.locale ?? null,
            // A partner that subscribed encrypted is notified encrypted.
            messageEncrypted: exchangeRow.messageEncrypted,
          })
          .returning();
        return {
          answer: {
            subscriptions: [
              {
                code: row!.id,
                status: 'subscribe',
                timestamp: row!.createdAt.toISOString(),
                ...(criteria.reg_type ? { reg_type: criteria.reg_type } : {}),
                reg_event_type: criteria.reg_event_type,
                ...(window ? { frequency: window } : {}),
                filter_type: filterType,
                filter: criteria.filter,
                notify_record_type: kind.regRecordType,
              },
            ],
            ...(item.locale ? { locale: item.locale } : {}),
          },
          audit: { code: row!.id, event, entity },
        };
      });
      return {
        message: { transaction_id: message.transaction_id, correlation_id: exchangeRow.correlationId, subscribe_response: responses },
        completed: responses.length,
        recordCount: 0,
        audit,
      };
    },
  };
}

interface UnsubscribeMessage {
  transaction_id: string;
  timestamp: string;
  subscription_codes: string[];
}

/**
 * `registry/unsubscribe`: all codes or none — a code that is not one of this partner's subscriptions rejects the
 * request (rjct.subscription_code.invalid), as does a request whose codes are all already unsubscribed.
 */
export function unsubscribeHandler(registry: DciRegistry): ExchangeHandler<UnsubscribeMessage> {
  return {
    registry: registry.name,
    action: 'unsubscribe',
    answerAction: 'on-unsubscribe',
    count(message) {
      const check = validator('UnSubscribeRequest', registry.spec);
      if (!check(message)) throw new DciError(400, 'err.request.bad', describeErrors(check.errors, '/message'));
      return (message.subscription_codes as unknown[]).length;
    },
    async process(tx, { partner, message, row }) {
      const codes = [...new Set(message.subscription_codes)];
      const valid = codes.filter(isUuid);
      const found = valid.length
        ? await tx
            .select({ id: dciSubscriptions.id, status: dciSubscriptions.status })
            .from(dciSubscriptions)
            .where(and(inArray(dciSubscriptions.id, valid), eq(dciSubscriptions.clientId, partner.clientId), eq(dciSubscriptions.registry, registry.name)))
        : [];
      const answer = (status: 'succ' | 'rjct', reason?: { code: UnsubscribeReasonCode; message: string }) => ({
        message: {
          transaction_id: message.transaction_id,
          correlation_id: row.correlationId,
          timestamp: new Date().toISOString(),
          status,
          ...(reason ? { status_reason_code: reason.code, status_reason_message: reason.message } : {}),
          subscription_status: found.map((f) => ({ code: f.id, status: status === 'succ' ? 'unsubscribe' : f.status })),
        },
        completed: status === 'succ' ? found.length : 0,
        recordCount: 0,
        audit: { codes, status, reason: reason?.code },
      });
      const unknown = codes.filter((c) => !found.some((f) => f.id === c));
      if (unknown.length > 0) {
        return answer('rjct', { code: 'rjct.subscription_code.invalid', message: `not subscriptions of yours: ${unknown.slice(0, 10).join(', ')}` });
      }
      const active = found.filter((f) => f.status === 'subscribe').map((f) => f.id);
      if (active.length === 0) return answer('rjct', { code: 'rjct.event.already_unsubscribed', message: 'every one of these subscriptions is already unsubscribed' });
      await tx.update(dciSubscriptions).set({ status: 'unsubscribe', unsubscribedAt: new Date() }).where(inArray(dciSubscriptions.id, active));
      return answer('succ');
    },
  };
}
