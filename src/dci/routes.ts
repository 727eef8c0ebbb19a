import type { FastifyPluginAsync } from 'fastify';
import { acceptAsync, exchange, type DciContext, type ExchangeHandler } from './exchange.js';
import { answerRefusalsAsDci } from './http-errors.js';
import type { DciRegistry } from './registry.js';
import { subscribeHandler, unsubscribeHandler } from './subscriptions.js';
import { syncSearchHandler } from './sync-search.js';
import { txnStatusHandler } from './txn-status.js';

/** Every endpoint's handler of one provider; the asynchronous ones are also worked by the dci-process queue. */
export function dciHandlers(ctx: DciContext, registry: DciRegistry) {
  return {
    search: syncSearchHandler(ctx, registry),
    txnStatus: txnStatusHandler(registry),
    subscribe: subscribeHandler(ctx, registry),
    unsubscribe: unsubscribeHandler(registry),
  };
}

/**
 * A DCI provider's endpoints (the Social Registry under /dci/sr, the CRVS under /dci/crvs). Bodies are checked
 * against the spec's own schemas inside the exchange (so that errors come back as DCI reason codes), and the routes
 * stay out of the admin OpenAPI document.
 */
export const dciRegistryRoutes: FastifyPluginAsync<DciContext & { registry: DciRegistry }> = async (app, { registry, ...ctx }) => {
  const handlers = dciHandlers(ctx, registry);
  answerRefusalsAsDci(app);
  const route = <M>(path: string, scope: string, handler: ExchangeHandler<M>, mode: 'sync' | 'async') =>
    app.post(path, { config: { scope }, schema: { hide: true } }, async (request, reply) => {
      const answer = await (mode === 'sync' ? exchange : acceptAsync)(ctx, request.actor, request.body, handler);
      return reply.code(answer.httpStatus).send(answer.body);
    });

  route('/registry/sync/search', 'dci:search', handlers.search, 'sync');
  route('/registry/sync/txn/status', 'dci:search', handlers.txnStatus, 'sync');
  route('/registry/search', 'dci:search', handlers.search, 'async');
  route('/registry/txn/status', 'dci:search', handlers.txnStatus, 'async');
  route('/registry/subscribe', 'dci:subscribe', handlers.subscribe, 'async');
  route('/registry/unsubscribe', 'dci:subscribe', handlers.unsubscribe, 'async');
};
