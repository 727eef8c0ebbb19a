import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { KeyStore } from '../security/keys.js';
import { outboundFetch } from '../security/outbound.js';
import { DciError } from './codes.js';
import { decryptMessage } from './encryption.js';
import { remoteKeys, signEnvelope, verifyEnvelopeSignature, type KeyResolver } from './signatures.js';

type Json = Record<string, unknown>;

/** A signed DCI envelope as received: verified before anything in it is believed. */
export interface Envelope {
  signature?: string;
  header: Json & { sender_id?: string; action?: string; status?: string };
  message?: Json;
}

export class DciClientError extends Error {}

/** A DCI system the hub calls (an external registry, a disbursement gateway), as configured. */
export interface DciPeerConfig {
  /** Our name for it, in its callback paths /dci/callbacks/{name}/…. */
  name: string;
  /** The base its endpoints hang under. */
  base_url: string;
  /** OAuth 2 client credentials at their token endpoint: a secret, or a private key for private_key_jwt (RFC 7523). */
  auth?: { token_url: string; client_id: string; client_secret?: string; private_key_jwk?: JWK; scope?: string };
  /** Their sender_id, sent as our receiver_id. */
  receiver_id?: string;
  /** Where their signing keys are published; else `{sender_id}/.well-known/jwks.json` under base_url's origin. */
  jwks_url?: string;
}

export interface DciClientOptions {
  keys: KeyStore;
  /** Our sender_id. */
  senderId: string;
  /** Where their callbacks to us go: {public URL}/dci/callbacks/{name}. */
  callbackBase: string;
  timeoutMs: number;
}

/**
 * The DCI transport to one system: an access token by client credentials (secret or private_key_jwt), our requests
 * signed with the hub key (compact JWS), their answers and callbacks verified against their JWKS. Registries and
 * disbursement gateways build their APIs on it.
 */
export class DciPeer {
  private token: { value: string; until: number } | undefined;
  private readonly fixedKeys: KeyResolver | undefined;

  constructor(
    readonly peer: DciPeerConfig,
    protected readonly options: DciClientOptions,
  ) {
    this.fixedKeys = peer.jwks_url ? remoteKeys(peer.jwks_url) : undefined;
  }

  protected base = () => this.peer.base_url.replace(/\/+$/, '');

