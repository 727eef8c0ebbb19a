import canonicalize from 'canonicalize';
import {
  calculateJwkThumbprint,
  CompactSign,
  compactVerify,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  importJWK,
  type CryptoKey,
  type JWK,
  type JWSHeaderParameters,
} from 'jose';
import type { SigningKey } from '../security/keys.js';
import { outboundFetch } from '../security/outbound.js';
import { DciError } from './codes.js';

/** Algorithms accepted in a partner's compact JWS (form a). */
const JWS_ALGORITHMS = ['RS256', 'ES256', 'EdDSA', 'Ed25519'];

/** Finds a partner's public key by the `kid` of a JWS header, or by the key id of a DCI signature string. */
export type KeyResolver = (header: JWSHeaderParameters) => Promise<CryptoKey | undefined>;

/** Signed content of both forms: the header and message of the envelope. */
interface Signed {
  header: unknown;
  message?: unknown;
}

const invalid = (why: string) => new DciError(401, 'err.signature.invalid', `the signature does not verify: ${why}`);

/**
 * A resolver over registered keys: a key matches when its `kid` or its RFC 7638 thumbprint equals the requested one,
 * so partners may name keys either way.
 */
export async function localKeys(jwks: { keys: JWK[] }): Promise<KeyResolver> {
  const byId = new Map<string, JWK>();
  for (const jwk of jwks.keys) {
    if (jwk.use === 'enc') continue;
    byId.set(await calculateJwkThumbprint(jwk), jwk);
    if (typeof jwk.kid === 'string') byId.set(jwk.kid, jwk);
  }
  return async ({ kid, alg }) => {
    const jwk = kid === undefined ? undefined : byId.get(kid);
    if (!jwk || alg === undefined) return undefined;
    try {
      return (await importJWK(jwk, alg)) as CryptoKey;
    } catch {
      return undefined;
    }
  };
}

/** Remote key sets by URL; jose caches each set's keys and refetches on an unknown kid (with a cooldown). */
const remoteSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function remoteSet(url: string) {
  let set = remoteSets.get(url);
  if (!set) {
    // Through the outbound policy, as every call to a partner (jose itself does not follow redirects).
    set = createRemoteJWKSet(new URL(url), { [customFetch]: (href, options) => outboundFetch(href, options) as unknown as Promise<Response> });
    remoteSets.set(url, set);
  }
  return set;
}

/**
 * The whole key set at `url`, from the same cache as signature verification (fetched when stale); undefined when it
 * cannot be fetched. jose selects only signature keys itself, so encryption keys are picked from this.
 */
export async function remoteJwks(url: string): Promise<{ keys: JWK[] } | undefined> {
  const set = remoteSet(url);
  try {
    if (!set.fresh) await set.reload();
  } catch {
    return undefined;
  }
  return set.jwks();
}

export function remoteKeys(url: string): KeyResolver {
  const keys = remoteSet(url);
  return async (header) => {
    try {
      return await keys({ ...header, alg: header.alg ?? 'EdDSA' });
    } catch {
      return undefined;
    }
  };
}

/** Form (a): a compact JWS whose payload is the JSON of `{header, message}`; the payload must equal the envelope's. */
async function verifyJws(signature: string, signed: Signed, resolve: KeyResolver): Promise<void> {
  let protectedHeader: JWSHeaderParameters;
  try {
    protectedHeader = decodeProtectedHeader(signature) as JWSHeaderParameters;
  } catch {
    throw invalid('not a compact JWS');
  }
  if (!protectedHeader.alg || !JWS_ALGORITHMS.includes(protectedHeader.alg)) throw invalid(`algorithm ${protectedHeader.alg} is not accepted`);
  const key = await resolve(protectedHeader);
  if (!key) throw invalid(`no registered key with kid ${protectedHeader.kid}`);
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(signature, key, { algorithms: JWS_ALGORITHMS }));
  } catch {
    throw invalid('the JWS signature is wrong');
  }
  let content: unknown;
  try {
    content = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw invalid('the JWS payload is not JSON');
  }
  // Deep equality, key order aside: the signer serialised `{header, message}` its own way.
  if (canonicalize(content) !== canonicalize(signed)) throw invalid('the signed payload is not this header and message');
}

/** The key="value" pairs of the spec's signature string form. */
function signatureParameters(signature: string): Map<string, string> {
  const params = new Map<string, string>();
  const body = signature.replace(/^\s*Signature:\s*/i, '');
  for (const match of body.matchAll(/([A-Za-z]+)\s*=\s*"([^"]*)"?/g)) params.set(match[1]!, match[2]!);
  return params;
}

/** A unix time in seconds (as the spec's example) or an ISO 8601 date-time. */
function instant(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{1,12}$/.test(value) ? Number(value) * 1000 : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

const base64 = (text: string) => Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');

/**
 * Form (b), the spec's example: `namespace="spdci", kidId="{sender_id}|{key_id}|{algorithm}", algorithm="ed25519",
 * created=…, expires=…, signature="…"`, an Ed25519 signature over the RFC 8785 canonical JSON of `{header, message}`.
 */
async function verifySignatureString(signature: string, signed: Signed, senderId: string, resolve: KeyResolver, now: number, skewMs: number) {
  const p = signatureParameters(signature);
  const namespace = p.get('namespace');
  if (namespace !== 'spdci' && namespace !== 'dci') throw invalid('namespace must be "spdci"');
  const [kidSender, keyId, kidAlgorithm] = (p.get('kidId') ?? '').split('|');
  if (!keyId || !kidAlgorithm) throw invalid('kidId must be "{sender_id}|{key_id}|{algorithm}"');
  if (kidSender !== senderId) throw invalid('the kidId names another sender');
  if ((p.get('algorithm') ?? '').toLowerCase() !== 'ed25519' || kidAlgorithm.toLowerCase() !== 'ed25519') {
    throw invalid('algorithm must be ed25519');
  }
  const created = instant(p.get('created'));
  const expires = instant(p.get('expires'));
  if (created === undefined || expires === undefined) throw invalid('created and expires are required');
  if (created > now + skewMs) throw invalid('created is in the future');
  if (expires <= now) throw invalid('the signature has expired');
  const value = p.get('signature');
  if (!value) throw invalid('no signature value');
  const key = await resolve({ kid: keyId, alg: 'EdDSA' });
  if (!key) throw invalid(`no registered Ed25519 key with id ${keyId}`);
  const data = new TextEncoder().encode(canonicalize(signed));
  let ok = false;
  try {
    ok = await crypto.subtle.verify('Ed25519', key, base64(value), data);
  } catch {
    ok = false;
  }
  if (!ok) throw invalid('the Ed25519 signature is wrong');
}

export interface VerifyOptions {
  senderId: string;
  resolve: KeyResolver;
  now: number;
  skewMs: number;
}

/** Verifies either form; answers which one it was. */
export async function verifyEnvelopeSignature(signature: string, signed: Signed, options: VerifyOptions): Promise<'jws' | 'spdci'> {
  if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/.test(signature.trim())) {
    await verifyJws(signature.trim(), signed, options.resolve);
    return 'jws';
  }
  if (/namespace\s*=/.test(signature)) {
    await verifySignatureString(signature, signed, options.senderId, options.resolve, options.now, options.skewMs);
    return 'spdci';
  }
  throw invalid('neither a compact JWS nor a DCI signature string');
}

/** Our signature on an answer: a compact JWS of `{header, message}` with the hub's key (kid = its thumbprint). */
export function signEnvelope(key: SigningKey, signed: Signed): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(signed)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .sign(key.key);
}
