import { setTimeout as sleep } from 'node:timers/promises';
import { generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey } from 'jose';
import t, { type Test } from 'tap';
import { KeyStore, keyStoreOptions, type SigningKey } from '../../src/security/keys.js';
import { testHub } from '../helpers/hub.js';

// One hub for the file; subtests that change state (disable a client) use their own clients.
const hub = await testHub(t);
const hubKey: SigningKey = await new KeyStore(hub.database.db, keyStoreOptions(hub.config)).signingKey();

interface Forged {
  iss?: string;
  aud?: string;
  sub?: string;
  scope?: string;
  /** Seconds since the epoch. */
  exp?: number;
  iat?: number;
  typ?: string;
  kid?: string;
}

/** Signs an access token the way the hub does, with any claim overridden, using the given key. */
function forge(key: CryptoKey, alg: string, claims: Forged = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: claims.scope ?? 'admin', client_id: claims.sub ?? 'bootstrap-admin' })
    .setProtectedHeader({ alg, kid: claims.kid ?? hubKey.kid, typ: claims.typ ?? 'at+jwt' })
    .setIssuer(claims.iss ?? hub.config.publicUrl)
    .setSubject(claims.sub ?? 'bootstrap-admin')
    .setAudience(claims.aud ?? hub.config.tokenAudience)
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 300)
    .setJti('forged')
    .sign(key);
}

const protectedGet = (token: string | null, url = '/api/v1/clients') => hub.request({ method: 'GET', url, token });

function assertRejected(t: Test, res: Awaited<ReturnType<typeof protectedGet>>, why: RegExp) {
  t.equal(res.statusCode, 401, res.body);
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.match(res.headers['www-authenticate'], /^Bearer realm="convergence-hub", error="invalid_token"/);
  t.match(res.json().detail, why);
}

t.test('a valid token opens a protected route', async (t) => {
  const res = await protectedGet(hub.adminToken);
  t.equal(res.statusCode, 200, res.body);
  t.ok(res.json().items.some((c: { client_id: string }) => c.client_id === 'bootstrap-admin'));
  const selfSigned = await protectedGet(await forge(hubKey.key, hubKey.alg));
  t.equal(selfSigned.statusCode, 200, 'a token signed here with the hub key is accepted too (the forge helper is faithful)');
});

t.test('no token, or not a bearer token: 401 with a Bearer challenge', async (t) => {
  for (const authorization of [undefined, 'Basic YWxpY2U6c2VjcmV0', 'Bearer', 'Bearer a b', `bearer${hub.adminToken}`]) {
    const res = await hub.request({
      method: 'GET',
      url: '/api/v1/clients',
      token: null,
      headers: authorization === undefined ? {} : { authorization },
    });
    t.equal(res.statusCode, 401, `${authorization}: ${res.body}`);
    t.equal(
      res.headers['www-authenticate'],
      authorization === undefined
        ? 'Bearer realm="convergence-hub"'
        : 'Bearer realm="convergence-hub", error="invalid_request", error_description="expected Authorization: Bearer <token>"',
      'no error code without credentials; invalid_request for a malformed header (RFC 6750 §3.1)',
    );
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  }
  const lowercase = await hub.request({ method: 'GET', url: '/api/v1/clients', token: null, headers: { authorization: `bearer ${hub.adminToken}` } });
  t.equal(lowercase.statusCode, 200, 'the scheme name is case-insensitive');
});

t.test('an expired token is refused', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const expired = await forge(hubKey.key, hubKey.alg, { iat: now - 1000, exp: now - 120 });
  assertRejected(t, await protectedGet(expired), /expired/);
});

t.test('a token signed by a foreign key with the hub kid is refused', async (t) => {
  const { privateKey } = await generateKeyPair('ES256');
  assertRejected(t, await protectedGet(await forge(privateKey, 'ES256')), /signature/);
});

t.test('a token naming an unknown kid, or none, is refused', async (t) => {
  const { privateKey } = await generateKeyPair('ES256');
  assertRejected(t, await protectedGet(await forge(privateKey, 'ES256', { kid: 'someone-elses-key' })), /not signed by this hub/);
  const noKid = await new SignJWT({ scope: 'admin' })
    .setProtectedHeader({ alg: hubKey.alg, typ: 'at+jwt' })
    .setIssuer(hub.config.publicUrl)
    .setSubject('bootstrap-admin')
    .setAudience(hub.config.tokenAudience)
    .setExpirationTime('5m')
    .sign(hubKey.key);
  assertRejected(t, await protectedGet(noKid), /not signed by this hub/);
});

t.test('wrong audience or issuer is refused even with the hub key', async (t) => {
  assertRejected(t, await protectedGet(await forge(hubKey.key, hubKey.alg, { aud: 'https://other.example' })), /aud/);
  assertRejected(t, await protectedGet(await forge(hubKey.key, hubKey.alg, { iss: 'https://other.example' })), /iss/);
});

t.test('a token of another type (typ) is refused: a client assertion is not an access token', async (t) => {
  assertRejected(t, await protectedGet(await forge(hubKey.key, hubKey.alg, { typ: 'JWT' })), /typ/);
});

