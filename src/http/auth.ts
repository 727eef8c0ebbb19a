import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../db/client.js';
import { AuthError, HubError } from '../errors.js';
import { hasScope, type Actor } from '../security/actor.js';
import { findEnabledClient } from '../security/clients.js';
import type { KeyStore } from '../security/keys.js';
import { bearerChallenge, verifyToken, type TokenSettings } from '../security/tokens.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Scope the route requires; routes that name none require `admin`. */
    scope?: string;
    /** Health, metadata, JWKS, docs and the token endpoint: no token needed. */
    public?: boolean;
    /**
     * Only for clients without a geographic scope: the operation reads or changes data of every area at once
     * (audit log, partner exchanges, external registries, reference data), so no area filter could make it safe.
     */
    wholeRegistry?: boolean;
  }
  interface FastifyRequest {
    actor: Actor;
  }
}

const WHOLE_REGISTRY_ONLY = 'this operation is for clients without a geographic scope: it spans every area';

/** How long a client found enabled is trusted before it is checked again (a disabled client's tokens die within it). */
const CLIENT_STATUS_TTL_MS = 5_000;
/** Tokens already verified, kept until they expire: partners reuse one token for many calls. */
const VERIFIED_TOKENS_MAX = 10_000;

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(header) : null;
  if (!match) {
    // RFC 6750 §3: no credentials at all get a bare challenge; a malformed Authorization header is invalid_request.
    const challenge = header ? bearerChallenge('invalid_request', 'expected Authorization: Bearer <token>') : bearerChallenge();
    throw new AuthError('unauthorized', 'a bearer access token is required', challenge);
  }
  return match[1]!;
}

/**
 * Every route needs a valid token with its scope unless it is marked public. Runs on `onRequest`, before the body
 * is read or validated, so a caller without the scope learns nothing about the payload rules.
 */
export function registerAuthentication(app: FastifyInstance, deps: { db: Db; keys: KeyStore; tokens: TokenSettings }) {
  const enabledUntil = new Map<string, number>();

  async function assertEnabled(clientId: string) {
    if ((enabledUntil.get(clientId) ?? 0) > Date.now()) return;
    if (await findEnabledClient(deps.db, clientId)) {
      enabledUntil.set(clientId, Date.now() + CLIENT_STATUS_TTL_MS);
      return;
    }
    enabledUntil.delete(clientId);
    throw new AuthError('unauthorized', 'the client is disabled or no longer exists', bearerChallenge('invalid_token', 'the client is disabled or no longer exists'));
  }

  const verified = new Map<string, { actor: Actor; expiresAt: number }>();

  async function actorOf(token: string): Promise<Actor> {
    const hit = verified.get(token);
    if (hit && hit.expiresAt > Date.now()) return hit.actor;
    const result = await verifyToken(deps.keys, deps.tokens, token);
    if (verified.size >= VERIFIED_TOKENS_MAX) verified.clear();
    verified.set(token, result);
    return result.actor;
  }

  app.decorateRequest('actor', undefined as unknown as Actor);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (config.public || request.is404) return;
    const actor = await actorOf(bearerToken(request));
    await assertEnabled(actor.id);
    const required = config.scope ?? 'admin';
    if (!hasScope(actor, required)) {
      throw new AuthError(
        'forbidden',
        `this operation needs the scope ${required}`,
        bearerChallenge('insufficient_scope', `requires ${required}`, required),
      );
    }
    if (config.wholeRegistry && actor.locationId !== null) throw new HubError('forbidden', WHOLE_REGISTRY_ONLY);
    request.actor = actor;
  });
}
