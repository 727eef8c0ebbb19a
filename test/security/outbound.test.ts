import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import t from 'tap';
import { eq } from 'drizzle-orm';
import { loadConfig } from '../../src/config.js';
import { clients } from '../../src/db/schema/index.js';
import { remoteJwks } from '../../src/dci/signatures.js';
import { configureOutbound, OutboundPolicy, type Resolve } from '../../src/security/outbound.js';
import { ENV, expectAck, transactionRow } from '../helpers/dci-async.js';
import { header, registerPartner, searchItem, searchMessage, send } from '../helpers/dci.js';
import { fakePartner } from '../helpers/fake-partner.js';
import { testHub } from '../helpers/hub.js';

/** The forms an attacker uses to reach the metadata service, the internal network or this machine. */
const FORBIDDEN = [
  'http://169.254.169.254/latest/meta-data/',
  'http://10.0.0.1/',
  'http://172.16.5.4/',
  'http://192.168.1.1/',
  'http://100.64.0.1/',
  'http://100.100.100.200/latest/meta-data/',
  'http://127.0.0.1:9/',
  'http://[::1]:8080/',
  'http://0x7f000001:8080/',
  'http://2130706433/',
  'http://0177.0.0.1/',
  'http://127.1/',
  'http://[::ffff:127.0.0.1]/',
  'http://[::ffff:a9fe:a9fe]/',
  'http://[fd00:ec2::254]/',
  'http://[fe80::1]/',
  'http://0.0.0.0/',
  'http://[::]/',
  'http://255.255.255.255/',
  'http://224.0.0.1/',
  'http://localhost:8080/',
  'http://localhost./',
  'http://api.localhost/',
  'https://user:pass@127.0.0.1/',
  'https://user:pass@partner.example.org/',
  'https://token@partner.example.org/',
  'file:///etc/passwd',
  'gopher://partner.example.org:70/_x',
  'ftp://partner.example.org/',
  'not a url',
];

const REFUSED = { name: 'OutboundUrlError' };

interface Teardown {
  teardown(fn: () => unknown): void;
}

const names = (table: Record<string, string>): Resolve => async (hostname) => {
  const address = table[hostname];
  if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return [{ address, family: address.includes(':') ? 6 : 4 }];
};

async function server(t: Teardown, handler: http.RequestListener) {
  const hits: string[] = [];
  const srv = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => srv.close(() => resolve())));
  return { port: (srv.address() as AddressInfo).port, hits };
}

t.test('parse: every SSRF form is refused, whatever the host literal looks like', async (t) => {
  const policy = new OutboundPolicy({ allowHttp: true, allowHosts: [] });
  for (const url of FORBIDDEN) t.throws(() => policy.parse(url), REFUSED, url);
  t.throws(() => policy.parse('http://0x7f000001:8080/'), { message: '127.0.0.1 (loopback) is not an address the hub calls' });
  t.throws(() => policy.parse('http://[::ffff:a9fe:a9fe]/'), { message: /^169\.254\.169\.254 \(link-local\)/ }, 'IPv4-mapped IPv6 is checked as the IPv4 address');
  t.throws(() => policy.parse('https://user:pass@partner.example.org/'), { message: /credentials/ });
  t.equal(policy.parse('http://partner.example.org/cb').host, 'partner.example.org');
  t.equal(policy.parse('https://93.184.216.34/cb').host, '93.184.216.34', 'a public address is fine');
  t.equal(policy.parse('https://[2606:4700::1111]/').hostname, '[2606:4700::1111]');
});

t.test('https only unless allowHttp; allowHosts opens named hosts, addresses and ranges', async (t) => {
  const strict = new OutboundPolicy({ allowHttp: false, allowHosts: [] });
  t.throws(() => strict.parse('http://partner.example.org/'), { message: 'must be an https URL' });
  t.ok(strict.parse('https://partner.example.org/'));
  const internal = new OutboundPolicy({ allowHttp: false, allowHosts: ['10.20.0.0/16', '::1', 'registry.internal', '127.0.0.1'] });
  t.ok(internal.parse('https://10.20.3.4/'));
  t.throws(() => internal.parse('https://10.21.0.1/'), REFUSED, 'outside the allowed range');
  t.ok(internal.parse('https://[::1]:8443/'));
  t.ok(internal.parse('https://0x7f000001/'), 'an allowed address in another spelling');
  t.ok(internal.parse('https://REGISTRY.internal./'));
  t.throws(() => internal.parse('https://user:pw@10.20.3.4/'), { message: /credentials/ }, 'credentials are refused even for allowed hosts');
  t.throws(() => internal.parse('https://169.254.169.254/'), REFUSED);
});

