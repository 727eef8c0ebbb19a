import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimitConfig } from '../config.js';
import { httpErrorBody } from '../dci/http-errors.js';
import { outcome } from '../fhir/outcome.js';
import { FHIR_PREFIX } from '../fhir/routes.js';
import { clientAddress } from './client-address.js';
import { TOKEN_PATH } from './oauth.js';
import { problem, sendProblem } from './problem.js';

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;
type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** A 429 in the dialect of the surface the request is for, with Retry-After. */
function sendThrottled(request: FastifyRequest, reply: FastifyReply, retryAfterSeconds: number, detail: string) {
  reply.code(429).header('retry-after', retryAfterSeconds);
  const path = request.url.split('?')[0]!;
  if (path === TOKEN_PATH) {
    return reply.header('cache-control', 'no-store').send({ error: 'temporarily_unavailable', error_description: detail });
  }
  if (path === FHIR_PREFIX || path.startsWith(`${FHIR_PREFIX}/`)) {
    return reply.type('application/fhir+json; charset=utf-8').send(outcome('throttled', detail));
  }
  if (path.startsWith('/dci/')) return reply.send(httpErrorBody('err.request.too_many_requests', detail));
  return sendProblem(request, reply, problem(429, 'too-many-requests', detail));
}

/** Counts the request; headers say where the caller stands; past the limit it is answered 429 and goes no further. */
function limitHook(limiter: Limiter, applies: (request: FastifyRequest) => boolean, whose: string): Hook {
  return async (request, reply) => {
    if (!applies(request)) return;
    const state = await limiter(request);
    if (state.isAllowed) return;
    reply.header('ratelimit-limit', state.max).header('ratelimit-remaining', state.remaining).header('ratelimit-reset', state.ttlInSeconds);
    if (!state.isExceeded) return;
    return sendThrottled(request, reply, state.ttlInSeconds, `more than ${state.max} requests ${whose} in ${state.timeWindow / 1000} s; retry after ${state.ttlInSeconds} s`);
  };
}

/**
 * Request limits, counted in each instance's memory (with N instances a caller may make up to N times the limit):
 * `byAddress` runs before authentication, on every request; `byClient` after it, keyed by the authenticated client,
 * on every route that needs a token. A limit of 0 is off.
 */
export async function rateLimits(app: FastifyInstance, config: RateLimitConfig): Promise<{ byAddress: Hook; byClient: Hook }> {
  await app.register(rateLimit, { global: false });
  const timeWindow = config.windowSeconds * 1000;
  const off: Hook = async () => {};
  return {
    byAddress:
      config.perAddress > 0
        ? limitHook(app.createRateLimit({ max: config.perAddress, timeWindow, keyGenerator: clientAddress }), () => true, 'from this address')
        : off,
    byClient:
      config.perClient > 0
        ? limitHook(app.createRateLimit({ max: config.perClient, timeWindow, keyGenerator: (request) => request.actor.id }), (request) => request.actor !== undefined, 'by this client')
        : off,
  };
}
