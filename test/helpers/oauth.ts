import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { TOKEN_PATH } from '../../src/http/oauth.js';
import { JWT_BEARER } from '../../src/security/token-endpoint.js';
import type { TestHub } from './hub.js';

export { JWT_BEARER, TOKEN_PATH };

/** POSTs form parameters to the token endpoint, as a client would. */
export function tokenRequest(
  hub: Pick<TestHub, 'app'>,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return hub.app.inject({
    method: 'POST',
    url: TOKEN_PATH,
    payload: new URLSearchParams(form).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

/** RFC 6749 §2.3.1: both parts form-urlencoded, then base64. */
export const basicAuth = (clientId: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;

export interface ClientKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  /** The public JWK to register in a client's `jwks`. */
  publicJwk: JWK;
}

export async function clientKey(alg: ClientKey['alg'], kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`): Promise<ClientKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export interface AssertionClaims {
  iss?: string;
  sub?: string;
  aud?: string;
  /** Seconds since the epoch; omitted with null. */
  exp?: number | null;
  jti?: string | null;
}

/** An RFC 7523 client assertion: iss = sub = client_id, aud = the token endpoint, short exp, fresh jti. */
export async function clientAssertion(hub: Pick<TestHub, 'config'>, clientId: string, key: ClientKey, claims: AssertionClaims = {}) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuer(claims.iss ?? clientId)
    .setSubject(claims.sub ?? clientId)
    .setAudience(claims.aud ?? `${hub.config.publicUrl}${TOKEN_PATH}`)
    .setIssuedAt(now);
  const exp = claims.exp === undefined ? now + 60 : claims.exp;
  if (exp !== null) jwt.setExpirationTime(exp);
  const jti = claims.jti === undefined ? randomUUID() : claims.jti;
  if (jti !== null) jwt.setJti(jti);
  return jwt.sign(key.privateKey);
}

export const assertionForm = (assertion: string, extra: Record<string, string> = {}) => ({
  grant_type: 'client_credentials',
  client_assertion_type: JWT_BEARER,
  client_assertion: assertion,
  ...extra,
});
