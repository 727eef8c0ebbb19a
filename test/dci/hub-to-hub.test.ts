import net from 'node:net';
import { and, eq, sql } from 'drizzle-orm';
import pino from 'pino';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { callbackQueue } from '../../src/dci/callbacks.js';
import { queryRows } from '../../src/db/query-rows.js';
import { beneficiaryEvents, civilEvents, dciTransactions, registrySubscriptions } from '../../src/db/schema/index.js';
import { JobQueue } from '../../src/jobs/queue.js';
import { ENV } from '../helpers/dci-async.js';
import { testHub, type TestHub } from '../helpers/hub.js';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls (up to ~2 min) until `check` answers something truthy. */
async function until<T>(what: string, check: () => Promise<T | undefined | false>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const post = async (hub: TestHub, url: string, payload: object) => {
  const res = await hub.request({ method: 'POST', url: `/api/v1/${url}`, payload });
  if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
  return res.json();
};

t.test('hub to hub: a death registered in the CRVS hub suspends the beneficiary in the subscribing hub, exactly once', async (t) => {
  // Hub A is the CRVS; it retries callbacks for a while, so that hub B may be down when the death is registered.
  const crvs = await testHub(t, { ...ENV, DCI_SENDER_ID: 'hub-a', DCI_CALLBACK_RETRIES: '10' });
  const urlA = await crvs.app.listen({ port: 0, host: '127.0.0.1' });
  const portB = await freePort();
  const urlB = `http://127.0.0.1:${portB}`;
  const subscriber = await crvs.client(['dci:search', 'dci:subscribe'], {
    dci: { sender_id: 'hub-b', callback_url: `${urlB}/dci/callbacks/crvs-a`, jwks_url: `${urlB}/.well-known/jwks.json` },
  });
  const registries = [
    {
      name: 'crvs-a',
      kind: 'dci-crvs',
      base_url: `${urlA}/dci/crvs`,
      auth: { token_url: `${urlA}/oauth2/client/token`, client_id: subscriber.clientId, client_secret: subscriber.secret },
      jwks_url: `${urlA}/.well-known/jwks.json`,
      receiver_id: 'hub-a',
    },
  ];
  const envB = { ...ENV, DCI_SENDER_ID: 'hub-b', HUB_PUBLIC_URL: urlB, HUB_REGISTRIES: JSON.stringify(registries) };
  const social = await testHub(t, envB);
  await social.app.listen({ port: portB, host: '127.0.0.1' });

  // The same people in both: in A as the civil registry knows them, in B as households and a pensioner.
  const mariaA = await post(crvs, 'individuals', { given_name: 'Maria', family_name: 'Hub', sex: 'female', birth_date: '1990-01-01', identifiers: [{ type: 'UIN', value: 'U-MARIA' }] });
  const jonA = await post(crvs, 'individuals', { given_name: 'Jon', family_name: 'Hub', sex: 'male', birth_date: '1940-01-01', identifiers: [{ type: 'UIN', value: 'U-JON' }] });
  const household = await post(social, 'groups', {
    code: 'HH-B',
    members: [
      { role: 'head', individual: { given_name: 'Maria', family_name: 'Hub', sex: 'female', birth_date: '1990-01-01', identifiers: [{ type: 'UIN', value: 'U-MARIA' }] } },
      { role: 'parent', individual: { given_name: 'Jon', family_name: 'Hub', sex: 'male', birth_date: '1940-01-01', identifiers: [{ type: 'UIN', value: 'U-JON' }] } },
    ],
  });
  const jonB = household.members.find((m: any) => m.given_name === 'Jon').individual_id;
  const pension = await post(social, 'programmes', { code: 'PENSION', subject: 'individual', status: 'active', eligibility: 'age >= 60' });
  t.equal((await post(social, `programmes/${pension.id}/enrolment`, { activate: true })).enrolled, 1, 'Jon is a pensioner in B');

  const listed = await social.request({ method: 'GET', url: '/api/v1/registries' });
  t.match(listed.json().items, [{ name: 'crvs-a', kind: 'dci-crvs', health: { status: 'up' } }], 'B lists A, healthy');

  const subscribed = await social.request({ method: 'POST', url: '/api/v1/registries/crvs-a/subscriptions', payload: { event_types: ['death', 'birth'] } });
  t.equal(subscribed.statusCode, 202, subscribed.body);
  await until('both subscriptions confirmed by on-subscribe', async () => {
    const rows = await social.database.db.select().from(registrySubscriptions).where(eq(registrySubscriptions.status, 'subscribe'));
    return rows.length === 2 && rows.every((r) => r.code);
  });

  t.test('B is down when the death is registered: delivery is retried, and applied once B is back', async (t) => {
    await social.app.close();
    const death = await post(crvs, 'civil-events', { event_type: 'death', registration_number: 'D-77', event_date: '2025-04-01', subject: { individual_id: jonA.id } });
    t.equal(death.event_type, 'death');
    const notify = await until('a failed delivery attempt', async () => {
      const [row] = await crvs.database.db.select().from(dciTransactions).where(eq(dciTransactions.action, 'notify'));
      return row && row.callbackAttempts >= 1 && row.callbackStatus === 'pending' ? row : undefined;
    });
    t.match(notify.callbackError, /could not reach/);

    const restarted = await buildApp({ config: social.config, database: social.database, logger: pino({ level: 'silent' }) });
    t.teardown(() => restarted.close());
    await restarted.listen({ port: portB, host: '127.0.0.1' });
    const asB = (method: 'GET' | 'POST', url: string, payload?: object) =>
      restarted.inject({ method, url, headers: { authorization: `Bearer ${social.adminToken}` }, ...(payload ? { payload } : {}) });
    const benefit = await until('the pension suspended in B', async () => {
      const res = await asB('GET', `/api/v1/programmes/${pension.id}/beneficiaries?status=SUSPENDED`);
      return res.json().items[0];
    });
    t.equal(benefit.reason, 'death registered by crvs-a (D-77) on 2025-04-01');
    const person = (await asB('GET', `/api/v1/individuals/${jonB}`)).json();
    t.equal(person.death_date, '2025-04-01', 'Jon is deceased in B');

    t.test('the same notification delivered again changes nothing', async (t) => {
      const [job] = await queryRows<{ data: object }>(crvs.database.db, sql`SELECT data FROM pgboss.job WHERE name = 'dci-callback' AND data->'header'->>'action' = 'notify'`);
      const queue = await JobQueue.start(crvs.database, [callbackQueue(crvs.config.dci.callbacks)], pino({ level: 'silent' }));
      await queue.send('dci-callback', job!.data);
      await queue.stop();
      await until('the second delivery', async () => {
        const [row] = await crvs.database.db.select().from(dciTransactions).where(eq(dciTransactions.id, notify.id));
        return row!.callbackStatus === 'delivered' && row!.callbackAttempts >= notify.callbackAttempts + 2;
      });
      const events = await social.database.db.select().from(civilEvents).where(eq(civilEvents.source, 'crvs-a'));
      t.same(events.map((e) => e.registrationNumber), ['D-77'], 'one civil event');
      const suspensions = await social.database.db
        .select()
        .from(beneficiaryEvents)
        .where(and(eq(beneficiaryEvents.beneficiaryId, benefit.id), eq(beneficiaryEvents.toStatus, 'SUSPENDED')));
      t.equal(suspensions.length, 1, 'one suspension');
    });

    t.test('a birth in A adds the child to the mother’s household in B', async (t) => {
      await post(crvs, 'civil-events', {
        event_type: 'birth', registration_number: 'B-88', event_date: '2025-05-01',
        subject: { individual: { given_name: 'Noa', family_name: 'Hub', sex: 'female', identifiers: [{ type: 'UIN', value: 'U-NOA' }] } },
        parties: [{ role: 'mother', individual_id: mariaA.id }],
      });
      const group = await until<any>('Noa in the household', async () => {
        const res = await asB('GET', `/api/v1/groups/${household.id}`);
        return res.json().members.some((m: any) => m.given_name === 'Noa') ? res.json() : undefined;
      });
      t.match(group.members.find((m: any) => m.given_name === 'Noa'), { role: 'child', birth_date: '2025-05-01' });
    });

    t.test('reconciliation pull finds the same events and applies nothing twice', async (t) => {
      const pulled = await asB('POST', '/api/v1/registries/crvs-a/pull', { from: '2000-01-01', to: '2999-12-31' });
      t.equal(pulled.statusCode, 200, pulled.body);
      t.same(pulled.json(), { recorded: 0, duplicate: 2, review: 0 });
    });
  });
});
