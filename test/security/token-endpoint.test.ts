import { randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import t, { type Test } from 'tap';
import { testHub } from '../helpers/hub.js';
import {
  assertionForm,
  basicAuth,
  clientAssertion,
  clientKey,
  tokenRequest,
  TOKEN_PATH,
  type ClientKey,
} from '../helpers/oauth.js';

// One hub for the whole file: every subtest registers its own clients, so they do not interfere. The private_key_jwt
// cases fail one client many times over: the lockout (test/security/lockout.test.ts) would end them early.
const hub = await testHub(t, { HUB_AUTH_FAILURES: '0' });

/** Registers a client through the admin API; answers its id and secret (no token, unlike hub.client). */
async function register(scopes: string[], extra: Record<string, unknown> = {}) {
  const res = await hub.request({ method: 'POST', url: '/api/v1/clients', payload: { name: 'token test', scopes, ...extra } });
  if (res.statusCode !== 201) throw new Error(`client creation failed: ${res.statusCode} ${res.body}`);
  return { clientId: res.json().client_id as string, secret: res.json().client_secret as string };
}

/** A client authenticating by private_key_jwt with the given registered keys. */
async function jwtClient(keys: ClientKey[], scopes = ['registry:read']) {
  const clientId = `jwt-${randomUUID()}`;
  await register(scopes, { client_id: clientId, jwks: { keys: keys.map((k) => k.publicJwk) } });
  return clientId;
}

const grant = (clientId: string, secret: string, extra: Record<string, string> = {}) => ({
  grant_type: 'client_credentials',
  client_id: clientId,
  client_secret: secret,
  ...extra,
});

function assertOAuthError(t: Test, res: Awaited<ReturnType<typeof tokenRequest>>, status: number, error: string) {
  t.equal(res.statusCode, status, res.body);
  t.match(res.headers['content-type'], /^application\/json/);
  t.equal(res.json().error, error);
  t.type(res.json().error_description, 'string');
  t.equal(res.headers['cache-control'], 'no-store');
}

t.test('client_secret_post issues a bearer token (RFC 6749 §4.4, §5.1)', async (t) => {
  const { clientId, secret } = await register(['registry:read', 'registry:write']);
  const res = await tokenRequest(hub, grant(clientId, secret));
  t.equal(res.statusCode, 200, res.body);
  const body = res.json();
  t.type(body.access_token, 'string');
  t.equal(body.token_type, 'Bearer');
  t.type(body.expires_in, 'number');
  t.equal(body.expires_in, hub.config.tokenTtlSeconds);
  t.equal(body.scope, 'registry:read registry:write');
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.headers.pragma, 'no-cache');

  const claims = decodeJwt(body.access_token);
  t.equal(claims.sub, clientId);
  t.equal(claims.client_id, clientId);
  t.equal(claims.iss, hub.config.publicUrl);
  t.equal(claims.aud, hub.config.tokenAudience);
  t.equal(claims.scope, 'registry:read registry:write');
  t.equal(claims.exp! - claims.iat!, hub.config.tokenTtlSeconds);
  t.type(claims.jti, 'string');
  t.equal(decodeProtectedHeader(body.access_token).typ, 'at+jwt');

  const used = await hub.request({ method: 'GET', url: '/api/v1/individuals', token: body.access_token });
  t.equal(used.statusCode, 200, 'the token is accepted by a protected route');
});

t.test('client_secret_basic issues a token; ids are form-urlencoded inside Basic (RFC 6749 §2.3.1)', async (t) => {
  const { secret } = await register(['registry:read'], { client_id: 'svc:basic.one' });
  const res = await tokenRequest(hub, { grant_type: 'client_credentials' }, { authorization: basicAuth('svc:basic.one', secret) });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().token_type, 'Bearer');
  t.equal(res.json().scope, 'registry:read');
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(decodeJwt(res.json().access_token).sub, 'svc:basic.one');

  const sameId = await tokenRequest(
    hub,
    { grant_type: 'client_credentials', client_id: 'svc:basic.one' },
    { authorization: basicAuth('svc:basic.one', secret) },
  );
  t.equal(sameId.statusCode, 200, 'a client_id in the body that matches the header is fine');

  const otherId = await tokenRequest(
    hub,
    { grant_type: 'client_credentials', client_id: 'someone-else' },
    { authorization: basicAuth('svc:basic.one', secret) },
  );
  assertOAuthError(t, otherId, 400, 'invalid_request');
});

