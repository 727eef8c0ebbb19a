import { randomUUID } from 'node:crypto';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { ENV, expectAck, transactionRow, verifiedCallback } from '../helpers/dci-async.js';
import { header, registerPartner, schemaErrors, searchItem, searchMessage, send } from '../helpers/dci.js';
import { seedRegistry } from '../helpers/dci-registry.js';
import { fakePartner } from '../helpers/fake-partner.js';
import { testHub } from '../helpers/hub.js';

const byUin = (uin: string) => searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: uin } });

t.test('async search: ACK at once, then a signed on-search at the partner, retried until delivered', async (t) => {
  const hub = await testHub(t, ENV);
  await seedRegistry(hub);
  const partnerServer = await fakePartner(t);
  const partner = await registerPartner(hub, { dci: { callback_url: partnerServer.base } });

  const content = { header: header(partner), message: searchMessage([byUin('TEST-001')]) };
  const correlationId = expectAck(t, await send(hub, partner, '/registry/search', content));
  const received = await partnerServer.next('/dci/registry/on-search');
  const body = await verifiedCallback(t, hub, received, 'on-search.request.json');
  t.equal(body.header.action, 'on-search');
  t.equal(body.header.status, 'succ');
  t.equal(body.header.receiver_id, partner.senderId);
  t.equal(body.message.transaction_id, content.message.transaction_id, 'transaction_id echoed');
  t.equal(body.message.correlation_id, correlationId, 'the correlation_id of the Ack');
  t.equal(body.message.search_response[0].data.reg_records[0].name.given_name, 'Amina');

  t.test('txn status answers the same result, and the row shows the delivery', async (t) => {
    await new Promise((r) => setTimeout(r, 300));
    const row = await transactionRow(hub, correlationId);
    t.equal(row.callbackStatus, 'delivered');
    t.equal(row.callbackAttempts, 1);
    const status = {
      header: header(partner, { action: 'txn-status' }),
      message: { transaction_id: randomUUID(), txnstatus_request: { reference_id: 'r1', txn_type: 'search', attribute_type: 'correlation_id', attribute_value: correlationId } },
    };
    const res = await send(hub, partner, '/registry/sync/txn/status', status);
    t.same(res.json().message.txnstatus_response.txn_status.search_response, body.message.search_response);
  });

  t.test('a partner answering 503 gets the callback again, with backoff, until it takes it', async (t) => {
    partnerServer.failNext(2);
    const before = partnerServer.attempts;
    const ack = expectAck(t, await send(hub, partner, '/registry/search', { header: header(partner), message: searchMessage([byUin('TEST-003')]) }));
    const delivered = await partnerServer.next('/dci/registry/on-search', (r) => r.body.message?.correlation_id === ack);
    t.equal(delivered.body.message.search_response[0].data.reg_records[0].name.given_name, 'Fay');
    t.equal(partnerServer.attempts - before, 3, 'two refusals, then the delivery');
    await new Promise((r) => setTimeout(r, 300));
    const row = await transactionRow(hub, ack);
    t.equal(row.callbackStatus, 'delivered');
    t.equal(row.callbackAttempts, 3);
  });

  t.test('a partner that never takes the callback: retried DCI_CALLBACK_RETRIES times, then marked failed', async (t) => {
    partnerServer.failNext(100);
    const ack = expectAck(t, await send(hub, partner, '/registry/search', { header: header(partner), message: searchMessage([byUin('TEST-002')]) }));
    let row = await transactionRow(hub, ack);
    for (let i = 0; i < 600 && row.callbackStatus !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      row = await transactionRow(hub, ack);
    }
    partnerServer.failNext(0);
    t.equal(row.callbackStatus, 'failed');
    t.equal(row.callbackAttempts, 4, 'the first attempt and three retries');
    t.match(row.callbackError, /HTTP 503/);
  });

  t.test('a receiver_id that is not this registry is refused with err.receiver_id.invalid', async (t) => {
    const res = await send(hub, partner, '/registry/search', { header: header(partner, { receiver_id: 'someone-else' }), message: searchMessage([byUin('TEST-002')]) });
    t.equal(res.statusCode, 400);
    t.equal(res.json().message.error.code, 'err.receiver_id.invalid');
  });

  t.test('sender_uri under the registered base is used as is; any other is refused with err.sender_uri.invalid', async (t) => {
    const own = `${partnerServer.base}/mine/on-search`;
    expectAck(t, await send(hub, partner, '/registry/search', { header: header(partner, { sender_uri: own }), message: searchMessage([byUin('TEST-002')]) }));
    const delivered = await partnerServer.next('/dci/mine/on-search');
    t.equal(delivered.body.message.search_response[0].data.reg_records[0].name.given_name, 'Ben');

    for (const uri of ['http://127.0.0.2:1/dci/on-search', `${partnerServer.base.replace('/dci', '/other')}/on-search`, partnerServer.base.replace('http://', 'http://user:pw@')]) {
      const res = await send(hub, partner, '/registry/search', { header: header(partner, { sender_uri: uri }), message: searchMessage([byUin('TEST-002')]) });
      t.equal(res.statusCode, 400, uri);
      t.equal(res.json().message.ack_status, 'ERR');
      t.equal(res.json().message.error.code, 'err.sender_uri.invalid');
      t.equal(schemaErrors('ack.response.json', res.json()), '');
    }
  });

  t.test('a header rule broken (replayed message_id) is acknowledged and answered by a rjct callback', async (t) => {
    const replay = { header: header(partner), message: searchMessage([byUin('TEST-001')]) };
    const first = expectAck(t, await send(hub, partner, '/registry/search', replay));
    await partnerServer.next('/dci/registry/on-search', (r) => r.body.message?.correlation_id === first);
    expectAck(t, await send(hub, partner, '/registry/search', replay));
    const rejected = await partnerServer.next('/dci/registry/on-search', (r) => r.body.header.status === 'rjct');
    await verifiedCallback(t, hub, rejected, 'on-search.request.json');
    t.equal(rejected.body.header.status_reason_code, 'rjct.message_id.duplicate');
  });

  t.test('without a registered callback base, asynchronous requests are refused', async (t) => {
    const bare = await registerPartner(hub);
    const res = await send(hub, bare, '/registry/search', { header: header(bare), message: searchMessage([byUin('TEST-001')]) });
    t.equal(res.statusCode, 400);
    t.equal(res.json().message.error.code, 'err.sender_uri.invalid');
  });
});

