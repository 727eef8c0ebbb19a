import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { httpErrorBody } from './dci/http-errors.js';
import { FHIR_JSON } from './fhir/media.js';
import { outcome } from './fhir/outcome.js';
import { problem, sendProblem, statusSlug } from './http/problem.js';

/**
 * Errors the router raises before any route (and so any surface's error handler) is chosen: a URL that cannot be
 * decoded, a path parameter past the length limit. Answered in the dialect of the surface the URL points into.
 */
export function answerFrameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const status = err.statusCode ?? 400;
  const path = request.url;
  if (path.startsWith('/fhir/') || path === '/fhir') return reply.code(status).type(FHIR_JSON).send(outcome(status === 414 ? 'too-long' : 'invalid', err.message));
  if (path.startsWith('/dci/')) return reply.code(status).send(httpErrorBody('err.request.bad', err.message));
  return sendProblem(request, reply, problem(status, statusSlug(status), err.message));
}
