/** Which JOSE algorithm a registered public JWK is used with, when the key names none (RFC 7517 makes `alg` optional). */

const EC_SIGNING: Record<string, string> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' };

/** A signing key's `alg`, or the usual one for its key type. */
export function signingAlgorithmOf(jwk: Record<string, unknown>): string {
  if (typeof jwk.alg === 'string') return jwk.alg;
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'OKP') return 'EdDSA';
  return EC_SIGNING[String(jwk.crv)] ?? 'ES256';
}

/**
 * Key-wrapping algorithms the hub encrypts DCI messages to a partner's key with. Every one yields an `encrypted_key`,
 * which the spec's EncryptedMessage requires (so direct `ECDH-ES` and `dir` are out), and RSA1_5 is unsafe.
 */
const WRAPPING: Record<string, readonly string[]> = {
  RSA: ['RSA-OAEP-256', 'RSA-OAEP'],
  EC: ['ECDH-ES+A256KW', 'ECDH-ES+A192KW', 'ECDH-ES+A128KW'],
  OKP: ['ECDH-ES+A256KW', 'ECDH-ES+A192KW', 'ECDH-ES+A128KW'],
};

/** An encryption key's `alg` when the hub supports it, else the usual one for its key type; undefined when unusable. */
export function encryptionAlgorithmOf(jwk: Record<string, unknown>): string | undefined {
  const supported = WRAPPING[String(jwk.kty)];
  if (!supported) return undefined;
  if (jwk.alg === undefined) return supported[0];
  return supported.includes(String(jwk.alg)) ? String(jwk.alg) : undefined;
}

export const ENCRYPTION_ALGORITHMS = [...new Set(Object.values(WRAPPING).flat())];
