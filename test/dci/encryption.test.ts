import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  CompactEncrypt,
  compactVerify,
  createLocalJWKSet,
  exportJWK,
  flattenedDecrypt,
  FlattenedEncrypt,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type FlattenedJWE,
  type JWK,
} from 'jose';
import t, { type Test } from 'tap';
import { ENV, expectAck, transactionRow, verifiedCallback } from '../helpers/dci-async.js';
import { header, registerPartner, schemaErrors, searchItem, searchMessage, send, signJws, type Partner } from '../helpers/dci.js';
import { seedRegistry } from '../helpers/dci-registry.js';
import { fakePartner } from '../helpers/fake-partner.js';
import { testHub, type TestHub } from '../helpers/hub.js';

const byUin = (uin: string) => searchMessage([searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: uin } })]);

/** A partner's encryption key pair: the private half stays with the test, the public half is registered (`use` enc). */
async function partnerEncryptionKey(alg: 'RSA-OAEP-256' | 'ECDH-ES+A256KW', named: boolean) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  // The EC key names neither alg nor kid: the hub picks ECDH-ES+A256KW and the RFC 7638 thumbprint.
  const publicJwk: JWK = named ? { ...jwk, use: 'enc', alg, kid: `enc-${randomUUID().slice(0, 8)}` } : { ...jwk, use: 'enc' };
  return { privateKey, publicJwk, kid: publicJwk.kid ?? (await calculateJwkThumbprint(jwk)) };
}
type PartnerEncryptionKey = Awaited<ReturnType<typeof partnerEncryptionKey>>;

/** The hub's published encryption key, as a partner finds it in the JWKS. */
async function hubEncryptionKey(hub: TestHub): Promise<{ jwk: JWK; key: CryptoKey }> {
  const jwks = (await hub.request({ method: 'GET', url: '/.well-known/jwks.json', token: null })).json();
  const jwk = jwks.keys.find((k: JWK) => k.use === 'enc') as JWK;
  return { jwk, key: (await importJWK(jwk, jwk.alg)) as CryptoKey };
}

/** The spec's EncryptedMessage: a flattened JWE whose per-recipient header names alg, enc and kid. */
async function encryptedMessage(to: { jwk: JWK; key: CryptoKey }, message: unknown): Promise<Record<string, unknown>> {
  const jwe = await new FlattenedEncrypt(new TextEncoder().encode(JSON.stringify(message)))
    .setUnprotectedHeader({ alg: to.jwk.alg!, enc: 'A256GCM', kid: to.jwk.kid! })
    .encrypt(to.key);
  return jwe as unknown as Record<string, unknown>;
}

/** An answer's message opened with the partner's private key; it must be addressed to that key by kid. */
async function openAnswer(t: Test, own: PartnerEncryptionKey, message: Record<string, unknown>) {
  t.equal(schemaErrors('EncryptedMessage', message), '', 'the message is an EncryptedMessage');
  t.match(message.header, { enc: 'A256GCM', kid: own.kid }, 'addressed to the partner key by kid');
  const { plaintext } = await flattenedDecrypt(message as unknown as FlattenedJWE, own.privateKey);
  return JSON.parse(new TextDecoder().decode(plaintext));
}

/** The signature is the hub's JWS over exactly the header and the encrypted message sent. */
async function signedAsSent(t: Test, hub: TestHub, body: { signature: string; header: unknown; message: unknown }) {
  const jwks = (await hub.request({ method: 'GET', url: '/.well-known/jwks.json', token: null })).json();
  const { payload } = await compactVerify(body.signature, createLocalJWKSet(jwks));
  t.same(JSON.parse(new TextDecoder().decode(payload)), { header: body.header, message: body.message }, 'signed over the encrypted form');
}

const expectError = (t: Test, res: { statusCode: number; json(): any; body: string }, code: string, pattern?: RegExp) => {
  t.equal(res.statusCode, 400, res.body);
  t.equal(schemaErrors('http-error.response.json', res.json()), '', 'an HttpErrorResponse');
  t.equal(res.json().errors[0].code, code);
  if (pattern) t.match(res.json().errors[0].message, pattern);
};