t.test('a tampered payload or an unsigned token is refused', async (t) => {
  const [header, payload, signature] = hub.adminToken.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  const elevated = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else', exp: claims.exp + 3600 })).toString('base64url');
  assertRejected(t, await protectedGet(`${header}.${elevated}.${signature}`), /signature/);
  assertRejected(t, await protectedGet(`${header}.${payload}.${signature.slice(0, -4)}AAAA`), /signature|malformed/);

  const unsigned = new UnsecuredJWT({ scope: 'admin' })
    .setIssuer(hub.config.publicUrl)
    .setSubject('bootstrap-admin')
    .setAudience(hub.config.tokenAudience)
    .setExpirationTime('5m')
    .encode();
  assertRejected(t, await protectedGet(unsigned), /./);
  assertRejected(t, await protectedGet('not.a.jwt'), /malformed/);
});

t.test('a token for a client that does not exist is refused', async (t) => {
  assertRejected(t, await protectedGet(await forge(hubKey.key, hubKey.alg, { sub: 'never-registered' })), /disabled/);
});

t.test('scope: 403 insufficient_scope, checked before the body is validated', async (t) => {
  const reader = await hub.client(['registry:read']);
  const read = await hub.request({ method: 'GET', url: '/api/v1/individuals', token: reader.token });
  t.equal(read.statusCode, 200, read.body);

  const valid = await hub.request({
    method: 'POST',
    url: '/api/v1/individuals',
    token: reader.token,
    payload: { given_name: 'Aline', family_name: 'Uwase' },
  });
  t.equal(valid.statusCode, 403, valid.body);
  t.equal(valid.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.equal(
    valid.headers['www-authenticate'],
    'Bearer realm="convergence-hub", error="insufficient_scope", error_description="requires registry:write", scope="registry:write"',
  );

  const invalid = await hub.request({
    method: 'POST',
    url: '/api/v1/individuals',
    token: reader.token,
    payload: { no_such_field: true },
  });
  t.equal(invalid.statusCode, 403, 'scope is checked before validation');
  t.match(invalid.headers['www-authenticate'], /error="insufficient_scope"/);
  t.notOk(invalid.json().errors, 'nothing about the payload rules is revealed');

  const adminOnly = await hub.request({ method: 'GET', url: '/api/v1/clients', token: reader.token });
  t.equal(adminOnly.statusCode, 403, 'routes without a named scope need admin');
  t.match(adminOnly.headers['www-authenticate'], /scope="admin"/);

  const list = await hub.request({ method: 'GET', url: '/api/v1/individuals', token: reader.token });
  t.equal(list.statusCode, 200, 'the token keeps working for what it may do');
});

t.test('a token with a forged scope claim is still bound by its signature', async (t) => {
  const reader = await hub.client(['registry:read']);
  const [header, payload, signature] = reader.token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url');
  assertRejected(t, await protectedGet(`${header}.${widened}.${signature}`), /signature/);
});

t.test('admin holds every scope', async (t) => {
  for (const url of ['/api/v1/individuals', '/api/v1/groups', '/api/v1/locations', '/api/v1/audit', '/api/v1/audit/verify', '/api/v1/clients']) {
    const res = await hub.request({ method: 'GET', url });
    t.equal(res.statusCode, 200, `${url}: ${res.body}`);
  }
  const write = await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'Eric', family_name: 'Hakizimana' } });
  t.equal(write.statusCode, 201, write.body);
});

t.test("a disabled client's outstanding token stops working once the status cache expires", async (t) => {
  const client = await hub.client(['registry:read']);
  const before = await hub.request({ method: 'GET', url: '/api/v1/individuals', token: client.token });
  t.equal(before.statusCode, 200);
  const disabled = await hub.request({ method: 'POST', url: `/api/v1/clients/${client.clientId}/disable` });
  t.equal(disabled.statusCode, 200, disabled.body);
  await sleep(5_500); // the auth hook trusts a client found enabled for 5 s
  const after = await hub.request({ method: 'GET', url: '/api/v1/individuals', token: client.token });
  t.equal(after.statusCode, 401, after.body);
  t.match(after.headers['www-authenticate'], /error="invalid_token"/);
  t.match(after.json().detail, /disabled/);

  await hub.request({ method: 'POST', url: `/api/v1/clients/${client.clientId}/enable` });
  const again = await hub.request({ method: 'GET', url: '/api/v1/individuals', token: client.token });
  t.equal(again.statusCode, 200, 're-enabled: the same (unexpired) token works again at once');
});

t.test('public routes need no token, and ignore a bad one', async (t) => {
  for (const url of ['/health', '/ready', '/.well-known/jwks.json', '/openapi.json', '/docs', '/docs/']) {
    const none = await hub.request({ method: 'GET', url, token: null });
    t.ok(none.statusCode >= 200 && none.statusCode < 400, `${url} without a token: ${none.statusCode}`);
    t.notOk(none.headers['www-authenticate'], `${url} sends no challenge`);
    const bad = await hub.request({ method: 'GET', url, token: 'garbage' });
    t.equal(bad.statusCode, none.statusCode, `${url} with a bad token answers the same`);
  }
  const token = await hub.request({ method: 'POST', url: '/oauth2/client/token', token: null, payload: 'grant_type=client_credentials', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(token.statusCode, 401, 'the token endpoint is reachable without a bearer token (it answers OAuth errors itself)');
  t.equal(token.json().error, 'invalid_client');
});

t.test('an unknown route answers 404, not 401', async (t) => {
  const res = await hub.request({ method: 'GET', url: '/api/v1/nothing-here', token: null });
  t.equal(res.statusCode, 404);
});
