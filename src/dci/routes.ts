import type { FastifyPluginAsync } from 'fastify';
import { acceptAsync, exchange, type DciContext, type ExchangeHandler } from './exchange.js';
import { subscribeHandler, unsubscribeHandler } from './subscriptions.js';
import { syncSearchHandler } from './sync-search.js';
import { txnStatusHandler } from './txn-status.js';

/** Every endpoint's handler; the asynchronous ones are also worked by the dci-process queue. */
export function dciHandlers(ctx: DciContext) {
  return {
    search: syncSearchHandler(ctx),
    txnStatus: txnStatusHandler(),
    subscribe: subscribeHandler(ctx),
    unsubscribe: unsubscribeHandler(),
  };
}

/**
 * The DCI Social Registry provider under /dci/sr. Bodies are checked against the spec's own schemas inside the
 * exchange (so that errors come back as DCI reason codes), and the routes stay out of the admin OpenAPI document.
 */
export const dciSocialRegistryRoutes: FastifyPluginAsync<DciContext> = async (app, ctx) => {
  const handlers = dciHandlers(ctx);
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