t.test('check: a host name that resolves to a forbidden address is refused at registration', async (t) => {
  const policy = new OutboundPolicy(
    { allowHttp: false, allowHosts: [] },
    names({ 'rebind.example.org': '127.0.0.1', 'meta.example.org': '169.254.169.254', 'v6.example.org': 'fd00::1', 'partner.example.org': '93.184.216.34' }),
  );
  await t.rejects(policy.check('https://rebind.example.org/cb'), { message: 'rebind.example.org resolves to 127.0.0.1 (loopback), not an address the hub calls' });
  await t.rejects(policy.check('https://meta.example.org/'), { message: /169\.254\.169\.254 \(link-local\)/ });
  await t.rejects(policy.check('https://v6.example.org/'), { message: /fd00::1 \(private/ });
  t.ok(await policy.check('https://partner.example.org/cb'));
  t.ok(await policy.check('https://not-yet.example.org/cb'), 'a name that does not resolve yet passes: each connection checks again');
});

t.test('connect time: the address connected to is checked, so DNS rebinding after registration is refused', async (t) => {
  const target = await server(t, (_req, res) => res.end('internal'));
  let answer = '93.184.216.34';
  const policy = new OutboundPolicy({ allowHttp: true, allowHosts: [] }, async () => [{ address: answer, family: 4 }]);
  const url = `http://partner.example.org:${target.port}/secret`;
  t.ok(await policy.check(url), 'public at registration');
  answer = '127.0.0.1';
  const err = await policy.fetch(url).then(() => undefined, (e: Error) => e);
  t.ok(err, 'the call fails');
  t.match((err as Error).cause, { message: 'partner.example.org resolves to 127.0.0.1 (loopback): not connecting' });
  t.same(target.hits, [], 'nothing reached the internal server');

  // A client that uses the global fetch (fhir-kit-client) with the policy's dispatcher is checked the same way,
  // for literal addresses too (no name to look up).
  const literal = await fetch(new Request(`http://127.0.0.1:${target.port}/x`, { dispatcher: policy.dispatcher } as RequestInit)).then(() => undefined, (e: Error) => e);
  t.match(literal?.cause, { message: '127.0.0.1 (loopback): not connecting' });
  t.same(target.hits, []);

  const allowed = new OutboundPolicy({ allowHttp: true, allowHosts: ['127.0.0.1'] }, async () => [{ address: '127.0.0.1', family: 4 }]);
  const res = await allowed.fetch(url);
  t.equal(await res.text(), 'internal', 'allow-listed addresses connect');
  t.same(target.hits, ['/secret']);
});

t.test('redirects are not followed', async (t) => {
  const target = await server(t, (req, res) => {
    if (req.url === '/start') res.writeHead(302, { location: '/landed' }).end();
    else res.end('landed');
  });
  const policy = new OutboundPolicy({ allowHttp: true, allowHosts: ['127.0.0.1'] });
  const res = await policy.fetch(`http://127.0.0.1:${target.port}/start`, { redirect: 'follow' });
  t.equal(res.status, 302, 'the redirect is the answer, whatever the caller asked');
  await res.arrayBuffer();
  t.same(target.hits, ['/start'], 'the Location was never requested');
});

t.test('partner key sets (jose remote JWKS) are fetched through the policy', async (t) => {
  const { publicKey } = await generateKeyPair('ES256');
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] };
  const target = await server(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks)));
  t.teardown(() => configureOutbound({ allowHttp: true, allowHosts: ['127.0.0.1'] }));
  configureOutbound({ allowHttp: true, allowHosts: [] });
  t.equal(await remoteJwks(`http://127.0.0.1:${target.port}/refused.json`), undefined);
  t.same(target.hits, []);
  configureOutbound({ allowHttp: true, allowHosts: ['127.0.0.1'] });
  t.same((await remoteJwks(`http://127.0.0.1:${target.port}/allowed.json`))?.keys.map((k) => k.kid), ['k1']);
  t.same(target.hits, ['/allowed.json']);
});

