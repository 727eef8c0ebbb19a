import t from 'tap';
import type { Test } from 'tap';
import { header, registerPartner, schemaErrors, searchItem, searchMessage, send, signJws, signString, partnerKey } from '../helpers/dci.js';
import { unsignedPartners } from '../../src/dci/partners.js';
import { seedRegistry } from '../helpers/dci-registry.js';
import { testHub } from '../helpers/hub.js';

const SEARCH = '/registry/sync/search';
const byUin = () => searchMessage([searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' } })]);

t.test('envelope, header, signatures and partner checks', async (t) => {
  const hub = await testHub(t, { DCI_MAX_BATCH: '2' });
  await seedRegistry(hub);
  const partner = await registerPartner(hub);

  /** A header-level rejection: 200, a signed on-search header with status rjct and this reason, no message. */
  const expectHeaderReject = async (t: Test, content: { header: Record<string, unknown>; message: Record<string, unknown> }, reason: string) => {
    const res = await send(hub, partner, SEARCH, content);
    t.equal(res.statusCode, 200, res.body);
    const body = res.json();
    t.equal(schemaErrors('sync-search.response.json', body), '', 'valid against the spec');
    t.equal(body.header.status, 'rjct');
    t.equal(body.header.status_reason_code, reason);
    t.equal(body.header.completed_count, 0);
    t.notOk('message' in body, 'no message');
    t.match(body.signature, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'still signed');
    return body;
  };
  /** A communication-layer error: HttpErrorResponse with this status and Error code. */
  const expectError = (t: Test, res: { statusCode: number; json(): any; body: string }, status: number, code: string) => {
    t.equal(res.statusCode, status, res.body);
    t.equal(schemaErrors('http-error.response.json', res.json()), '', 'an HttpErrorResponse');
    t.equal(res.json().errors[0].code, code);
    t.same(res.json().error, res.json().errors[0], 'and as one Error object');
    t.equal(schemaErrors('Error', res.json().error), '', 'a spec Error');
  };

  t.test('replayed message_id → rjct.message_id.duplicate (per sender)', async (t) => {
    const content = { header: header(partner), message: byUin() };
    const first = await send(hub, partner, SEARCH, content);
    t.equal(first.json().header.status, 'succ');
    const again = await expectHeaderReject(t, content, 'rjct.message_id.duplicate');
    t.match(again.header.status_reason_message, new RegExp(String(content.header.message_id)));
    const other = await registerPartner(hub);
    const sameIdOtherSender = await send(hub, other, SEARCH, { header: header(other, { message_id: content.header.message_id }), message: byUin() });
    t.equal(sameIdOtherSender.json().header.status, 'succ', 'another sender may use the same message_id');
  });

  t.test('header rules: message_ts, version, action, total_count', async (t) => {
    const old = new Date(Date.now() - 3_600_000).toISOString();
    await expectHeaderReject(t, { header: header(partner, { message_ts: old }), message: byUin() }, 'rjct.message_ts.invalid');
    const future = new Date(Date.now() + 3_600_000).toISOString();
    await expectHeaderReject(t, { header: header(partner, { message_ts: future }), message: byUin() }, 'rjct.message_ts.invalid');
    await expectHeaderReject(t, { header: header(partner, { message_ts: 'noon' }), message: byUin() }, 'rjct.message_ts.invalid');
    await expectHeaderReject(t, { header: header(partner, { version: '2.0.0' }), message: byUin() }, 'rjct.version.invalid');
    await expectHeaderReject(t, { header: header(partner, { action: 'fly' }), message: byUin() }, 'rjct.action.invalid');
    await expectHeaderReject(t, { header: header(partner, { action: 'subscribe' }), message: byUin() }, 'rjct.action.not_supported');
    await expectHeaderReject(t, { header: header(partner, { total_count: 2 }), message: byUin() }, 'rjct.total_count.invalid');
    await expectHeaderReject(t, { header: header(partner, { total_count: 1.5 }), message: byUin() }, 'rjct.total_count.invalid');
    const three = searchMessage([1, 2, 3].map(() => searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' } })));
    await expectHeaderReject(t, { header: header(partner, { total_count: 3 }), message: three }, 'rjct.total_count.limit_exceeded');
  });

  t.test('malformed envelopes are err.request.bad; encrypted messages err.encryption.invalid', async (t) => {
    const bare = await hub.request({ method: 'POST', url: `/dci/sr${SEARCH}`, token: partner.token, payload: { hello: 'world' } });
    expectError(t, bare, 400, 'err.request.bad');
    const noMessageId = header(partner) as Record<string, unknown>;
    delete noMessageId.message_id;
    expectError(t, await send(hub, partner, SEARCH, { header: noMessageId, message: byUin() }), 400, 'err.request.bad');
    expectError(t, await send(hub, partner, SEARCH, { header: header(partner), message: { transaction_id: 't', search_request: 'all' } }), 400, 'err.request.bad');
    expectError(t, await send(hub, partner, SEARCH, { header: header(partner), message: { search_request: [] } }), 400, 'err.request.bad');
    expectError(t, await send(hub, partner, SEARCH, { header: header(partner, { is_msg_encrypted: true }), message: byUin() }), 400, 'err.encryption.invalid');
  });

  t.test('sender_id must be the one registered for the token, scope dci:search is needed', async (t) => {
    const res = await send(hub, partner, SEARCH, { header: header({ senderId: 'somebody-else' }), message: byUin() });
    expectError(t, res, 403, 'err.sender_id.invalid');
    const audit = await hub.request({ method: 'GET', url: `/api/v1/audit?entity_type=dci_message&actor=${partner.clientId}` });
    t.ok(
      audit.json().items.some((e: { action: string }) => e.action === 'dci.search.error'),
      'the refusal is audited under the partner',
    );
    const reader = await hub.client(['registry:read']);
    const forbidden = await hub.request({ method: 'POST', url: `/dci/sr${SEARCH}`, token: reader.token, payload: { header: header(partner), message: byUin() } });
    t.equal(forbidden.statusCode, 403, 'no dci:search scope');
    const anonymous = await hub.request({ method: 'POST', url: `/dci/sr${SEARCH}`, token: null, payload: { header: header(partner), message: byUin() } });
    t.equal(anonymous.statusCode, 401);
  });

  t.test('signature form (a): compact JWS, RS256 / ES256 / EdDSA, kid = thumbprint; missing, tampered, wrong key', async (t) => {
    for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
      const p = await registerPartner(hub, { alg });
      const res = await send(hub, p, SEARCH, { header: header(p), message: byUin() });
      t.equal(res.json().header?.status, 'succ', `${alg} verifies`, { body: res.body });
    }
    expectError(t, await send(hub, partner, SEARCH, { header: header(partner), message: byUin() }, null), 401, 'err.signature.missing');
    const content = { header: header(partner), message: byUin() };
    const signature = await signJws(partner.key, content);
    const tampered = { header: content.header, message: searchMessage([searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-003' } })]) };
    expectError(t, await send(hub, partner, SEARCH, tampered, signature), 401, 'err.signature.invalid');
    const stranger = await partnerKey('ES256');
    expectError(t, await send(hub, partner, SEARCH, content, await signJws(stranger, content)), 401, 'err.signature.invalid');
    expectError(t, await send(hub, partner, SEARCH, content, 'not a signature'), 401, 'err.signature.invalid');
    const [h, p, s] = signature.split('.');
    expectError(t, await send(hub, partner, SEARCH, content, `${h}.${p}.${s!.slice(0, -4)}AAAA`), 401, 'err.signature.invalid');
  });

  t.test('signature form (b): the spec string, Ed25519 over RFC 8785 canonical JSON', async (t) => {
    const p = await registerPartner(hub, { alg: 'EdDSA' });
    const content = { header: header(p), message: byUin() };
    // Key order must not matter: canonical JSON sorts members.
    const reordered = { message: content.message, header: Object.fromEntries(Object.entries(content.header).reverse()) };
    const ok = await send(hub, p, SEARCH, content, await signString(p.key, p.senderId, reordered));
    t.equal(ok.json().header?.status, 'succ', 'verifies', { body: ok.body });
    const fresh = () => ({ header: header(p), message: byUin() });
    const expired = fresh();
    const past = Math.floor(Date.now() / 1000) - 600;
    expectError(t, await send(hub, p, SEARCH, expired, await signString(p.key, p.senderId, expired, { created: past - 60, expires: past })), 401, 'err.signature.invalid');
    const otherSender = fresh();
    expectError(t, await send(hub, p, SEARCH, otherSender, await signString(p.key, 'someone', otherSender)), 401, 'err.signature.invalid');
    const changed = fresh();
    const sig = await signString(p.key, p.senderId, changed);
    expectError(t, await send(hub, p, SEARCH, { ...changed, header: { ...changed.header, receiver_id: 'x' } }, sig), 401, 'err.signature.invalid');
    const wrongKey = fresh();
    expectError(t, await send(hub, p, SEARCH, wrongKey, await signString(await partnerKey('EdDSA'), p.senderId, wrongKey)), 401, 'err.signature.invalid');
  });

  t.test('signature policy: optional checks a present signature, off never checks; set through PATCH', async (t) => {
    const p = await registerPartner(hub, { dci: { signature_policy: 'optional' } });
    const unsigned = await send(hub, p, SEARCH, { header: header(p), message: byUin() }, null);
    t.equal(unsigned.json().header?.status, 'succ', 'optional: unsigned accepted');
    expectError(t, await send(hub, p, SEARCH, { header: header(p), message: byUin() }, 'garbage'), 401, 'err.signature.invalid');
    const patched = await hub.request({ method: 'PATCH', url: `/api/v1/clients/${p.clientId}`, payload: { dci: { signature_policy: 'off' } } });
    t.equal(patched.statusCode, 200, patched.body);
    t.same(patched.json().dci, { sender_id: p.senderId, callback_url: null, jwks_url: null, signature_policy: 'off' });
    t.same(await unsignedPartners(hub.database.db), [p.clientId], 'named in the start-up warning');
    const ignored = await send(hub, p, SEARCH, { header: header(p), message: byUin() }, 'garbage');
    t.equal(ignored.json().header?.status, 'succ', 'off: not checked');
    const back = await hub.request({ method: 'PATCH', url: `/api/v1/clients/${p.clientId}`, payload: { dci: { signature_policy: 'required' } } });
    t.equal(back.json().dci.signature_policy, 'required');
    expectError(t, await send(hub, p, SEARCH, { header: header(p), message: byUin() }, null), 401, 'err.signature.missing');
    const clash = await hub.request({ method: 'PATCH', url: `/api/v1/clients/${p.clientId}`, payload: { dci: { sender_id: partner.senderId } } });
    t.equal(clash.statusCode, 409, 'sender_id is unique among partners');
    const badPolicy = await hub.request({ method: 'PATCH', url: `/api/v1/clients/${p.clientId}`, payload: { dci: { signature_policy: 'sometimes' } } });
    t.equal(badPolicy.statusCode, 400);
  });
});
