import type { FastifyPluginAsync } from 'fastify';
import { databaseUnavailable, RETRY_AFTER_SECONDS } from '../db/unavailable.js';
import { databaseProblem } from '../http/error-handler.js';
import { DciError } from './codes.js';
import { acceptAsync, errorAnswer, exchange, type DciContext, type ExchangeHandler } from './exchange.js';
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
  // The database down (a restart, a failover) is the spec's err.service.unavailable; anything else goes to the app's handler.
  app.setErrorHandler((err, request, reply) => {
    const code = databaseUnavailable(err);
    if (!code) throw err;
    request.log.warn({ code }, 'database unavailable');
    const answer = errorAnswer(new DciError(503, 'err.service.unavailable', 'the database is unavailable; retry later'));
    return reply.code(answer.httpStatus).header('retry-after', String(RETRY_AFTER_SECONDS)).send(answer.body);
  });
  const route = <M>(path: string, scope: string, handler: ExchangeHandler<M>, mode: 'sync' | 'async') =>
    app.post(path, { config: { scope }, schema: { hide: true } }, async (request, reply) => {
      const answer = await (mode === 'sync' ? exchange : acceptAsync)(ctx, request.actor, request.body, handler).catch((err: unknown) => {
        // A statement cancelled by the timeout: the spec's HttpErrorResponse, not a 500.
        const timeout = databaseProblem(err)?.status === 503;
        if (!timeout) throw err;
        reply.header('retry-after', String(RETRY_AFTER_SECONDS));
        return errorAnswer(new DciError(503, 'err.request.timeout', 'the search took longer than this registry allows; narrow it or retry later'));
      });
      return reply.code(answer.httpStatus).send(answer.body);
    });

  route('/registry/sync/search', 'dci:search', handlers.search, 'sync');
  route('/registry/sync/txn/status', 'dci:search', handlers.txnStatus, 'sync');
  route('/registry/search', 'dci:search', handlers.search, 'async');
  route('/registry/txn/status', 'dci:search', handlers.txnStatus, 'async');
  route('/registry/subscribe', 'dci:subscribe', handlers.subscribe, 'async');
  route('/registry/unsubscribe', 'dci:subscribe', handlers.unsubscribe, 'async');
};
