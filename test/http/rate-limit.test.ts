import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { testHub, type TestHub } from '../helpers/hub.js';
import { tokenRequest } from '../helpers/oauth.js';

const admin = { method: 'GET', url: '/api/v1/locations' } as const;
const fhir = { method: 'GET', url: '/fhir/Patient' } as const;
const dci = { method: 'POST', url: '/dci/sr/registry/sync/search', payload: {} } as const;

function assertThrottledHeaders(t: Test, res: LightMyRequestResponse) {
  t.equal(res.statusCode, 429, res.body);
  const retryAfter = Number(res.headers['retry-after']);
  t.ok(Number.isInteger(retryAfter) && retryAfter > 0, `Retry-After in seconds: ${res.headers['retry-after']}`);
  t.ok(res.headers['ratelimit-limit'], 'RateLimit-Limit');
  t.equal(res.headers['ratelimit-remaining'], '0');
  t.ok(res.headers['ratelimit-reset'], 'RateLimit-Reset');
}

function assertProblem(t: Test, res: LightMyRequestResponse) {
  assertThrottledHeaders(t, res);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  t.match(res.json(), { type: 'urn:convergence-hub:problem:too-many-requests', status: 429, title: 'Too Many Requests' });
}

/** Sends `count` requests one after the other and answers how many got each status. */
async function burst(hub: TestHub, count: number, options: Parameters<TestHub['request']>[0]) {
  const statuses: Record<number, number> = {};
  let last: LightMyRequestResponse | undefined;
  for (let i = 0; i < count; i++) {
    last = await hub.request(options);
    statuses[last.statusCode] = (statuses[last.statusCode] ?? 0) + 1;
  }
  return { statuses, last: last! };
}

t.test('per client: 400 requests from one token, the default limit of 300 passes, then each surface answers 429 in its dialect', async (t) => {
  // A window longer than the test, so that the count does not depend on how fast the machine is.
  const hub = await testHub(t, { HUB_RATE_LIMIT: '', HUB_RATE_LIMIT_WINDOW: '3600' });
  t.equal(hub.config.rateLimit.perClient, 300, 'the production default');
  const partner = await hub.client(['registry:read', 'fhir:read', 'dci:search']);

  const { statuses, last } = await burst(hub, 400, { ...admin, token: partner.token });
  t.same(statuses, { 200: 300, 429: 100 });
  assertProblem(t, last);
  t.match(last.json().detail, /more than 300 requests by this client/);

  const fhirRes = await hub.request({ ...fhir, token: partner.token });
  assertThrottledHeaders(t, fhirRes);
  t.match(fhirRes.headers['content-type'], /^application\/fhir\+json/);
  t.match(fhirRes.json(), { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'throttled' }] });

  const dciRes = await hub.request({ ...dci, token: partner.token });
  assertThrottledHeaders(t, dciRes);
  t.match(dciRes.headers['content-type'], /^application\/json/);
  t.match(dciRes.json(), { errors: [{ code: 'err.request.too_many_requests', message: String }] });

  // Another client, from the same address, is counted on its own.
  const other = await hub.client(['registry:read', 'fhir:read', 'dci:search']);
  const ok = await hub.request({ ...admin, token: other.token });
  t.equal(ok.statusCode, 200, ok.body);
  t.equal(ok.headers['ratelimit-limit'], '300');
  t.equal(ok.headers['ratelimit-remaining'], '299');
  t.equal((await hub.request({ ...fhir, token: other.token })).statusCode, 200);
  t.not((await hub.request({ ...dci, token: other.token })).statusCode, 429);
});

t.test('per client: the count starts again when the window is over', async (t) => {
  const hub = await testHub(t, { HUB_RATE_LIMIT: '3', HUB_RATE_LIMIT_WINDOW: '1' });
  const partner = await hub.client(['registry:read']);
  const { statuses, last } = await burst(hub, 4, { ...admin, token: partner.token });
  t.same(statuses, { 200: 3, 429: 1 });
  assertProblem(t, last);
  // Waits for the sentinel (a request let through again), as long as Retry-After says, up to a generous bound.
  let res = last;
  for (let tries = 0; res.statusCode === 429 && tries < 30; tries++) {
    await sleep(Number(res.headers['retry-after']) * 1000);
    res = await hub.request({ ...admin, token: partner.token });
  }
  t.equal(res.statusCode, 200, 'let through once the window is over');
});