t.test('configuration: every outbound URL is checked at start, naming the variable', async (t) => {
  const registry = (base_url: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify([{ name: 'cr', kind: 'fhir', base_url, ...extra }]);
  t.throws(() => loadConfig({ HUB_REGISTRIES: registry('http://169.254.169.254/fhir'), HUB_OUTBOUND_ALLOW_HTTP: 'true' }), {
    variable: 'HUB_REGISTRIES',
    message: 'HUB_REGISTRIES: registry "cr": base_url 169.254.169.254 (link-local) is not an address the hub calls',
  });
  t.throws(() => loadConfig({ HUB_REGISTRIES: registry('http://cr.example.org/fhir') }), { variable: 'HUB_REGISTRIES', message: /base_url must be an https URL/ });
  t.throws(() => loadConfig({ HUB_REGISTRIES: registry('https://cr.example.org/fhir', { jwks_url: 'https://u:p@cr.example.org/jwks' }) }), { message: /jwks_url must not carry credentials/ });
  t.throws(
    () => loadConfig({ HUB_REGISTRIES: registry('https://cr.example.org/fhir', { auth: { token_url: 'https://[::1]/token', client_id: 'hub', client_secret: 's' } }) }),
    { message: /auth\.token_url ::1 \(loopback\)/ },
  );
  const gateway = (base_url: string) =>
    JSON.stringify({ bank: { adapter: 'dci-disburse', base_url, jwks_url: 'https://bank.example.org/jwks', payer_fa: 'account:123@bank', payee_fa: { identifier_type: 'MOBILE_MONEY' } } });
  t.throws(() => loadConfig({ HUB_PAYMENT_GATEWAYS: gateway('https://10.0.0.1/') }), { variable: 'HUB_PAYMENT_GATEWAYS', message: /gateway "bank": base_url 10\.0\.0\.1 \(private\)/ });
  t.equal(loadConfig({ HUB_PAYMENT_GATEWAYS: gateway('https://bank.example.org/') }).paymentGateways.bank!.adapter, 'dci-disburse');
  t.same(loadConfig({ HUB_PAYMENT_GATEWAYS: gateway('https://10.0.0.1/'), HUB_OUTBOUND_ALLOW_HOSTS: '10.0.0.0/8' }).outbound, { allowHttp: false, allowHosts: ['10.0.0.0/8'] });
  t.throws(() => loadConfig({ HUB_OUTBOUND_ALLOW_HOSTS: '10.0.0.0/8, not a host' }), { variable: 'HUB_OUTBOUND_ALLOW_HOSTS', message: /"not a host" is not a host name/ });
  t.throws(() => loadConfig({ HUB_OUTBOUND_ALLOW_HTTP: 'yes' }), { variable: 'HUB_OUTBOUND_ALLOW_HTTP', message: /expected one of true, false/ });
  t.same(loadConfig({}).outbound, { allowHttp: false, allowHosts: [] }, 'https to public addresses only by default');
});

t.test('admin API: a client\'s callback_url and jwks_url are refused with a problem naming the field', async (t) => {
  // A hub that allows http (so the address checks are what refuses) but no internal host.
  const hub = await testHub(t, { HUB_OUTBOUND_ALLOW_HOSTS: '' });
  const create = (dci: Record<string, unknown>) =>
    hub.request({ method: 'POST', url: '/api/v1/clients', payload: { name: 'partner', scopes: ['dci:search'], dci } });
  for (const url of FORBIDDEN.filter((u) => /^https?:\/\//.test(u))) {
    for (const key of ['callback_url', 'jwks_url']) {
      const res = await create({ [key]: url });
      t.equal(res.statusCode, 422, `${key} ${url}`);
      t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
      t.match(res.json().errors, [{ pointer: `/dci/${key}` }], `${key} ${url} names the field`);
    }
  }
  const partner = await create({ callback_url: 'https://partner.example.org/dci' });
  t.equal(partner.statusCode, 201, partner.body);
  const patch = await hub.request({ method: 'PATCH', url: `/api/v1/clients/${partner.json().client_id}`, payload: { dci: { jwks_url: 'http://0x7f000001:8080/jwks' } } });
  t.equal(patch.statusCode, 422);
  t.match(patch.json(), { errors: [{ pointer: '/dci/jwks_url', detail: 'dci.jwks_url: 127.0.0.1 (loopback) is not an address the hub calls' }] });
  const unchanged = await hub.request({ method: 'GET', url: `/api/v1/clients/${partner.json().client_id}` });
  t.equal(unchanged.json().dci.jwks_url, null, 'nothing was changed');
});

t.test('admin API: with 127.0.0.1 allowed (as in the tests), a local partner registers', async (t) => {
  const hub = await testHub(t);
  const res = await hub.request({
    method: 'POST',
    url: '/api/v1/clients',
    payload: { name: 'local', scopes: ['dci:search'], dci: { callback_url: 'http://127.0.0.1:9/dci', jwks_url: 'http://0x7f000001:9/jwks' } },
  });
  t.equal(res.statusCode, 201, res.body);
  const refused = await hub.request({ method: 'POST', url: '/api/v1/clients', payload: { name: 'meta', scopes: ['dci:search'], dci: { callback_url: 'http://169.254.169.254/' } } });
  t.equal(refused.statusCode, 422, 'only the allowed address is opened');
});

t.test('callbacks: a callback URL that points inside (stored before these checks) is refused when connecting', async (t) => {
  const hub = await testHub(t, { ...ENV, DCI_CALLBACK_RETRIES: '0', HUB_OUTBOUND_ALLOW_HOSTS: '' });
  const partnerServer = await fakePartner(t);
  const partner = await registerPartner(hub);
  await hub.database.db.update(clients).set({ dciCallbackUrl: partnerServer.base }).where(eq(clients.clientId, partner.clientId));
  const search = { header: header(partner), message: searchMessage([searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'NONE' } })]) };
  const ack = expectAck(t, await send(hub, partner, '/registry/search', search));
  let row = await transactionRow(hub, ack);
  for (let i = 0; i < 600 && row.callbackStatus !== 'failed'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    row = await transactionRow(hub, ack);
  }
  t.equal(row.callbackStatus, 'failed');
  t.match(row.callbackError, /127\.0\.0\.1 \(loopback\)/);
  t.same(partnerServer.received, [], 'the internal address was never reached');
});
