import { decodeJwt, createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import { lt } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { usedAssertions } from '../db/schema/index.js';
import type { AttemptSource, AuthLockout } from './auth-lockout.js';
import { authenticateWithSecret, findEnabledClient } from './clients.js';
import type { KeyStore } from './keys.js';
import { textProblem } from '../text.js';
import { SCOPE_NAMES } from './scopes.js';
import { issueToken, type IssuedToken, type TokenSettings } from './tokens.js';

/** RFC 6749 §5.2 error: answered as `{ error, error_description }`, never as problem+json. */
export class OAuthError extends Error {
  constructor(
    readonly error:
      | 'invalid_request'
      | 'invalid_client'
      | 'invalid_grant'
      | 'unauthorized_client'
      | 'unsupported_grant_type'
      | 'invalid_scope',
    readonly description: string,
    /** Set when the attempt is refused for a while (lockout): answered 429 with Retry-After. */
    readonly retryAfterSeconds?: number,
  ) {
    super(description);
  }
  get status() {
    if (this.retryAfterSeconds !== undefined) return 429;
    return this.error === 'invalid_client' ? 401 : 400;
  }
}

export interface TokenRequest {
  grant_type?: string;
  client_id?: string;
  client_secret?: string;
  client_assertion_type?: string;
  client_assertion?: string;
  scope?: string;
  /** From `Authorization: Basic` (client_secret_basic). */
  basic?: { clientId: string; secret: string };
}

/** Bounds how long a used jti must be remembered. */
const MAX_ASSERTION_LIFETIME_SECONDS = 600;
/** Allowed clock difference with the client when checking an assertion's exp/nbf/iat. */
const ASSERTION_CLOCK_TOLERANCE_SECONDS = 30;

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface TokenEndpointContext {
  db: Db;
  keys: KeyStore;
  settings: TokenSettings;
  /** Audiences a client assertion may name: the token endpoint URL and the issuer. */
  assertionAudiences: string[];
  lockout: AuthLockout;
}

type ClientRow = NonNullable<Awaited<ReturnType<typeof findEnabledClient>>>;

/** Client credentials grant with client_secret_basic, client_secret_post or private_key_jwt (RFC 7523). */
export async function handleTokenRequest(ctx: TokenEndpointContext, req: TokenRequest, address: string): Promise<IssuedToken> {
  if (req.grant_type === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
  if (req.grant_type !== 'client_credentials') {
    throw new OAuthError('unsupported_grant_type', 'only grant_type=client_credentials is supported');
  }
  const client = await withLockout(ctx.lockout, { clientId: claimedClientId(req), address }, () => authenticateClient(ctx, req));
  return issueToken(ctx.keys, ctx.settings, {
    clientId: client.clientId,
    scopes: grantedScopes(client.scopes, req.scope),
    locationId: client.locationId,
  });
}

/**
 * No scope asked: all of the client's scopes. Asked: exactly those, each of which the client must hold. A scope the
 * hub does not know is refused too (RFC 6749 §5.2), even for `admin`, rather than put into a token.
 */
function grantedScopes(allowed: string[], requested: string | undefined): string[] {
  if (requested === undefined || requested.trim() === '') return allowed;
  const asked = [...new Set(requested.split(' ').filter(Boolean))];
  const refused = asked.filter(
    (s) => !(SCOPE_NAMES as string[]).includes(s) || (!allowed.includes(s) && !allowed.includes('admin')),
  );
  if (refused.length > 0) throw new OAuthError('invalid_scope', `scope unknown or not granted to this client: ${refused.join(' ')}`);
  return asked;
}

/** The client_id an attempt names, before anything about it is verified: what its failures are counted against. */
function claimedClientId(req: TokenRequest): string | undefined {
  if (req.basic) return req.basic.clientId;
  if (req.client_id !== undefined) return req.client_id;
  if (req.client_assertion === undefined) return undefined;
  try {
    return decodeJwt(req.client_assertion).sub;
  } catch {
    return undefined;
  }
}

/**
 * Refuses every attempt while its client_id or address is locked, whatever the credentials (checked first, so a lock
 * cannot be used to test secrets); counts failed client authentications; a success clears the client's count.
 */
async function withLockout(lockout: AuthLockout, source: AttemptSource, authenticate: () => Promise<ClientRow>): Promise<ClientRow> {
  const lockedFor = await lockout.lockedFor(source);
  if (lockedFor > 0) {
    throw new OAuthError('invalid_client', `too many failed authentication attempts; try again in ${lockedFor} s`, lockedFor);
  }
  let client: ClientRow;
  try {
    client = await authenticate();
  } catch (err) {
    if (err instanceof OAuthError && err.error === 'invalid_client') await lockout.failed(source);
    throw err;
  }
  await lockout.succeeded(client.clientId);
  return client;
}

async function authenticateClient(ctx: TokenEndpointContext, req: TokenRequest): Promise<ClientRow> {
  const methods = [req.basic, req.client_secret, req.client_assertion].filter((m) => m !== undefined).length;
  if (methods > 1) throw new OAuthError('invalid_request', 'use exactly one client authentication method');
  if (req.basic) {
    if (req.client_id !== undefined && req.client_id !== req.basic.clientId) {
      throw new OAuthError('invalid_request', 'client_id differs from the Authorization header');
    }
    return bySecret(ctx.db, req.basic.clientId, req.basic.secret);
  }
  if (req.client_secret !== undefined) {
    if (!req.client_id) throw new OAuthError('invalid_request', 'client_id is required with client_secret');
    return bySecret(ctx.db, req.client_id, req.client_secret);
  }
  if (req.client_assertion !== undefined) {
    if (req.client_assertion_type !== JWT_BEARER) {
      throw new OAuthError('invalid_request', `client_assertion_type must be ${JWT_BEARER}`);
    }
    return byAssertion(ctx, req.client_assertion, req.client_id);
  }
  throw new OAuthError('invalid_client', 'client authentication is required');
}

async function bySecret(db: Db, clientId: string, secret: string): Promise<ClientRow> {
  const client = await authenticateWithSecret(db, clientId, secret);
  if (!client) throw new OAuthError('invalid_client', 'unknown client, wrong secret or disabled client');
  return client;
}

/** RFC 7523 §3: iss = sub = client_id, aud = this endpoint, exp required, jti used once, signed by a registered key. */
async function byAssertion(ctx: TokenEndpointContext, assertion: string, clientId: string | undefined): Promise<ClientRow> {
  let subject: string | undefined;
  try {
    subject = decodeJwt(assertion).sub;
  } catch {
    throw new OAuthError('invalid_client', 'client_assertion is not a JWT');
  }
  if (typeof subject !== 'string' || subject === '' || textProblem(subject) || (clientId !== undefined && clientId !== subject)) {
    throw new OAuthError('invalid_client', 'client_assertion subject does not name the client');
  }
  const client = await findEnabledClient(ctx.db, subject);
  if (!client?.jwks) throw new OAuthError('invalid_client', 'unknown client, disabled client or no registered keys');
  let payload;
  try {
    ({ payload } = await jwtVerify(assertion, createLocalJWKSet(client.jwks as JSONWebKeySet), {
      issuer: client.clientId,
      subject: client.clientId,
      audience: ctx.assertionAudiences,
      requiredClaims: ['exp', 'jti'],
      clockTolerance: ASSERTION_CLOCK_TOLERANCE_SECONDS,
    }));
  } catch (err) {
    const reason = err instanceof joseErrors.JOSEError ? err.message : 'invalid';
    throw new OAuthError('invalid_client', `client_assertion rejected: ${reason}`);
  }
  const nowSeconds = Math.floor(Date.now() / 1000);
  if (payload.exp! - nowSeconds > MAX_ASSERTION_LIFETIME_SECONDS) {
    throw new OAuthError('invalid_client', `client_assertion must expire within ${MAX_ASSERTION_LIFETIME_SECONDS} s`);
  }
  // An assertion still verifies up to the clock tolerance after its exp, so its jti must be kept that long too.
  await ctx.db.delete(usedAssertions).where(lt(usedAssertions.expiresAt, nowSeconds - ASSERTION_CLOCK_TOLERANCE_SECONDS));
  const inserted = await ctx.db
    .insert(usedAssertions)
    .values({ jti: `${client.clientId}:${payload.jti}`, clientId: client.clientId, expiresAt: payload.exp! })
    .onConflictDoNothing()
    .returning({ jti: usedAssertions.jti });
  if (inserted.length === 0) throw new OAuthError('invalid_client', 'client_assertion has already been used (jti)');
  return client;
}