  /** Client credentials at their token endpoint; reused until a minute before it expires. */
  async accessToken(): Promise<string | undefined> {
    const auth = this.peer.auth;
    if (!auth) return undefined;
    if (this.token && this.token.until > Date.now()) return this.token.value;
    const form = new URLSearchParams({ grant_type: 'client_credentials', ...(auth.scope ? { scope: auth.scope } : {}) });
    if (auth.private_key_jwk) {
      const alg = auth.private_key_jwk.alg ?? (auth.private_key_jwk.kty === 'RSA' ? 'RS256' : auth.private_key_jwk.kty === 'OKP' ? 'EdDSA' : 'ES256');
      const key = (await importJWK(auth.private_key_jwk, alg)) as CryptoKey;
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg, ...(auth.private_key_jwk.kid ? { kid: auth.private_key_jwk.kid } : {}) })
        .setIssuer(auth.client_id)
        .setSubject(auth.client_id)
        .setAudience(auth.token_url)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime('2m')
        .sign(key);
      form.set('client_id', auth.client_id);
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set('client_assertion', assertion);
    } else {
      form.set('client_id', auth.client_id);
      form.set('client_secret', auth.client_secret!);
    }
    const res = await outboundFetch(auth.token_url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    const body = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number };
    if (!res.ok || typeof body.access_token !== 'string') throw new DciClientError(`${this.peer.name}: token request answered HTTP ${res.status}`);
    this.token = { value: body.access_token, until: Date.now() + Math.max(0, (body.expires_in ?? 300) - 60) * 1000 };
    return body.access_token;
  }

  /** The keys their messages are verified with: their JWKS, or (OpenCRVS) the one published under their sender_id. */
  private keysFor(envelope: Envelope): KeyResolver {
    if (this.fixedKeys) return this.fixedKeys;
    const sender = String(envelope.header.sender_id ?? '');
    let url: URL;
    try {
      url = new URL(`${sender.replace(/\/+$/, '')}/.well-known/jwks.json`);
    } catch {
      throw new DciError(401, 'err.signature.invalid', 'sender_id is not a URL, so its keys cannot be found');
    }
    // Only keys under the registry's own origin: a sender_id must not make us fetch keys from anywhere.
    if (url.origin !== new URL(this.peer.base_url).origin) throw new DciError(401, 'err.signature.invalid', `sender_id lies outside ${this.peer.name}`);
    return remoteKeys(url.toString());
  }

  /** Verifies a message they sent (an answer or a callback); throws DciError err.signature.* otherwise. */
  async verify(envelope: Envelope): Promise<void> {
    if (typeof envelope.signature !== 'string' || envelope.signature === '') throw new DciError(401, 'err.signature.missing', 'the message is not signed');
    await verifyEnvelopeSignature(envelope.signature, envelope.message === undefined ? { header: envelope.header } : { header: envelope.header, message: envelope.message }, {
      senderId: String(envelope.header.sender_id ?? ''),
      resolve: this.keysFor(envelope),
      now: Date.now(),
      skewMs: 300_000,
    });
  }

  /**
   * A message they sent, verified (the signature covers the envelope as sent), with its `message` in clear: decrypted
   * when `header.is_msg_encrypted`, as a peer may encrypt to the `use: "enc"` key our JWKS publishes.
   */
  async open(envelope: Envelope): Promise<Json> {
    await this.verify(envelope);
    if (envelope.header.is_msg_encrypted === true) return (await decryptMessage(this.options.keys, envelope.message)) as Json;
    return envelope.message ?? {};
  }

  /** POSTs a signed message to one of their endpoints (a path under base_url); answers their (unverified) JSON body. */
  async post(path: string, action: string, message: Json & { transaction_id: string }, count: number, senderUri?: string): Promise<Json> {
    const header = {
      version: '1.0.0',
      message_id: randomUUID(),
      message_ts: new Date().toISOString(),
      action,
      sender_id: this.options.senderId,
      ...(senderUri ? { sender_uri: senderUri } : {}),
      ...(this.peer.receiver_id ? { receiver_id: this.peer.receiver_id } : {}),
      total_count: count,
      is_msg_encrypted: false,
    };
    const signature = await signEnvelope(await this.options.keys.signingKey(), { header, message });
    const token = await this.accessToken();
    const res = await outboundFetch(`${this.base()}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ signature, header, message }),
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    const body = (await res.json().catch(() => ({}))) as Json;
    if (!res.ok) throw new DciClientError(`${this.peer.name}: ${path} answered HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    return body;
  }

  /** Reachable and answering: their key set when configured, else their token endpoint, else their base URL. */
  async health(): Promise<{ status: 'up' | 'down'; detail?: string }> {
    try {
      if (this.peer.auth) await this.accessToken();
      else {
        const res = await outboundFetch(this.peer.jwks_url ?? this.base(), { signal: AbortSignal.timeout(this.options.timeoutMs) });
        await res.arrayBuffer();
        if (res.status >= 500) return { status: 'down', detail: `HTTP ${res.status}` };
      }
      return { status: 'up' };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message.slice(0, 200) };
    }
  }
}

export interface CallbackAnswer {
  httpStatus: number;
  body: Json;
}

/** Our answer to a callback a peer posted: the spec's Ack; for a refused one ERR, with the HttpErrorResponse errors. */
export function callbackAnswer(error?: DciError): CallbackAnswer {
  const message = {
    ack_status: error ? 'ERR' : 'ACK',
    timestamp: new Date().toISOString(),
    correlation_id: randomUUID(),
    ...(error ? { error: { code: error.code, message: error.message } } : {}),
  };
  return error ? { httpStatus: error.httpStatus, body: { message, errors: [{ code: error.code, message: error.message }] } } : { httpStatus: 200, body: { message } };
}
