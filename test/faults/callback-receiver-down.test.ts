import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import t from 'tap';
import { queryRows } from '../../src/db/query-rows.js';
import { expectAck, transactionRow, verifiedCallback } from '../helpers/dci-async.js';
import { header, registerPartner, searchItem, searchMessage, send } from '../helpers/dci.js';
import { seedRegistry } from '../helpers/dci-registry.js';
import type { Received } from '../helpers/fake-partner.js';
import { testHub, type TestHub } from '../helpers/hub.js';

const RETRIES = 3;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A partner's callback server that can go down (connections refused) and come back on the same port. */
async function receiver(t: { teardown(fn: () => unknown): void }) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"message":{"ack_status":"ACK"}}');
    });
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  t.teardown(() => server.listening && new Promise((resolve) => server.close(resolve)));
  return {
    base: `http://127.0.0.1:${port}/dci`,
    received,
    down: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
    up: () => listen(port),
  };
}

async function settled(hub: TestHub, correlationId: string, state: string) {
  let row = await transactionRow(hub, correlationId);
  for (let i = 0; i < 900 && row.callbackStatus !== state; i++) {
    await pause(100);
    row = await transactionRow(hub, correlationId);
  }
  return row;
}

t.test('a callback receiver down: retried the configured number of times, dead-lettered with its body, redelivered exactly once', async (t) => {
  // The default schedule (8 retries from 10 s, doubling) shortened: 3 retries from 1 s, so 1–2 s, 2–4 s, 4–8 s apart.
  const hub = await testHub(t, { DCI_CALLBACK_RETRIES: String(RETRIES), DCI_CALLBACK_RETRY_DELAY: '1', DCI_NOTIFY_INTERVAL: '200' });
  await seedRegistry(hub);
  const server = await receiver(t);
  const partner = await registerPartner(hub, { scopes: ['dci:search', 'dci:subscribe'], dci: { callback_url: server.base } });
  const operator = await hub.client(['dci:admin']);

  // A subscription made while the receiver is up, so that a registration later owes it a notify.
  const subscribeAck = expectAck(t, await send(hub, partner, '/registry/subscribe', {
    header: header(partner, { action: 'subscribe' }),
    message: {
      transaction_id: randomUUID(),
      subscribe_request: [{
        reference_id: randomUUID(),
        timestamp: new Date().toISOString(),
        subscribe_criteria: { version: '1.0.0', reg_type: 'ns:org:RegistryType:Social', reg_event_type: 'REGISTER', notify_record_type: 'Member', filter_type: 'idtype-value', filter: { type: 'UIN', value: 'DOWN-1' } },
      }],
    },
  }));
  t.equal((await settled(hub, subscribeAck, 'delivered')).callbackStatus, 'delivered', 'subscribed while the receiver was up');

  await server.down();
  const searchAck = expectAck(t, await send(hub, partner, '/registry/search', { header: header(partner), message: searchMessage([searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' } })]) }));
  const created = await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'Down', family_name: 'Time', identifiers: [{ type: 'UIN', value: 'DOWN-1' }] } });
  t.equal(created.statusCode, 201, created.body);
  let notifyCorrelation: string | undefined;
  for (let i = 0; i < 300 && !notifyCorrelation; i++) {
    await pause(100);
    [notifyCorrelation] = (await queryRows<{ correlation_id: string }>(hub.database.db, sql`SELECT correlation_id FROM dci_transactions WHERE action = 'notify'`)).map((r) => r.correlation_id);
  }
  t.ok(notifyCorrelation, 'the registration owes the subscriber a notify');

  const dead: Record<string, string> = {};
  for (const [what, correlationId] of [['on-search', searchAck], ['notify', notifyCorrelation!]] as const) {
    const row = await settled(hub, correlationId, 'failed');
    t.equal(row.callbackStatus, 'failed', `${what}: given up on`);
    t.equal(row.callbackAttempts, RETRIES + 1, `${what}: the first attempt and ${RETRIES} retries`);
    t.match(row.callbackError, /could not reach the partner/, `${what}: the last error is kept`);
    t.match(row.callbackBody, { url: `${server.base}/registry/${what}`, header: { action: what } }, `${what}: the callback itself is kept`);
    dead[what] = row.id;
  }
  // The row is marked failed just before the handler throws; pg-boss moves the job to the dead letter queue after.
  const deadJobs = async () => ((await queryRows<{ count: number }>(hub.database.db, sql`SELECT count(*)::int AS count FROM pgboss.job WHERE name = 'dci-callback.dead'`)) as [{ count: number }])[0].count;
  let count = await deadJobs();
  for (let i = 0; i < 100 && count < 2; i++) {
    await pause(100);
    count = await deadJobs();
  }
  t.equal(count, 2, 'both jobs wait in the dead letter queue');
  const listed = (await hub.request({ method: 'GET', url: '/api/v1/dci/transactions?delivery=failed', token: operator.token })).json();
  t.same(listed.items.map((i: { id: string }) => i.id).sort(), Object.values(dead).sort(), 'operators see both under delivery=failed');
  t.same(server.received.filter((r) => r.path !== '/dci/registry/on-subscribe'), [], 'nothing reached the receiver while it was down');

  await server.up();
  for (const [what, id] of Object.entries(dead)) {
    const retried = await hub.request({ method: 'POST', url: `/api/v1/dci/transactions/${id}/retry`, token: operator.token });
    t.equal(retried.statusCode, 200, `${what}: redelivery accepted`);
    // A second retry while the first is pending is refused, so one redelivery cannot become two.
    t.equal((await hub.request({ method: 'POST', url: `/api/v1/dci/transactions/${id}/retry`, token: operator.token })).statusCode, 409, `${what}: a second retry is refused`);
  }
  for (const [what, correlationId] of [['on-search', searchAck], ['notify', notifyCorrelation!]] as const) {
    t.equal((await settled(hub, correlationId, 'delivered')).callbackStatus, 'delivered', `${what}: delivered once the receiver is back`);
  }
  // Long enough for a duplicate to show: the queue polls every second.
  await pause(3000);
  const onSearch = server.received.filter((r) => r.path === '/dci/registry/on-search');
  const notify = server.received.filter((r) => r.path === '/dci/registry/notify');
  t.equal(onSearch.length, 1, 'the on-search arrived exactly once');
  t.equal(notify.length, 1, 'the notify arrived exactly once');
  t.equal(onSearch[0]!.body.message.correlation_id, searchAck);
  t.equal((await verifiedCallback(t, hub, onSearch[0]!, 'on-search.request.json')).message.search_response[0].data.reg_records[0].name.given_name, 'Amina', 'the answer it was owed');
  t.equal((await verifiedCallback(t, hub, notify[0]!, 'notify.request.json')).message.notify_event[0].data.reg_records.name.given_name, 'Down', 'the notification it was owed');
});
