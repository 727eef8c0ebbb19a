import type { FastifyError, FastifyInstance } from 'fastify';
import { AuthError, HubError } from '../errors.js';
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

/**
 * A request refused before a DCI handler runs (no token, a body that is not JSON, text with NUL …) is answered as an
 * HttpErrorResponse too, not as problem+json; anything unexpected goes on to the hub's own handler.
 */
export function answerRefusalsAsDci(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, _request, reply) => {
    const status = err instanceof HubError ? problemOf(err).status : err.statusCode;
    if (status === undefined || status < 400 || status >= 500) throw err;
    if (err instanceof AuthError) reply.header('www-authenticate', err.challenge);
    return reply.code(status).send(httpErrorBody(CODES[status] ?? 'err.request.bad', err.message));
  });
}
