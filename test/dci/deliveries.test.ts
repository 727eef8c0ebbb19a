import { randomUUID } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import t from 'tap';
import { dciTransactions } from '../../src/db/schema/index.js';
import { ENV, expectAck, transactionRow, verifiedCallback } from '../helpers/dci-async.js';
import { header, registerPartner, searchItem, searchMessage, send } from '../helpers/dci.js';
import { seedRegistry } from '../helpers/dci-registry.js';
import { fakePartner } from '../helpers/fake-partner.js';
import { testHub } from '../helpers/hub.js';
import { expectProblem } from '../helpers/registry.js';

const byUin = (uin: string) => searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: uin } });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('DCI transactions: failed callbacks listed and retried; old exchanges swept', async (t) => {
  const hub = await testHub(t, { ...ENV, DCI_CALLBACK_RETRIES: '0', DCI_TRANSACTION_RETENTION_DAYS: '30', DCI_RETENTION_INTERVAL: '1' });
  await seedRegistry(hub);
  const partnerServer = await fakePartner(t);
  const partner = await registerPartner(hub, { dci: { callback_url: partnerServer.base } });
  const operator = await hub.client(['dci:admin']);
  const get = (url: string, token: string | null = operator.token) => hub.request({ method: 'GET', url, token });
  const search = async (uin: string) => expectAck(t, await send(hub, partner, '/registry/search', { header: header(partner), message: searchMessage([byUin(uin)]) }));
  const settled = async (correlationId: string, state: string) => {
    let row = await transactionRow(hub, correlationId);
    for (let i = 0; i < 300 && row.callbackStatus !== state; i++) {
      await pause(100);
      row = await transactionRow(hub, correlationId);
    }
    t.equal(row.callbackStatus, state, `delivery ${state}`);
    return row;
  };

  t.test('a callback given up on is listed under delivery=failed with its error, and a retry delivers it', async (t) => {
    partnerServer.failNext(1);
    const ack = await search('TEST-001');
    const row = await settled(ack, 'failed');

    const failed = await get('/api/v1/dci/transactions?delivery=failed');
    t.equal(failed.statusCode, 200, failed.body);
    t.match(failed.json().items, [
      {
        id: row.id,
        correlation_id: ack,
        registry: 'sr',
        action: 'search',
        client_id: partner.clientId,
        sender_id: partner.senderId,
        status: 'succ',
        record_count: 1,
        delivery: { status: 'failed', url: `${partnerServer.base}/registry/on-search`, attempts: 1, last_error: /HTTP 503/, last_attempt_at: String, retryable: true },
      },
    ]);
    for (const other of ['pending', 'delivered']) {
      t.notOk((await get(`/api/v1/dci/transactions?delivery=${other}`)).json().items.some((i: { id: string }) => i.id === row.id), `not under ${other}`);
    }

    const retried = await hub.request({ method: 'POST', url: `/api/v1/dci/transactions/${row.id}/retry`, token: operator.token });
    t.equal(retried.statusCode, 200, retried.body);
    t.match(retried.json(), { id: row.id, delivery: { status: 'pending', retryable: false } });
    const received = await partnerServer.next('/dci/registry/on-search', (r) => r.body.message?.correlation_id === ack);
    const body = await verifiedCallback(t, hub, received, 'on-search.request.json');
    t.equal(body.message.search_response[0].data.reg_records[0].name.given_name, 'Amina', 'the answer it was owed');
    await settled(ack, 'delivered');
    t.match((await get(`/api/v1/dci/transactions/${row.id}`)).json(), { delivery: { status: 'delivered', attempts: 2, last_error: null, retryable: false } });

    const again = await hub.request({ method: 'POST', url: `/api/v1/dci/transactions/${row.id}/retry`, token: operator.token });
    t.match(expectProblem(t, again, 409, 'retrying a delivered callback').detail, /only a failed delivery/);
    const audit = (await get(`/api/v1/audit?entity_type=dci_transaction&entity_id=${ack}&actor=${operator.clientId}`, hub.adminToken)).json();
    t.match(audit.items, [{ action: 'dci.callback.retry' }], 'the retry is audited under the operator');
  });

  t.test('keyset pages, filters, scopes and errors', async (t) => {
    for (const uin of ['TEST-002', 'TEST-003', 'TEST-001']) await settled(await search(uin), 'delivered');
    const all = (await get('/api/v1/dci/transactions?limit=500')).json().items as { id: string; received_at: string }[];
    t.equal(all.length, 4, 'every exchange with a callback');
    t.same(all.map((i) => i.received_at), all.map((i) => i.received_at).sort().reverse(), 'newest first');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = (await get(`/api/v1/dci/transactions?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json();
      seen.push(...page.items.map((i: { id: string }) => i.id));
      cursor = page.next_cursor;
    } while (cursor && seen.length < 10);
    t.same(seen, all.map((i) => i.id), 'one at a time, the same list');
    t.equal((await get(`/api/v1/dci/transactions?sender_id=${partner.senderId}&registry=sr&delivery=delivered`)).json().items.length, 4);
    t.equal((await get('/api/v1/dci/transactions?sender_id=nobody')).json().items.length, 0);
    t.equal((await get('/api/v1/dci/transactions?registry=crvs')).json().items.length, 0);

    expectProblem(t, await get('/api/v1/dci/transactions', partner.token), 403, 'a partner token');
    expectProblem(t, await get('/api/v1/dci/transactions', null), 401, 'no token');
    expectProblem(t, await get('/api/v1/dci/transactions?delivery=lost'), 400, 'an unknown delivery state');
    expectProblem(t, await get('/api/v1/dci/transactions?cursor=garbage'), 400, 'a malformed cursor');
    expectProblem(t, await get(`/api/v1/dci/transactions/${randomUUID()}`), 404, 'an unknown transaction');
    expectProblem(t, await hub.request({ method: 'POST', url: `/api/v1/dci/transactions/${randomUUID()}/retry`, token: operator.token }), 404, 'retrying an unknown one');
    expectProblem(t, await hub.request({ method: 'POST', url: `/api/v1/dci/transactions/${all[0]!.id}/retry`, token: partner.token }), 403, 'a partner retrying');
  });

  t.test('the periodic sweep deletes old exchanges, never one pending or undelivered', async (t) => {
    const old = new Date(Date.now() - 40 * 86_400_000);
    const recent = new Date(Date.now() - 10 * 86_400_000);
    const rows = {
      answered: { status: 'succ', receivedAt: old },
      delivered: { status: 'succ', receivedAt: old, callbackStatus: 'delivered' },
      rejected: { status: 'rjct', receivedAt: old },
      pendingDelivery: { status: 'succ', receivedAt: old, callbackStatus: 'pending' },
      failedDelivery: { status: 'succ', receivedAt: old, callbackStatus: 'failed' },
      stillWorked: { status: 'pdng', receivedAt: old },
      recent: { status: 'succ', receivedAt: recent },
    };
    const ids: Record<string, string> = {};
    for (const [name, values] of Object.entries(rows)) {
      const [row] = await hub.database.db
        .insert(dciTransactions)
        .values({ clientId: partner.clientId, senderId: partner.senderId, messageId: randomUUID(), action: 'search', ...values })
        .returning({ id: dciTransactions.id });
      ids[name] = row!.id;
    }
    const left = async () => {
      const found = await hub.database.db.select({ id: dciTransactions.id }).from(dciTransactions).where(inArray(dciTransactions.id, Object.values(ids)));
      return Object.keys(ids).filter((name) => found.some((f) => f.id === ids[name])).sort();
    };
    const kept = ['failedDelivery', 'pendingDelivery', 'recent', 'stillWorked'];
    let names = await left();
    for (let i = 0; i < 300 && names.length > kept.length; i++) {
      await pause(100);
      names = await left();
    }
    t.same(names, kept, 'answered, delivered and rejected exchanges older than 30 days went; the rest stayed');
    t.equal((await get('/api/v1/dci/transactions?limit=500')).json().items.length, 6, 'the four recent exchanges, and the two old ones still owed a delivery');
  });
});
