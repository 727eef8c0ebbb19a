import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { testHub, type TestHub } from '../helpers/hub.js';
import { assertionForm, clientAssertion, clientKey, TOKEN_PATH } from '../helpers/oauth.js';

type Hub = Pick<TestHub, 'app'>;

/** A client_secret_post attempt from `address` (127.0.0.1 unless given). */
const attempt = (hub: Hub, clientId: string, secret: string, address?: string) =>
  hub.app.inject({
    method: 'POST',
    url: TOKEN_PATH,
    payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    ...(address ? { remoteAddress: address } : {}),
  });

async function attempts(hub: Hub, count: number, clientId: string, secret: string, address?: string) {
  const answers: LightMyRequestResponse[] = [];
  for (let i = 0; i < count; i++) answers.push(await attempt(hub, clientId, secret, address));
  return answers;
}

const statusCounts = (answers: LightMyRequestResponse[]) =>
  answers.reduce<Record<number, number>>((counts, res) => ({ ...counts, [res.statusCode]: (counts[res.statusCode] ?? 0) + 1 }), {});

function assertLocked(t: Test, res: LightMyRequestResponse) {
  t.equal(res.statusCode, 429, res.body);
  t.equal(res.json().error, 'invalid_client');
  t.match(res.json().error_description, /too many failed authentication attempts; try again in \d+ s/);
  t.equal(res.headers['cache-control'], 'no-store');
  const retryAfter = Number(res.headers['retry-after']);
  t.ok(Number.isInteger(retryAfter) && retryAfter > 0, `Retry-After in seconds: ${res.headers['retry-after']}`);
  return retryAfter;
}

/** Retries `send` as long as it is refused as locked, waiting what Retry-After says each time (bounded). */
async function untilUnlocked(send: () => Promise<LightMyRequestResponse>) {
  let res = await send();
  for (let tries = 0; res.statusCode === 429 && tries < 30; tries++) {
    await sleep(Number(res.headers['retry-after']) * 1000);
    res = await send();
  }
  return res;
}

t.test('100 wrong secrets: 10 answered 401, then locked (429), the right secret too; an unknown client_id alike', async (t) => {
  const hub = await testHub(t);
  const { clientId, secret } = await hub.client(['registry:read']);

  const wrong = await attempts(hub, 100, clientId, 'not-the-secret');
  t.same(statusCounts(wrong), { 401: 10, 429: 90 });
  const retryAfter = assertLocked(t, wrong[99]!);
  t.ok(retryAfter <= 60, 'the first lock lasts HUB_AUTH_LOCKOUT (60 s)');
  assertLocked(t, await attempt(hub, clientId, secret));

  // The same answers for a client_id that does not exist: a lock tells nothing about which clients exist.
  const unknown = await attempts(hub, 100, 'no-such-client', 'not-the-secret');
  t.same(statusCounts(unknown), { 401: 10, 429: 90 });
  t.same(unknown[0]!.json(), wrong[0]!.json());
  t.same(
    unknown.map((r) => r.json().error_description.replace(/\d+ s$/, 'N s')),
    wrong.map((r) => r.json().error_description.replace(/\d+ s$/, 'N s')),
  );

  // Other clients are not affected by the lock of one.
  const other = await hub.client(['registry:read']);
  t.equal((await attempt(hub, other.clientId, other.secret)).statusCode, 200);

  const audit = await hub.request({ method: 'GET', url: `/api/v1/audit?entity_type=client_id&entity_id=${clientId}` });
  t.match(audit.json().items, [{ action: 'auth.lockout', actor: 'token-endpoint', entity_type: 'client_id', entity_id: clientId }]);
  t.equal(audit.json().items.length, 1, 'one lock, audited once');
});

