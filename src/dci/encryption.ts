import {
  calculateJwkThumbprint,
  compactDecrypt,
  decodeProtectedHeader,
  flattenedDecrypt,
  FlattenedEncrypt,
  importJWK,
  type CryptoKey,
  type FlattenedJWE,
  type JWK,
} from 'jose';
import { encryptionAlgorithmOf } from '../security/jwk-algorithms.js';
import { ENCRYPTION_ALGORITHM, type KeyStore } from '../security/keys.js';
import { DciError } from './codes.js';
import { describeErrors, validator } from './schemas.js';

/** A partner's public key to encrypt our answers to, imported for its key-wrapping algorithm. */
export interface EncryptionKey {
  kid: string;
  alg: string;
  key: CryptoKey;
}

/** Content encryption of the messages we send. */
const CONTENT_ENCRYPTION = 'A256GCM';

const invalid = (why: string) => new DciError(400, 'err.encryption.invalid', `the encrypted message cannot be used: ${why}`);

/**
 * The first key of a partner's key set published for encryption (`use` enc) that we can encrypt to. Its `kid` (or,
 * when it has none, its RFC 7638 thumbprint) goes into the EncryptedMessage header, so the partner knows which
 * private key opens it.
 */
export async function encryptionKeyIn(jwks: { keys: JWK[] } | undefined): Promise<EncryptionKey | undefined> {
  for (const jwk of jwks?.keys ?? []) {
    if (jwk.use !== 'enc') continue;
    const alg = encryptionAlgorithmOf(jwk as Record<string, unknown>);
    if (!alg) continue;
    try {
      const key = (await importJWK(jwk, alg)) as CryptoKey;
      return { kid: jwk.kid ?? (await calculateJwkThumbprint(jwk)), alg, key };
    } catch {
      // Not importable (a malformed key in a remote set): try the next one.
    }
  }
  return undefined;
}

/**
 * Opens a partner's encrypted `message`: the spec's EncryptedMessage object (a flattened JWE JSON serialisation whose
 * per-recipient `header` names alg, enc and kid), or a compact JWE. It must be addressed to one of our published
 * encryption keys and decrypt to a JSON object; anything else is err.encryption.invalid.
 */
export async function decryptMessage(keys: KeyStore, message: unknown): Promise<Record<string, unknown>> {
  let kid: string | undefined;
  let open: (key: CryptoKey) => Promise<Uint8Array>;
  const options = { keyManagementAlgorithms: [ENCRYPTION_ALGORITHM] };
  if (typeof message === 'string') {
    try {
      kid = decodeProtectedHeader(message).kid;
    } catch {
      throw invalid('the message is neither an EncryptedMessage object nor a compact JWE');
    }
    open = async (key) => (await compactDecrypt(message, key, options)).plaintext;
  } else {
    // The same schema in every DCI specification (Social Registry, CRVS).
    const check = validator('EncryptedMessage');
    if (!check(message)) throw invalid(`not an EncryptedMessage: ${describeErrors(check.errors, '/message')}`);
    const jwe = message as unknown as FlattenedJWE & { header: { kid: string } };
    kid = jwe.header.kid;
    open = async (key) => (await flattenedDecrypt(jwe, key, options)).plaintext;
  }
  kid ??= await keys.encryptionKid();
  const key = kid === undefined ? undefined : await keys.decryptionKey(kid);
  if (!key) throw invalid(`kid ${kid} is not one of this registry's encryption keys (see its JWKS, use "enc")`);
  let plaintext: Uint8Array;
  try {
    plaintext = await open(key.key);
  } catch (err) {
    throw invalid(`it does not decrypt with key ${kid} (${(err as Error).message})`);
  }
  let decrypted: unknown;
  try {
    decrypted = JSON.parse(new TextDecoder().decode(plaintext));
  } catch {
    throw invalid('the plaintext is not JSON');
  }
  if (typeof decrypted !== 'object' || decrypted === null || Array.isArray(decrypted)) throw invalid('the plaintext is not a JSON object');
  return decrypted as Record<string, unknown>;
}

/** Our `message` encrypted to the partner's key, as the spec's EncryptedMessage: header {alg, enc, kid}, encrypted_key, iv, ciphertext, tag. */
export async function encryptMessage(to: EncryptionKey, message: Record<string, unknown>): Promise<Record<string, unknown>> {
  const jwe = await new FlattenedEncrypt(new TextEncoder().encode(JSON.stringify(message)))
    .setUnprotectedHeader({ alg: to.alg, enc: CONTENT_ENCRYPTION, kid: to.kid })
    .encrypt(to.key);
  return jwe as unknown as Record<string, unknown>;
}

/**
 * The `{header, message}` we send, with the message encrypted when `to` is given (then `is_msg_encrypted` is true).
 * A message-less answer (a rejection) has nothing to encrypt and goes as it is. The caller signs the result.
 */
export async function sealContent<H extends { is_msg_encrypted: boolean }>(
  content: { header: H; message?: Record<string, unknown> },
  to: EncryptionKey | undefined,
): Promise<{ header: H; message?: Record<string, unknown> }> {
  if (!to || content.message === undefined) return content;
  return { header: { ...content.header, is_msg_encrypted: true }, message: await encryptMessage(to, content.message) };
}