t.test('an acknowledged request survives a restart: another instance answers it', async (t) => {
  const accepting = await testHub(t, ENV, { workers: false });
  await seedRegistry(accepting);
  const server = await fakePartner(t);
  const partner = await registerPartner(accepting, { dci: { callback_url: server.base } });
  const ack = expectAck(t, await send(accepting, partner, '/registry/search', { header: header(partner), message: searchMessage([byUin('TEST-001')]) }));
  await new Promise((r) => setTimeout(r, 1500));
  t.same(server.received, [], 'nothing is answered while no instance works the queue');
  await accepting.app.close();

  const working = await buildApp({ config: accepting.config, database: accepting.database });
  t.teardown(() => working.close());
  await working.ready();
  const delivered = await server.next('/dci/registry/on-search');
  t.equal(delivered.body.message.correlation_id, ack);
  t.equal(delivered.body.message.search_response[0].data.reg_records[0].name.given_name, 'Amina');
});

t.test('async txn status: the answer comes as a signed txn-on-status callback', async (t) => {
  const hub = await testHub(t, ENV);
  await seedRegistry(hub);
  const server = await fakePartner(t);
  const partner = await registerPartner(hub, { dci: { callback_url: server.base } });
  const search = { header: header(partner), message: searchMessage([byUin('TEST-003')]) };
  const searched = expectAck(t, await send(hub, partner, '/registry/search', search));
  await server.next('/dci/registry/on-search', (r) => r.body.message?.correlation_id === searched);

  const status = {
    header: header(partner, { action: 'txn-status' }),
    message: { transaction_id: randomUUID(), txnstatus_request: { reference_id: 'q1', txn_type: 'search', attribute_type: 'transaction_id', attribute_value: search.message.transaction_id } },
  };
  const ack = expectAck(t, await send(hub, partner, '/registry/txn/status', status));
  const answer = await server.next('/dci/registry/txn/on-status');
  const body = await verifiedCallback(t, hub, answer, 'txn-on-status.request.json');
  t.equal(body.header.action, 'txn-on-status');
  t.equal(body.message.correlation_id, ack);
  t.equal(body.message.txnstatus_response.txn_status.search_response[0].data.reg_records[0].name.given_name, 'Fay');
});