t.test('per address: public routes, the token endpoint and requests without a valid token are counted by address', async (t) => {
  const hub = await testHub(t, { HUB_RATE_LIMIT_ADDRESS: '5', HUB_RATE_LIMIT_WINDOW: '3600' });
  const from = (remoteAddress: string) => ({ method: 'GET', url: '/health', token: null, remoteAddress }) as const;

  const { statuses, last } = await burst(hub, 3, from('203.0.113.7'));
  t.same(statuses, { 200: 3 });
  const badToken = await hub.request({ ...admin, token: 'not-a-token', remoteAddress: '203.0.113.7' });
  t.equal(badToken.statusCode, 401, 'a bad token is refused, and counted');
  t.equal(last.headers['ratelimit-remaining'], '2');
  t.equal((await hub.request(from('203.0.113.7'))).statusCode, 200, 'the fifth');
  assertProblem(t, await hub.request(from('203.0.113.7')));
  assertProblem(t, await hub.request({ ...admin, remoteAddress: '203.0.113.7' }));

  const token = await hub.app.inject({
    method: 'POST',
    url: '/oauth2/client/token',
    remoteAddress: '203.0.113.7',
    payload: 'grant_type=client_credentials&client_id=x&client_secret=y',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assertThrottledHeaders(t, token);
  t.match(token.headers['content-type'], /^application\/json/);
  t.equal(token.headers['cache-control'], 'no-store');
  t.match(token.json(), { error: 'temporarily_unavailable', error_description: String });

  const jwks = await hub.request({ method: 'GET', url: '/.well-known/jwks.json', token: null, remoteAddress: '203.0.113.7' });
  t.equal(jwks.statusCode, 429);

  // An IPv6 caller counts by its /64: another address in it shares the count, one outside it does not.
  await burst(hub, 5, from('2001:db8:1:2::1'));
  t.equal((await hub.request(from('2001:db8:1:2::ffff'))).statusCode, 429);
  t.equal((await hub.request(from('2001:db8:1:3::1'))).statusCode, 200);

  t.equal((await hub.request(from('198.51.100.1'))).statusCode, 200, 'another address is counted on its own');
  t.equal((await tokenRequest(hub, { grant_type: 'client_credentials' })).json().error, 'invalid_client', 'the token endpoint answers other addresses');
});

t.test('behind a proxy named in HUB_TRUST_PROXY, callers are counted by their forwarded address', async (t) => {
  const hub = await testHub(t, { HUB_RATE_LIMIT_ADDRESS: '2', HUB_RATE_LIMIT_WINDOW: '3600', HUB_TRUST_PROXY: '10.0.0.5' });
  const via = (remoteAddress: string, forwardedFor: string) =>
    hub.request({ method: 'GET', url: '/health', token: null, remoteAddress, headers: { 'x-forwarded-for': forwardedFor } });
  t.same([(await via('10.0.0.5', '203.0.113.1')).statusCode, (await via('10.0.0.5', '203.0.113.1')).statusCode], [200, 200]);
  t.equal((await via('10.0.0.5', '203.0.113.1')).statusCode, 429);
  t.equal((await via('10.0.0.5', '203.0.113.2')).statusCode, 200, 'another caller behind the same proxy');
  // A caller that is not the proxy cannot pick its address by writing the header.
  t.same([(await via('198.51.100.9', '203.0.113.3')).statusCode, (await via('198.51.100.9', '203.0.113.4')).statusCode], [200, 200]);
  t.equal((await via('198.51.100.9', '203.0.113.5')).statusCode, 429);
});

t.test('a limit of 0 is off', async (t) => {
  const hub = await testHub(t, { HUB_RATE_LIMIT: '0', HUB_RATE_LIMIT_ADDRESS: '0' });
  const { statuses, last } = await burst(hub, 50, admin);
  t.same(statuses, { 200: 50 });
  t.notOk(last.headers['ratelimit-limit']);
});
