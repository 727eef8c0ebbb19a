import type { FastifyError, FastifyInstance } from 'fastify';
import { databaseUnavailable, RETRY_AFTER_SECONDS } from '../db/unavailable.js';
import { AuthError, HubError } from '../errors.js';
import { databaseProblem } from '../http/error-handler.js';
import { problemOf } from '../http/problem.js';
import type { ErrorCode } from './codes.js';

/**
 * The spec's HttpErrorResponse `{errors: [{code, message}]}`, plus the same as one `error` object (the shape of the
 * Ack's Error): DCI clients built on either look for one of the two.
 */
export function httpErrorBody(code: ErrorCode, message: string) {
  const error = { code, message: message.slice(0, 999) };
  return { errors: [error], error };
}

const CODES: Record<number, ErrorCode> = {
  401: 'err.request.unauthorized',
  403: 'err.request.forbidden',
  404: 'err.request.not_found',
  429: 'err.request.too_many_requests',
};

/** A 503 the caller may retry: the database down (a restart, a failover) or a statement cancelled by its timeout. */
function unavailable(err: unknown): { code: ErrorCode; message: string } | undefined {
  const down = databaseUnavailable(err);
  if (down) return { code: 'err.service.unavailable', message: 'the database is unavailable; retry later' };
  if (databaseProblem(err)?.status === 503) {
    return { code: 'err.request.timeout', message: 'the search took longer than this registry allows; narrow it or retry later' };
  }
  return undefined;
}

/**
 * A request refused before a DCI handler runs (no token, a body that is not JSON, text with NUL …) or that the
 * database could not serve in time is answered as an HttpErrorResponse too, not as problem+json; anything unexpected
 * goes on to the hub's own handler.
 */
export function answerRefusalsAsDci(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const retry = unavailable(err);
    if (retry) {
      // The code only: the error itself carries the failed statement's parameters.
      request.log.warn({ code: databaseUnavailable(err) ?? '57014' }, retry.message);
      return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send(httpErrorBody(retry.code, retry.message));
    }
    const status = err instanceof HubError ? problemOf(err).status : err.statusCode;
    if (status === undefined || status < 400 || status >= 500) throw err;
    if (err instanceof AuthError) reply.header('www-authenticate', err.challenge);
    return reply.code(status).send(httpErrorBody(CODES[status] ?? 'err.request.bad', err.message));
  });
}