t.test('wrong secret or unknown client: 401 invalid_client with WWW-Authenticate (RFC 6749 §5.2)', async (t) => {
  const { clientId, secret } = await register(['registry:read']);
  const cases = {
    'wrong secret (post)': () => tokenRequest(hub, grant(clientId, `${secret}x`)),
    'unknown client (post)': () => tokenRequest(hub, grant('no-such-client', secret)),
    'wrong secret (basic)': () =>
      tokenRequest(hub, { grant_type: 'client_credentials' }, { authorization: basicAuth(clientId, 'not-the-secret') }),
    'unknown client (basic)': () =>
      tokenRequest(hub, { grant_type: 'client_credentials' }, { authorization: basicAuth('no-such-client', secret) }),
    'no client authentication at all': () => tokenRequest(hub, { grant_type: 'client_credentials' }),
    'Basic credentials without a colon': () =>
      tokenRequest(hub, { grant_type: 'client_credentials' }, { authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` }),
  };
  for (const [name, send] of Object.entries(cases)) {
    const res = await send();
    t.equal(res.statusCode, 401, `${name}: ${res.body}`);
    t.equal(res.json().error, 'invalid_client', name);
    t.match(res.headers['www-authenticate'], /^Basic realm=/, name);
    t.equal(res.headers['cache-control'], 'no-store', name);
    t.notOk(res.body.includes(secret), `${name}: the secret is not echoed`);
  }
});

t.test('request errors: missing grant_type, other grant types, two authentication methods', async (t) => {
  const { clientId, secret } = await register(['registry:read']);
  const noGrant = await tokenRequest(hub, { client_id: clientId, client_secret: secret });
  assertOAuthError(t, noGrant, 400, 'invalid_request');

  for (const grantType of ['password', 'authorization_code', 'refresh_token']) {
    const res = await tokenRequest(hub, grant(clientId, secret, { grant_type: grantType, username: 'u', password: 'p' }));
    assertOAuthError(t, res, 400, 'unsupported_grant_type');
  }

  const both = await tokenRequest(hub, grant(clientId, secret), { authorization: basicAuth(clientId, secret) });
  assertOAuthError(t, both, 400, 'invalid_request');

  const secretWithoutId = await tokenRequest(hub, { grant_type: 'client_credentials', client_secret: secret });
  assertOAuthError(t, secretWithoutId, 400, 'invalid_request');

  const emptyBody = await hub.app.inject({ method: 'POST', url: TOKEN_PATH });
  assertOAuthError(t, emptyBody, 400, 'invalid_request');
});

t.test('scope: a subset narrows the token, a scope the client lacks is invalid_scope', async (t) => {
  const { clientId, secret } = await register(['registry:read', 'registry:write']);

  const narrowed = await tokenRequest(hub, grant(clientId, secret, { scope: 'registry:read' }));
  t.equal(narrowed.statusCode, 200, narrowed.body);
  t.equal(narrowed.json().scope, 'registry:read');
  t.equal(decodeJwt(narrowed.json().access_token).scope, 'registry:read');
  const token = narrowed.json().access_token as string;
  const read = await hub.request({ method: 'GET', url: '/api/v1/individuals', token });
  t.equal(read.statusCode, 200);
  const write = await hub.request({
    method: 'POST',
    url: '/api/v1/individuals',
    token,
    payload: { given_name: 'A', family_name: 'B' },
  });
  t.equal(write.statusCode, 403, 'the narrowed token does not carry registry:write');

  const duplicated = await tokenRequest(hub, grant(clientId, secret, { scope: 'registry:read  registry:read' }));
  t.equal(duplicated.json().scope, 'registry:read', 'repeated scopes are granted once');

  const lacking = await tokenRequest(hub, grant(clientId, secret, { scope: 'registry:read audit:read' }));
  assertOAuthError(t, lacking, 400, 'invalid_scope');
  t.match(lacking.json().error_description, /audit:read/);
  t.notMatch(lacking.json().error_description, /registry:read/, 'only the refused scope is named');

  const adminAsked = await tokenRequest(hub, grant(clientId, secret, { scope: 'admin' }));
  assertOAuthError(t, adminAsked, 400, 'invalid_scope');
});

t.test('an admin client may ask for any known scope, but not for an unknown one', async (t) => {
  const { clientId, secret } = await register(['admin']);
  const narrowed = await tokenRequest(hub, grant(clientId, secret, { scope: 'audit:read' }));
  t.equal(narrowed.statusCode, 200, narrowed.body);
  t.equal(narrowed.json().scope, 'audit:read');
  const clients = await hub.request({ method: 'GET', url: '/api/v1/clients', token: narrowed.json().access_token });
  t.equal(clients.statusCode, 403, 'the narrowed admin token no longer manages clients');

  const unknown = await tokenRequest(hub, grant(clientId, secret, { scope: 'registry:reed' }));
  assertOAuthError(t, unknown, 400, 'invalid_scope');
});

t.test('a disabled client gets no token; re-enabled, it does again', async (t) => {
  const { clientId, secret } = await register(['registry:read']);
  const disabled = await hub.request({ method: 'POST', url: `/api/v1/clients/${clientId}/disable` });
  t.equal(disabled.statusCode, 200, disabled.body);
  const refused = await tokenRequest(hub, grant(clientId, secret));
  assertOAuthError(t, refused, 401, 'invalid_client');
  const basic = await tokenRequest(hub, { grant_type: 'client_credentials' }, { authorization: basicAuth(clientId, secret) });
  t.equal(basic.statusCode, 401);

  await hub.request({ method: 'POST', url: `/api/v1/clients/${clientId}/enable` });
  const again = await tokenRequest(hub, grant(clientId, secret));
  t.equal(again.statusCode, 200, again.body);
});

t.test('private_key_jwt (RFC 7523)', async (t) => {
  const es = await clientKey('ES256');
  const rs = await clientKey('RS256');
  const clientId = await jwtClient([es, rs], ['registry:read', 'audit:read']);

  t.test('an ES256 assertion with aud = token endpoint issues a token', async (t) => {
    const res = await tokenRequest(hub, assertionForm(await clientAssertion(hub, clientId, es)));
    t.equal(res.statusCode, 200, res.body);
    t.equal(res.json().token_type, 'Bearer');
    t.equal(res.json().scope, 'registry:read audit:read');
    t.equal(res.headers['cache-control'], 'no-store');
    t.equal(decodeJwt(res.json().access_token).sub, clientId);
    const used = await hub.request({ method: 'GET', url: '/api/v1/audit', token: res.json().access_token });
    t.equal(used.statusCode, 200);
  });

  t.test('an RS256 assertion, with client_id in the form and a narrower scope', async (t) => {
    const res = await tokenRequest(
      hub,
      assertionForm(await clientAssertion(hub, clientId, rs), { client_id: clientId, scope: 'registry:read' }),
    );
    t.equal(res.statusCode, 200, res.body);
    t.equal(res.json().scope, 'registry:read');
  });

  t.test('aud may also be the issuer identifier (RFC 7523 §3)', async (t) => {
    const res = await tokenRequest(hub, assertionForm(await clientAssertion(hub, clientId, es, { aud: hub.config.publicUrl })));
    t.equal(res.statusCode, 200, res.body);
  });

  t.test('replaying an assertion (same jti) is refused', async (t) => {
    const assertion = await clientAssertion(hub, clientId, es);
    t.equal((await tokenRequest(hub, assertionForm(assertion))).statusCode, 200);
    const replay = await tokenRequest(hub, assertionForm(assertion));
    assertOAuthError(t, replay, 401, 'invalid_client');
    t.match(replay.json().error_description, /jti/);

    const sameJti = await clientAssertion(hub, clientId, rs, { jti: decodeJwt(assertion).jti! });
    t.equal((await tokenRequest(hub, assertionForm(sameJti))).statusCode, 401, 'a new assertion reusing the jti too');
  });

  t.test('an assertion just past exp (within clock tolerance) still cannot be replayed', async (t) => {
    const exp = Math.floor(Date.now() / 1000) - 5;
    const assertion = await clientAssertion(hub, clientId, es, { exp });
    t.equal((await tokenRequest(hub, assertionForm(assertion))).statusCode, 200, 'accepted once, within the tolerance');
    const replay = await tokenRequest(hub, assertionForm(assertion));
    assertOAuthError(t, replay, 401, 'invalid_client');
  });

  t.test('the same jti from two different clients is two different assertions', async (t) => {
    const other = await clientKey('ES256');
    const otherId = await jwtClient([other]);
    const jti = randomUUID();
    t.equal((await tokenRequest(hub, assertionForm(await clientAssertion(hub, clientId, es, { jti })))).statusCode, 200);
    t.equal((await tokenRequest(hub, assertionForm(await clientAssertion(hub, otherId, other, { jti })))).statusCode, 200);
  });

  t.test('an assertion signed with an unregistered key is refused', async (t) => {
    const stranger = await clientKey('ES256', es.kid); // same kid, different key
    const res = await tokenRequest(hub, assertionForm(await clientAssertion(hub, clientId, stranger)));
    assertOAuthError(t, res, 401, 'invalid_client');
    const unknownKid = await clientKey('ES256');
    const res2 = await tokenRequest(hub, assertionForm(await clientAssertion(hub, clientId, unknownKid)));
    assertOAuthError(t, res2, 401, 'invalid_client');
  });

  t.test("an assertion naming this client but signed with another client's registered key is refused", async (t) => {
    const other = await clientKey('ES256');
    await jwtClient([other]);
    const res = await tokenRequest(hub, assertionForm(await clientAssertion(hub, clientId, other)));
    assertOAuthError(t, res, 401, 'invalid_client');
  });

  t.test('wrong aud, iss or sub is refused', async (t) => {
    const wrongAud = await clientAssertion(hub, clientId, es, { aud: 'https://elsewhere.example/oauth2/client/token' });
    assertOAuthError(t, await tokenRequest(hub, assertionForm(wrongAud)), 401, 'invalid_client');
    const wrongIss = await clientAssertion(hub, clientId, es, { iss: 'someone-else' });
    assertOAuthError(t, await tokenRequest(hub, assertionForm(wrongIss)), 401, 'invalid_client');
    const wrongSub = await clientAssertion(hub, clientId, es, { sub: 'bootstrap-admin' });
    assertOAuthError(t, await tokenRequest(hub, assertionForm(wrongSub)), 401, 'invalid_client');
    const otherClientId = await tokenRequest(
      hub,
      assertionForm(await clientAssertion(hub, clientId, es), { client_id: 'bootstrap-admin' }),
    );
    assertOAuthError(t, otherClientId, 401, 'invalid_client');
  });

  t.test('exp and jti are required; exp too far ahead and expired assertions are refused', async (t) => {
    const now = Math.floor(Date.now() / 1000);
    const noExp = await clientAssertion(hub, clientId, es, { exp: null });
    assertOAuthError(t, await tokenRequest(hub, assertionForm(noExp)), 401, 'invalid_client');
    const noJti = await clientAssertion(hub, clientId, es, { jti: null });
    assertOAuthError(t, await tokenRequest(hub, assertionForm(noJti)), 401, 'invalid_client');
    const farAhead = await clientAssertion(hub, clientId, es, { exp: now + 3600 });
    assertOAuthError(t, await tokenRequest(hub, assertionForm(farAhead)), 401, 'invalid_client');
    const expired = await clientAssertion(hub, clientId, es, { exp: now - 120 });
    assertOAuthError(t, await tokenRequest(hub, assertionForm(expired)), 401, 'invalid_client');
  });

  t.test('malformed assertions, unsigned assertions and a wrong assertion type', async (t) => {
    assertOAuthError(t, await tokenRequest(hub, assertionForm('not-a-jwt')), 401, 'invalid_client');
    const unsigned = new UnsecuredJWT({})
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(`${hub.config.publicUrl}${TOKEN_PATH}`)
      .setExpirationTime('1m')
      .setJti(randomUUID())
      .encode();
    assertOAuthError(t, await tokenRequest(hub, assertionForm(unsigned)), 401, 'invalid_client');
    const hmac = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(`${hub.config.publicUrl}${TOKEN_PATH}`)
      .setExpirationTime('1m')
      .setJti(randomUUID())
      .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!'));
    assertOAuthError(t, await tokenRequest(hub, assertionForm(hmac)), 401, 'invalid_client');
    const wrongType = await tokenRequest(
      hub,
      assertionForm(await clientAssertion(hub, clientId, es), { client_assertion_type: 'urn:example:other' }),
    );
    assertOAuthError(t, wrongType, 400, 'invalid_request');
  });

  t.test('a client with no registered keys cannot use private_key_jwt', async (t) => {
    const { clientId: plain } = await register(['registry:read']);
    const res = await tokenRequest(hub, assertionForm(await clientAssertion(hub, plain, es)));
    assertOAuthError(t, res, 401, 'invalid_client');
  });

  t.test('a disabled client gets no token by assertion', async (t) => {
    const key = await clientKey('ES256');
    const id = await jwtClient([key]);
    await hub.request({ method: 'POST', url: `/api/v1/clients/${id}/disable` });
    const res = await tokenRequest(hub, assertionForm(await clientAssertion(hub, id, key)));
    assertOAuthError(t, res, 401, 'invalid_client');
  });
});

t.test('registering a client JWKS', async (t) => {
  t.test('a private key (with "d") is refused with 422', async (t) => {
    const key = await clientKey('ES256');
    const privateJwk = { ...(await exportJWK(key.privateKey)), kid: key.kid, alg: 'ES256' };
    t.ok('d' in privateJwk);
    const res = await hub.request({
      method: 'POST',
      url: '/api/v1/clients',
      payload: { name: 'leaky', scopes: ['registry:read'], jwks: { keys: [privateJwk] } },
    });
    t.equal(res.statusCode, 422, res.body);
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.equal(res.json().errors[0].pointer, '/jwks/keys/0');
    t.notOk(res.body.includes(String(privateJwk.d)), 'the private part is not echoed back');
  });

  t.test('a symmetric key and a key that does not import are refused with 422', async (t) => {
    for (const jwk of [
      { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0', alg: 'HS256' },
      { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'BBBB' },
    ]) {
      const res = await hub.request({
        method: 'POST',
        url: '/api/v1/clients',
        payload: { name: 'bad key', scopes: ['registry:read'], jwks: { keys: [jwk] } },
      });
      t.equal(res.statusCode, 422, res.body);
    }
  });

  t.test('the registered public keys are returned with the client', async (t) => {
    const key = await clientKey('RS256');
    const id = await jwtClient([key]);
    const res = await hub.request({ method: 'GET', url: `/api/v1/clients/${id}` });
    t.equal(res.json().jwks.keys[0].kid, key.kid);
    t.equal(res.json().jwks.keys[0].n, key.publicJwk.n);
  });
});
