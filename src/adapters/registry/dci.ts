import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type CryptoKey } from 'jose';
import { DciError } from '../../dci/codes.js';
import { remoteKeys, signEnvelope, verifyEnvelopeSignature, type KeyResolver } from '../../dci/signatures.js';
import type { KeyStore } from '../../security/keys.js';
import type { ExternalRegistryConfig } from './config.js';

type Json = Record<string, unknown>;

/** A signed DCI envelope as received: verified before anything in it is believed. */
export interface Envelope {
  signature?: string;
  header: Json & { sender_id?: string; action?: string; status?: string };
  message?: Json;
}

export class DciClientError extends Error {}

export interface DciClientOptions {
  keys: KeyStore;
  /** Our sender_id. */
  senderId: string;
  /** Where their callbacks to us go: {public URL}/dci/callbacks/{name}. */
  callbackBase: string;
  timeoutMs: number;
}

/**
 * A DCI client of one external registry (a CRVS such as OpenCRVS's DCI API, or a social registry): an access token by
 * client credentials (secret or private_key_jwt), our requests signed with the hub key (compact JWS), their answers
 * and callbacks verified against their JWKS.
 */
export class DciClient {
  private token: { value: string; until: number } | undefined;
  private readonly fixedKeys: KeyResolver | undefined;

  constructor(
    readonly registry: ExternalRegistryConfig,
    private readonly options: DciClientOptions,
  ) {
    this.fixedKeys = registry.jwks_url ? remoteKeys(registry.jwks_url) : undefined;
  }

  private base = () => this.registry.base_url.replace(/\/+$/, '');

  /** Client credentials at their token endpoint; reused until a minute before it expires. */
  async accessToken(): Promise<string | undefined> {
    const auth = this.registry.auth;
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
    const res = await fetch(auth.token_url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    const body = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number };
    if (!res.ok || typeof body.access_token !== 'string') throw new DciClientError(`${this.registry.name}: token request answered HTTP ${res.status}`);
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
    if (url.origin !== new URL(this.registry.base_url).origin) throw new DciError(401, 'err.signature.invalid', 'sender_id lies outside the registry');
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

  /** POSTs a signed message to one of their /registry/… endpoints; answers their (unverified) JSON body. */
  async send(path: string, action: string, message: Json & { transaction_id: string }, count: number, callback?: string): Promise<Json> {
    const header = {
      version: '1.0.0',
      message_id: randomUUID(),
      message_ts: new Date().toISOString(),
      action,
      sender_id: this.options.senderId,
      ...(callback ? { sender_uri: `${this.options.callbackBase}/registry/${callback}` } : {}),
      ...(this.registry.receiver_id ? { receiver_id: this.registry.receiver_id } : {}),
      total_count: count,
      is_msg_encrypted: false,
    };
    const signature = await signEnvelope(await this.options.keys.signingKey(), { header, message });
    const token = await this.accessToken();
    const res = await fetch(`${this.base()}/registry/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ signature, header, message }),
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    const body = (await res.json().catch(() => ({}))) as Json;
    if (!res.ok) throw new DciClientError(`${this.registry.name}: ${path} answered HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    return body;
  }

  /** Sync search: the search_response items of their verified answer. */
  async search(items: Json[]): Promise<Json[]> {
    const answer = (await this.send('sync/search', 'search', { transaction_id: randomUUID(), search_request: items }, items.length)) as unknown as Envelope;
    await this.verify(answer);
    if (answer.header.status === 'rjct') throw new DciClientError(`${this.registry.name}: search rejected: ${String(answer.header.status_reason_code)}`);
    return ((answer.message?.search_response as Json[] | undefined) ?? []);
  }

  /** Subscribe to a vital event type; their on-subscribe reaches our callback. Answers the reference id sent. */
  async subscribe(regEventType: string, filter: Json): Promise<{ transactionId: string; referenceId: string }> {
    const transactionId = randomUUID();
    const referenceId = randomUUID();
    const item = {
      reference_id: referenceId,
      timestamp: new Date().toISOString(),
      subscribe_criteria: { reg_event_type: regEventType, filter_type: 'expression', filter, notify_record_type: 'spdci-extensions-dci:Person' },
    };
    const ack = await this.send('subscribe', 'subscribe', { transaction_id: transactionId, subscribe_request: [item] }, 1, 'on-subscribe');
    const status = (ack.message as Json | undefined)?.ack_status;
    if (status !== 'ACK') throw new DciClientError(`${this.registry.name}: subscribe not acknowledged: ${JSON.stringify(ack).slice(0, 300)}`);
    return { transactionId, referenceId };
  }

  /** Reachable and answering: their key set when configured, else their token endpoint, else their base URL. */
  async health(): Promise<{ status: 'up' | 'down'; detail?: string }> {
    try {
      if (this.registry.auth) await this.accessToken();
      else {
        const res = await fetch(this.registry.jwks_url ?? this.base(), { signal: AbortSignal.timeout(this.options.timeoutMs) });
        await res.arrayBuffer();
        if (res.status >= 500) return { status: 'down', detail: `HTTP ${res.status}` };
      }
      return { status: 'up' };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message.slice(0, 200) };
    }
  }
}
