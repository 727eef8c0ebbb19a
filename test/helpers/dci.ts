import { randomUUID, sign as edSign } from 'node:crypto';
import canonicalize from 'canonicalize';
import { calculateJwkThumbprint, CompactSign, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { validator, describeErrors, type DciSpec } from '../../src/dci/schemas.js';
import type { TestHub } from './hub.js';

/** A partner's signing key pair, made with jose; `kid` is the RFC 7638 thumbprint as the DCI JWS form wants. */
export interface PartnerKey {
  alg: 'ES256' | 'RS256' | 'EdDSA';
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function partnerKey(alg: PartnerKey['alg'] = 'ES256'): Promise<PartnerKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { alg, kid, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

export interface Partner {
  clientId: string;
  senderId: string;
  token: string;
  key: PartnerKey;
}

/** Registers a DCI partner (dci:search, its public key, DCI settings) through the admin API. */
export async function registerPartner(
  hub: TestHub,
  options: { alg?: PartnerKey['alg']; dci?: Record<string, unknown>; extra?: Record<string, unknown>; scopes?: string[] } = {},
): Promise<Partner> {
  const key = await partnerKey(options.alg);
  const senderId = `sp-mis-${randomUUID().slice(0, 8)}`;
  const c = await hub.client(options.scopes ?? ['dci:search'], { jwks: { keys: [key.publicJwk] }, dci: { sender_id: senderId, ...options.dci }, ...options.extra });
  return { clientId: c.clientId, senderId, token: c.token, key };
}

export function header(partner: Pick<Partner, 'senderId'>, overrides: Record<string, unknown> = {}) {
  return {
    version: '1.0.0',
    message_id: randomUUID(),
    message_ts: new Date().toISOString(),
    action: 'search',
    sender_id: partner.senderId,
    receiver_id: 'convergence-hub',
    total_count: 1,
    is_msg_encrypted: false,
    ...overrides,
  };
}

export function searchItem(criteria: Record<string, unknown>, referenceId: string = randomUUID()) {
  return { reference_id: referenceId, timestamp: new Date().toISOString(), search_criteria: { version: '1.0.0', ...criteria } };
}

export function searchMessage(items: Record<string, unknown>[], transactionId = randomUUID()) {
  return { transaction_id: transactionId, search_request: items };
}

/** Form (a): compact JWS of `{header, message}`. */
export async function signJws(key: PartnerKey, content: { header: unknown; message: unknown }): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(content))).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
}

/** Form (b): the spec's signature string, Ed25519 over the RFC 8785 canonical JSON of `{header, message}`. */
export async function signString(
  key: PartnerKey,
  senderId: string,
  content: { header: unknown; message: unknown },
  times: { created?: number; expires?: number } = {},
): Promise<string> {
  const { KeyObject } = await import('node:crypto');
  const data = Buffer.from(canonicalize(content)!);
  const signature = edSign(null, data, KeyObject.from(key.privateKey as unknown as globalThis.CryptoKey)).toString('base64');
  const now = Math.floor(Date.now() / 1000);
  const created = times.created ?? now;
  const expires = times.expires ?? now + 300;
  return `Signature: namespace="spdci", kidId="${senderId}|${key.kid}|ed25519", algorithm="ed25519", created="${created}", expires="${expires}", headers="(created) (expires) digest", signature="${signature}"`;
}

/** POSTs an envelope signed in form (a) (unless `signature` is given) to a DCI endpoint (under /dci/sr unless the path names another). */
export async function send(
  hub: TestHub,
  partner: Partner,
  path: string,
  content: { header: Record<string, unknown>; message: Record<string, unknown> },
  signature?: string | null,
) {
  const sig = signature === undefined ? await signJws(partner.key, content) : signature;
  const url = path.startsWith('/dci/') ? path : `/dci/sr${path}`;
  return hub.request({ method: 'POST', url, token: partner.token, payload: { ...(sig === null ? {} : { signature: sig }), ...content } });
}

/** The errors of `body` against a schema in schemas/dci (or schemas/dci/crvs), as one string ('' when valid). */
export function schemaErrors(schema: string, body: unknown, spec: DciSpec = 'social'): string {
  const check = validator(schema, spec);
  return check(body) ? '' : describeErrors(check.errors);
}