t.test('encrypted DCI messages: EncryptedMessage in, encrypted and signed answers out', async (t) => {
  const hub = await testHub(t, ENV);
  await seedRegistry(hub);
  const server = await fakePartner(t);
  const hubKey = await hubEncryptionKey(hub);

  /** A partner whose registered key set holds its signing key and this encryption key. */
  const encryptingPartner = async (enc: PartnerEncryptionKey): Promise<Partner> => {
    const partner = await registerPartner(hub, { scopes: ['dci:search', 'dci:subscribe'], dci: { callback_url: server.base } });
    const res = await hub.request({ method: 'PATCH', url: `/api/v1/clients/${partner.clientId}`, payload: { jwks: { keys: [partner.key.publicJwk, enc.publicJwk] } } });
    if (res.statusCode !== 200) throw new Error(`registering the encryption key: ${res.body}`);
    return partner;
  };
  const rsa = await partnerEncryptionKey('RSA-OAEP-256', true);
  const partner = await encryptingPartner(rsa);
  const encrypted = async (action: string, message: unknown, overrides: Record<string, unknown> = {}) => ({
    header: header(partner, { action, is_msg_encrypted: true, ...overrides }),
    message: await encryptedMessage(hubKey, message),
  });

  t.test('the JWKS publishes the encryption key (use enc, RSA-OAEP-256) beside the signing key (use sig)', async (t) => {
    const jwks = (await hub.request({ method: 'GET', url: '/.well-known/jwks.json', token: null })).json();
    t.same(jwks.keys.map((k: JWK) => k.use), ['sig', 'enc']);
    t.match(hubKey.jwk, { kty: 'RSA', use: 'enc', alg: 'RSA-OAEP-256', kid: await calculateJwkThumbprint(hubKey.jwk) });
    t.notOk('d' in hubKey.jwk, 'public parts only');
  });

  t.test('sync search: the answer is encrypted to the partner key, signed over the encrypted form, valid once opened', async (t) => {
    const content = await encrypted('search', byUin('TEST-001'));
    const res = await send(hub, partner, '/registry/sync/search', content);
    t.equal(res.statusCode, 200, res.body);
    const body = res.json();
    t.equal(schemaErrors('sync-search.response.json', body), '', 'valid against the spec as sent');
    t.equal(body.header.is_msg_encrypted, true);
    t.equal(body.header.status, 'succ');
    t.notMatch(res.body, /Amina/, 'no record in clear');
    t.notOk('protected' in body.message, 'RSA-OAEP-256: exactly the spec shape, no protected header');
    await signedAsSent(t, hub, body);
    const answer = await openAnswer(t, rsa, body.message);
    t.equal(schemaErrors('SearchResponse', answer), '', 'the decrypted message is a valid SearchResponse');
    t.equal(answer.search_response[0].data.reg_records[0].name.given_name, 'Amina');
    const row = await transactionRow(hub, answer.correlation_id);
    t.equal(row.messageEncrypted, true, 'the exchange is recorded as encrypted');
  });

  t.test('a compact JWE is accepted as the encrypted message too', async (t) => {
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(byUin('TEST-002'))))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: hubKey.jwk.kid! })
      .encrypt(hubKey.key);
    const content = { header: header(partner, { is_msg_encrypted: true }), message: jwe };
    const signature = await signJws(partner.key, content);
    const res = await hub.request({ method: 'POST', url: '/dci/sr/registry/sync/search', token: partner.token, payload: { signature, ...content } });
    t.equal(res.statusCode, 200, res.body);
    t.equal(schemaErrors('sync-search.response.json', res.json()), '', 'answered with the spec EncryptedMessage');
    const answer = await openAnswer(t, rsa, res.json().message);
    t.equal(answer.search_response[0].data.reg_records[0].name.given_name, 'Ben');
  });

  t.test('an EC (P-256) partner key without alg or kid: ECDH-ES+A256KW, kid its thumbprint', async (t) => {
    const ec = await partnerEncryptionKey('ECDH-ES+A256KW', false);
    const ecPartner = await encryptingPartner(ec);
    const content = { header: header(ecPartner, { is_msg_encrypted: true }), message: await encryptedMessage(hubKey, byUin('TEST-001')) };
    const res = await send(hub, ecPartner, '/registry/sync/search', content);
    t.equal(res.statusCode, 200, res.body);
    t.equal(schemaErrors('sync-search.response.json', res.json()), '');
    t.equal(res.json().message.header.alg, 'ECDH-ES+A256KW');
    const answer = await openAnswer(t, ec, res.json().message);
    t.equal(answer.search_response[0].data.reg_records[0].name.given_name, 'Amina');
  });

  t.test('the CRVS provider shares it: an encrypted sync search on /dci/crvs is answered encrypted', async (t) => {
    const message = searchMessage([searchItem({ reg_type: 'ns:org:RegistryType:Civil', query_type: 'idtype-value', query: { type: 'UIN', value: 'NOBODY' } })]);
    const res = await send(hub, partner, '/dci/crvs/registry/sync/search', await encrypted('search', message, { receiver_id: undefined }));
    t.equal(res.statusCode, 200, res.body);
    t.equal(schemaErrors('sync-search.response.json', res.json(), 'crvs'), '', 'valid against the CRVS spec');
    t.equal(res.json().header.is_msg_encrypted, true);
    const answer = await openAnswer(t, rsa, res.json().message);
    t.equal(schemaErrors('SearchResponse', answer, 'crvs'), '');
    t.same(answer.search_response[0].data.reg_records, []);
  });

  t.test('async search: ACK, then an encrypted, signed on-search at the partner; txn status answers encrypted too', async (t) => {
    const content = await encrypted('search', byUin('TEST-001'));
    const correlationId = expectAck(t, await send(hub, partner, '/registry/search', content));
    const received = await server.next('/dci/registry/on-search', (r) => r.body.header.is_msg_encrypted === true);
    const body = await verifiedCallback(t, hub, received, 'on-search.request.json');
    t.equal(body.header.status, 'succ');
    t.notMatch(JSON.stringify(body), /Amina/, 'no record in clear');
    const answer = await openAnswer(t, rsa, body.message);
    t.equal(schemaErrors('SearchResponse', answer), '');
    t.equal(answer.correlation_id, correlationId);
    t.equal(answer.search_response[0].data.reg_records[0].name.given_name, 'Amina');

    const status = await encrypted('txn-status', {
      transaction_id: randomUUID(),
      txnstatus_request: { reference_id: 'r1', txn_type: 'search', attribute_type: 'correlation_id', attribute_value: correlationId },
    });
    const res = await send(hub, partner, '/registry/sync/txn/status', status);
    t.equal(res.statusCode, 200, res.body);
    t.equal(schemaErrors('sync-txn-status.response.json', res.json()), '');
    await signedAsSent(t, hub, res.json());
    const txn = await openAnswer(t, rsa, res.json().message);
    t.same(txn.txnstatus_response.txn_status.search_response, answer.search_response);
  });

  t.test('encrypted subscribe: on-subscribe and the notify messages that follow are encrypted', async (t) => {
    const subscribe = await encrypted('subscribe', {
      transaction_id: randomUUID(),
      subscribe_request: [
        {
          reference_id: randomUUID(),
          timestamp: new Date().toISOString(),
          subscribe_criteria: { version: '1.0.0', reg_event_type: 'REGISTER', notify_record_type: 'Member', filter_type: 'idtype-value', filter: { type: 'UIN', value: 'ENC-1' } },
        },
      ],
    });
    const ack = expectAck(t, await send(hub, partner, '/registry/subscribe', subscribe));
    const onSubscribe = await server.next('/dci/registry/on-subscribe');
    const body = await verifiedCallback(t, hub, onSubscribe, 'on-subscribe.request.json');
    const answer = await openAnswer(t, rsa, body.message);
    t.equal(answer.correlation_id, ack);
    t.equal(answer.subscribe_response[0].status, 'succ');

    const created = await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'Secret', family_name: 'Notify', sex: 'female', birth_date: '1990-01-01', identifiers: [{ type: 'UIN', value: 'ENC-1' }] } });
    t.equal(created.statusCode, 201, created.body);
    const notified = await server.next('/dci/registry/notify');
    const notify = await verifiedCallback(t, hub, notified, 'notify.request.json');
    t.equal(notify.header.is_msg_encrypted, true);
    t.notMatch(JSON.stringify(notify), /Secret/, 'no record in clear');
    const event = await openAnswer(t, rsa, notify.message);
    t.equal(schemaErrors('NotifyEventRequest', event), '');
    t.equal(event.notify_event[0].data.reg_records.name.given_name, 'Secret');
  });

  t.test("a partner key from its jwks_url (a server on 127.0.0.1)", async (t) => {
    const own = await partnerEncryptionKey('RSA-OAEP-256', true);
    const remote = await registerPartner(hub, { dci: { callback_url: server.base } });
    const keys = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [remote.key.publicJwk, own.publicJwk] })));
    await new Promise<void>((resolve) => keys.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise((resolve) => keys.close(resolve)));
    const url = `http://127.0.0.1:${(keys.address() as AddressInfo).port}/jwks.json`;
    const patched = await hub.request({ method: 'PATCH', url: `/api/v1/clients/${remote.clientId}`, payload: { jwks: null, dci: { jwks_url: url } } });
    t.equal(patched.statusCode, 200, patched.body);
    const content = { header: header(remote, { is_msg_encrypted: true }), message: await encryptedMessage(hubKey, byUin('TEST-001')) };
    const res = await send(hub, remote, '/registry/sync/search', content);
    t.equal(res.statusCode, 200, res.body);
    const answer = await openAnswer(t, own, res.json().message);
    t.equal(answer.search_response[0].data.reg_records[0].name.given_name, 'Amina');
  });

  t.test('what cannot be opened or answered encrypted is err.encryption.invalid, never a 500', async (t) => {
    const other = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    const toWrongKey = async () => ({ header: header(partner, { is_msg_encrypted: true }), message: await encryptedMessage({ jwk: hubKey.jwk, key: other.publicKey }, byUin('TEST-001')) });
    const flagged = (message: unknown) => ({ header: header(partner, { is_msg_encrypted: true }), message });
    const cases: [string, { header: Record<string, unknown>; message: unknown }, RegExp][] = [
      ['a JWE to another key under our kid', await toWrongKey(), /does not decrypt/],
      ['an unknown kid', flagged(await encryptedMessage({ jwk: { ...hubKey.jwk, kid: 'nobody' }, key: hubKey.key }, byUin('TEST-001'))), /kid nobody is not one of/],
      [
        'garbage in the EncryptedMessage fields',
        flagged({ header: { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: hubKey.jwk.kid }, encrypted_key: 'AAAA', iv: 'BBBB', ciphertext: 'CCCC', tag: 'DDDD' }),
        /does not decrypt/,
      ],
      ['a clear message flagged encrypted', flagged(byUin('TEST-001')), /not an EncryptedMessage/],
      ['a string that is no JWE', flagged('not-a-jwe'), /neither an EncryptedMessage object nor a compact JWE/],
      [
        'a plaintext that is not JSON',
        flagged(await new FlattenedEncrypt(new TextEncoder().encode('plain words')).setUnprotectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: hubKey.jwk.kid! }).encrypt(hubKey.key)),
        /not JSON/,
      ],
    ];
    for (const [name, content, why] of cases) {
      const signature = await signJws(partner.key, content);
      const res = await hub.request({ method: 'POST', url: '/dci/sr/registry/sync/search', token: partner.token, payload: { signature, ...content } });
      t.comment(name);
      expectError(t, res, 'err.encryption.invalid', why);
    }

    const async = await send(hub, partner, '/registry/search', await toWrongKey());
    t.equal(async.statusCode, 400, 'the async endpoint answers an ERR Ack');
    t.equal(async.json().message.ack_status, 'ERR');
    t.equal(async.json().message.error.code, 'err.encryption.invalid');

    const clear = await registerPartner(hub, { dci: { callback_url: server.base } });
    const noKey = await send(hub, clear, '/registry/sync/search', { header: header(clear, { is_msg_encrypted: true }), message: await encryptedMessage(hubKey, byUin('TEST-001')) });
    expectError(t, noKey, 'err.encryption.invalid', /no encryption key/);
    t.notMatch(noKey.body, /Amina/, 'a partner without an encryption key is not answered in clear');
  });

  t.test('registration takes use-enc keys of the supported kinds and refuses the others', async (t) => {
    const other = await registerPartner(hub);
    const register = (enc: JWK) => hub.request({ method: 'PATCH', url: `/api/v1/clients/${other.clientId}`, payload: { jwks: { keys: [other.key.publicJwk, enc] } } });
    const x25519 = await generateKeyPair('ECDH-ES+A256KW', { crv: 'X25519', extractable: true });
    const accepted = await register({ ...(await exportJWK(x25519.publicKey)), use: 'enc' });
    t.equal(accepted.statusCode, 200, `X25519 without alg: ${accepted.body}`);
    for (const alg of ['RSA1_5', 'ECDH-ES', 'RS256']) {
      const refused = await register({ ...rsa.publicJwk, alg });
      t.equal(refused.statusCode, 422, `alg ${alg} on an encryption key`);
      t.match(refused.body, /\/jwks\/keys\/1/);
    }
  });

  t.test('the signature covers the message as sent (encrypted), and the opened message is checked as usual', async (t) => {
    const content = await encrypted('search', byUin('TEST-001'));
    const overPlaintext = await signJws(partner.key, { header: content.header, message: byUin('TEST-001') });
    const res = await hub.request({ method: 'POST', url: '/dci/sr/registry/sync/search', token: partner.token, payload: { signature: overPlaintext, ...content } });
    t.equal(res.statusCode, 401, res.body);
    t.equal(res.json().errors[0].code, 'err.signature.invalid');

    const notSearch = await send(hub, partner, '/registry/sync/search', await encrypted('search', { transaction_id: randomUUID(), search_request: 'everyone' }));
    expectError(t, notSearch, 'err.request.bad', /search_request/);
  });
});
