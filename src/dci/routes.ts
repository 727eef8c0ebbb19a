import type { FastifyPluginAsync } from 'fastify';
import { exchange, type DciContext } from './exchange.js';
import { syncSearchHandler } from './sync-search.js';
import { txnStatusHandler } from './txn-status.js';

/**
 * The DCI Social Registry provider under /dci/sr. Bodies are checked against the spec's own schemas inside the
 * exchange (so that errors come back as DCI reason codes), and the routes stay out of the admin OpenAPI document.
 */
export const dciSocialRegistryRoutes: FastifyPluginAsync<DciContext> = async (app, ctx) => {
  const search = syncSearchHandler(ctx);
  const txnStatus = txnStatusHandler();

  app.post('/registry/sync/search', { config: { scope: 'dci:search' }, schema: { hide: true } }, async (request, reply) => {
    const answer = await exchange(ctx, request.actor, request.body, search);
    return reply.code(answer.httpStatus).send(answer.body);
  });

  app.post('/registry/sync/txn/status', { config: { scope: 'dci:search' }, schema: { hide: true } }, async (request, reply) => {
    const answer = await exchange(ctx, request.actor, request.body, txnStatus);
    return reply.code(answer.httpStatus).send(answer.body);
  });
};