t.test('the lock ends; each further lock lasts twice as long; a success clears the count', async (t) => {
  const hub = await testHub(t, { HUB_AUTH_FAILURES: '3', HUB_AUTH_LOCKOUT: '2' });
  const { clientId, secret } = await hub.client(['registry:read']);

  t.same(statusCounts(await attempts(hub, 3, clientId, 'wrong')), { 401: 3 });
  const first = assertLocked(t, await attempt(hub, clientId, secret));
  t.ok(first <= 2);
  // Wrong secrets again once the lock is over: locked again, for twice as long.
  const unlocked = await untilUnlocked(() => attempt(hub, clientId, 'wrong'));
  t.equal(unlocked.statusCode, 401, 'counted again once the lock is over');
  t.same(statusCounts(await attempts(hub, 2, clientId, 'wrong')), { 401: 2 });
  const second = assertLocked(t, await attempt(hub, clientId, secret));
  t.ok(second > 2 && second <= 4, `the second lock lasts 4 s (Retry-After ${second})`);

  const accepted = await untilUnlocked(() => attempt(hub, clientId, secret));
  t.equal(accepted.statusCode, 200, 'the right secret is accepted once the lock is over');
  t.same(statusCounts(await attempts(hub, 2, clientId, 'wrong')), { 401: 2 });
  t.equal((await attempt(hub, clientId, secret)).statusCode, 200, 'the success cleared the count');
  t.same(statusCounts(await attempts(hub, 2, clientId, 'wrong')), { 401: 2 });
  t.equal((await attempt(hub, clientId, 'wrong')).statusCode, 401, 'three failures since the success lock again...');
  t.equal((await attempt(hub, clientId, secret)).statusCode, 429, '...the client');
});

t.test('per address: failures for many client_ids lock the address, whatever client it names next', async (t) => {
  const hub = await testHub(t, { HUB_AUTH_FAILURES_ADDRESS: '5' });
  const { clientId, secret } = await hub.client(['registry:read']);
  for (let i = 0; i < 5; i++) t.equal((await attempt(hub, `guess-${i}`, 'wrong', '203.0.113.9')).statusCode, 401);
  assertLocked(t, await attempt(hub, clientId, secret, '203.0.113.9'));
  assertLocked(t, await attempt(hub, 'guess-99', 'wrong', '203.0.113.9'));
  t.equal((await attempt(hub, clientId, secret, '198.51.100.4')).statusCode, 200, 'another address is not locked');
  const audit = await hub.request({ method: 'GET', url: '/api/v1/audit?entity_type=address&entity_id=203.0.113.9' });
  t.match(audit.json().items, [{ action: 'auth.lockout', entity_type: 'address', entity_id: '203.0.113.9' }]);
});

t.test('private_key_jwt: failed assertions count against the client they name; a valid one is refused while locked', async (t) => {
  const hub = await testHub(t, { HUB_AUTH_FAILURES: '3' });
  const key = await clientKey('ES256');
  const stranger = await clientKey('ES256');
  const clientId = 'jwt-lockout';
  const created = await hub.request({
    method: 'POST',
    url: '/api/v1/clients',
    payload: { name: 'jwt', scopes: ['registry:read'], client_id: clientId, jwks: { keys: [key.publicJwk] } },
  });
  t.equal(created.statusCode, 201, created.body);
  const token = (assertion: string) =>
    hub.app.inject({
      method: 'POST',
      url: TOKEN_PATH,
      payload: new URLSearchParams(assertionForm(assertion)).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  for (let i = 0; i < 3; i++) t.equal((await token(await clientAssertion(hub, clientId, stranger))).statusCode, 401);
  assertLocked(t, await token(await clientAssertion(hub, clientId, key)));
});

t.test('two instances on one database share the counts and the locks', async (t) => {
  const hub = await testHub(t, { HUB_AUTH_FAILURES: '4' });
  const second = await buildApp({ config: hub.config, database: hub.database, workers: false });
  t.teardown(() => second.close());
  const { clientId, secret } = await hub.client(['registry:read']);

  t.equal((await attempt(hub, clientId, 'wrong')).statusCode, 401);
  t.equal((await attempt({ app: second }, clientId, 'wrong')).statusCode, 401);
  t.equal((await attempt(hub, clientId, 'wrong')).statusCode, 401);
  t.equal((await attempt({ app: second }, clientId, 'wrong')).statusCode, 401, 'the fourth failure, counted over both');
  assertLocked(t, await attempt(hub, clientId, secret));
  assertLocked(t, await attempt({ app: second }, clientId, secret));
});
