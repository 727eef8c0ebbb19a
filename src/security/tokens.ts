import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { databaseUnavailable } from '../db/unavailable.js';
import { AuthError } from '../errors.js';
import type { Actor } from './actor.js';
import type { KeyStore } from './keys.js';

export interface TokenSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

const REALM = 'convergence-hub';
/** Allowed clock difference between instances when checking exp/nbf/iat. */
const CLOCK_TOLERANCE_SECONDS = 30;

export const bearerChallenge = (error?: string, description?: string, scope?: string) =>
  [
    `Bearer realm="${REALM}"`,
    error && `error="${error}"`,
    description && `error_description="${description.replaceAll('"', "'")}"`,
    scope && `scope="${scope}"`,
  ]
    .filter(Boolean)
    .join(', ');

/** A short-lived JWT naming the client, its granted scopes and its geographic scope. */
export async function issueToken(
  keys: KeyStore,
  settings: TokenSettings,
  client: { clientId: string; scopes: string[]; locationId: string | null },
): Promise<IssuedToken> {
  const { kid, alg, key } = await keys.signingKey();
  const scope = client.scopes.join(' ');
  const claims: Record<string, unknown> = { scope, client_id: client.clientId };
  if (client.locationId) claims.loc = client.locationId;
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
    .setIssuer(settings.issuer)
    .setSubject(client.clientId)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(`${settings.ttlSeconds}s`)
    .setJti(randomUUID())
    .sign(key);
  return { access_token: token, token_type: 'Bearer', expires_in: settings.ttlSeconds, scope };
}

function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'the access token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `the access token's ${err.claim} claim is not accepted`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'the access token signature does not verify';
  if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JOSEAlgNotAllowed) {
    return 'the access token was not signed by this hub';
  }
  return 'the access token is malformed';
}

/** Verifies signature (hub keys only), issuer, audience and expiry; answers the caller and when the token expires. */
export async function verifyToken(
  keys: KeyStore,
  settings: TokenSettings,
  token: string,
): Promise<{ actor: Actor; expiresAt: number }> {
  try {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        const key = await keys.verificationKey(header.kid);
        if (!key) throw new joseErrors.JWKSNoMatchingKey();
        return key;
      },
      {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: ['ES256', 'RS256', 'EdDSA'],
        typ: 'at+jwt',
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'sub', 'scope'],
      },
    );
    return {
      actor: {
        id: payload.sub!,
        scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
        locationId: typeof payload.loc === 'string' ? payload.loc : null,
      },
      expiresAt: payload.exp! * 1000,
    };
  } catch (err) {
    // The signing keys could not be read: the token may well be good, so the caller must not be told otherwise.
    if (databaseUnavailable(err)) throw err;
    const message = describe(err);
    throw new AuthError('unauthorized', message, bearerChallenge('invalid_token', message));
  }
}
