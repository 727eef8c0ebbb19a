import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, CompactSign, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { encryptMessage, type EncryptionKey } from '../../src/dci/encryption.js';

type Json = Record<string, unknown>;

/**
 * A CRVS on 127.0.0.1 that answers as OpenCRVS's dci-crvs-api does: a token endpoint, its signing key (RS256, kid =
 * thumbprint) at {sender_id}/.well-known/jwks.json where sender_id is its own base URL, and sync search answered with
 * OpenCRVS's record shapes (top-level names, birthdate/deathdate, BRN/DRN/NID identifiers), signed as a compact JWS of
 * {header, message}. `records` is what its searches find.
 */
export async function fakeOpenCrvs(t: { teardown(fn: () => unknown): void }) {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const records: { event: 'birth' | 'death'; record: Json }[] = [];
  const searches: Json[] = [];
  let base = '';

  const sign = async (content: { header: Json; message: Json }, key: CryptoKey = privateKey) =>
    new CompactSign(new TextEncoder().encode(JSON.stringify(content))).setProtectedHeader({ alg: 'RS256', kid }).sign(key);

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/.well-known/jwks.json') return send(200, { keys: [{ ...jwk, kid, use: 'sig', alg: 'RS256' }] });
      if (req.url === '/oauth2/client/token') return send(200, { access_token: 'opencrvs-token', token_type: 'Bearer', expires_in: 600 });
      if (req.url !== '/registry/sync/search') return send(404, {});
      if (req.headers.authorization !== 'Bearer opencrvs-token') return send(401, {});
      const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { header: Json; message: { transaction_id: string; search_request: Json[] } };
      searches.push(request);
      const responses = request.message.search_request.flatMap((item: any) => {
        const wanted = item.search_criteria.reg_event_type === 'live_birth' ? 'birth' : item.search_criteria.reg_event_type;
        const found = records.filter((r) => r.event === wanted).map((r) => r.record);
        return found.length === 0 ? [] : [{
          reference_id: item.reference_id,
          timestamp: new Date().toISOString(),
          status: 'succ',
          data: { reg_record_type: 'person', reg_event_type: item.search_criteria.reg_event_type, reg_records: found },
          pagination: { page_number: 1, page_size: found.length, total_count: found.length },
        }];
      });
      // OpenCRVS echoes the requester's header fields; the sender_id it signs under is its own URL here.
      const header = { version: '1.0.0', message_id: request.header.message_id, message_ts: new Date().toISOString(), action: 'on-search', status: 'succ', total_count: responses.length, sender_id: base, receiver_id: request.header.sender_id };
      const message = { transaction_id: request.message.transaction_id, correlation_id: randomUUID(), search_response: responses };
      send(200, { header, message, signature: await sign({ header, message }) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  /**
   * A notify as this CRVS would post it; signed with its key, or with `key` (a forgery); with `encryptTo` (the hub's
   * encryption key, from its JWKS) the message is encrypted and the signature covers it encrypted.
   */
  const notify = async (event: string, record: Json, key?: CryptoKey, encryptTo?: EncryptionKey) => {
    const header = { version: '1.0.0', message_id: randomUUID(), message_ts: new Date().toISOString(), action: 'notify', status: 'succ', total_count: 1, completed_count: 1, sender_id: base, receiver_id: 'convergence-hub', is_msg_encrypted: encryptTo !== undefined };
    const clear = { transaction_id: randomUUID(), notify_event: [{ reference_id: randomUUID(), timestamp: new Date().toISOString(), data: { reg_event_type: event, reg_record_type: 'person', reg_records: record } }] };
    const message: Json = encryptTo ? await encryptMessage(encryptTo, clear) : clear;
    return { header, message, signature: await sign({ header, message }, key) };
  };
  return { get base() { return base; }, records, searches, notify };
}
