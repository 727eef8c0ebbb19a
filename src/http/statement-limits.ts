import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { withStatementLimits } from '../db/statement-limits.js';

type SurfaceTimeouts = Config['statementTimeoutMs'];

const surfaceOf = (request: FastifyRequest): keyof SurfaceTimeouts =>
  request.url.startsWith('/dci/') ? 'dci' : request.url.startsWith('/fhir/') || request.url === '/fhir' ? 'fhir' : 'api';

/**
 * Every statement a request runs is bounded by its surface's timeout, and cancelled when the client goes away
 * before the answer is sent: a search nobody waits for stops using the database.
 */
export function registerStatementLimits(app: FastifyInstance, timeouts: SurfaceTimeouts) {
  // preValidation, not onRequest: the body is parsed in the socket's async context, which would lose the limits.
  app.addHook('preValidation', (request, reply, done) => {
    const abandoned = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abandoned.abort();
    });
    withStatementLimits({ timeoutMs: timeouts[surfaceOf(request)], signal: abandoned.signal }, done);
  });
}
