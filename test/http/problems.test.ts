import t from 'tap';
import { testHub } from '../helpers/hub.js';
import { create, expectProblem } from '../helpers/registry.js';

/** RFC 9457 problem details: every error the admin API gives, whatever its source (Ajv, Fastify, domain, database). */

const hub = await testHub(t, { HUB_BODY_LIMIT: '2048' });
const TYPE = /^urn:convergence-hub:problem:[a-z_-]+$/;
const encodedCursor = (key: string) => Buffer.from(JSON.stringify({ k: key })).toString('base64url');

t.test('body validation: errors[] carry JSON pointers', async (t) => {
  const missing = await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { family_name: 'Only' } });
  const body = expectProblem(t, missing, 400);
  t.match(body, { type: 'urn:convergence-hub:problem:validation', title: 'Bad Request', instance: '/api/v1/individuals' });
  t.same(body.errors, [{ pointer: '/given_name', detail: "must have required property 'given_name'" }]);

  const unknown = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'A', family_name: 'B', nickname: 'C' } }), 400);
  t.same(unknown.errors, [{ pointer: '/nickname', detail: 'unknown property' }], 'an unknown property is rejected, not dropped');

  const nested = expectProblem(t, await hub.request({
    method: 'POST',
    url: '/api/v1/individuals',
    payload: { given_name: 'A', family_name: 'B', identifiers: [{ type: 'NIN', value: '1' }, { type: 'NIN' }] },
  }), 400);
  t.same(nested.errors?.map((e) => e.pointer), ['/identifiers/1/value'], 'pointers reach into arrays');

  const several = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { sex: 'male', extra: true } }), 400);
  t.same(several.errors?.map((e) => e.pointer).sort(), ['/extra', '/family_name', '/given_name'], 'every error is reported, not only the first');

  const escaped = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'A', family_name: 'B', attributes: { 'a/b~c': 1 } } }), 400);
  t.same(escaped.errors?.map((e) => e.pointer), ['/attributes/a~1b~0c'], 'property names are escaped as RFC 6901 requires');

  const root = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: [1, 2] }), 400);
  t.same(root.errors?.map((e) => e.pointer), ['/'], 'a body that is not an object points at the root');

  const inline = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/groups', payload: { members: [{ role: 'head', individual: { given_name: 'A' } }] } }), 400);
  t.same(inline.errors?.map((e) => e.pointer), ['/members/0/individual/family_name']);
});

t.test('query and path parameter validation: errors[] name the parameter', async (t) => {
  const zero = expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/individuals?limit=0' }), 400);
  t.same(zero.errors, [{ parameter: 'limit', detail: 'must be >= 1' }]);
  t.equal(zero.instance, '/api/v1/individuals?limit=0');
  const word = expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/groups?limit=ten' }), 400);
  t.same(word.errors?.map((e) => e.parameter), ['limit']);
  const big = expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/locations?limit=501' }), 400);
  t.same(big.errors?.map((e) => e.parameter), ['limit']);
  const date = expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/individuals?birth_date_to=31/12/2000' }), 400);
  t.same(date.errors?.map((e) => e.parameter), ['birth_date_to']);
  const id = expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/groups/123' }), 400);
  t.same(id.errors?.map((e) => e.parameter), ['id']);
  t.notOk(zero.errors?.some((e) => 'pointer' in e), 'query errors carry no body pointer');
});

t.test('bad cursors are 400', async (t) => {
  const garbage = expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/individuals?cursor=%40%40not-a-cursor' }), 400);
  t.same(garbage.errors, [{ parameter: 'cursor', detail: 'malformed cursor' }]);
  const notJson = Buffer.from('not json').toString('base64url');
  t.same(expectProblem(t, await hub.request({ method: 'GET', url: `/api/v1/groups?cursor=${notJson}` }), 400).errors?.map((e) => e.parameter), ['cursor']);
  const wrongShape = Buffer.from(JSON.stringify({ key: 'x' })).toString('base64url');
  expectProblem(t, await hub.request({ method: 'GET', url: `/api/v1/locations?cursor=${wrongShape}` }), 400, 'a cursor without its key');
  expectProblem(t, await hub.request({ method: 'GET', url: `/api/v1/individuals?cursor=${encodedCursor('not-a-uuid')}` }), 400, 'a forged key');
  expectProblem(t, await hub.request({ method: 'GET', url: `/api/v1/audit?cursor=${encodedCursor('abc')}` }), 400, 'a forged audit cursor');
  const fine = await hub.request({ method: 'GET', url: `/api/v1/individuals?cursor=${encodedCursor('00000000-0000-4000-8000-000000000000')}` });
  t.equal(fine.statusCode, 200, 'a well-formed cursor is accepted');
});

t.test('malformed and unacceptable bodies', async (t) => {
  const json = (payload: string) =>
    hub.request({ method: 'POST', url: '/api/v1/individuals', payload, headers: { 'content-type': 'application/json' } });
  t.match(expectProblem(t, await json('{"given_name": "A", '), 400), { type: TYPE, title: 'Bad Request' });
  expectProblem(t, await json(''), 400, 'an empty JSON body');
  const patchEmpty = await hub.request({ method: 'PATCH', url: '/api/v1/individuals/00000000-0000-4000-8000-000000000000', payload: '{', headers: { 'content-type': 'application/json', 'if-match': '"1"' } });
  expectProblem(t, patchEmpty, 400, 'malformed JSON on PATCH');
  const form = await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: 'given_name=A&family_name=B', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(expectProblem(t, form, 415).title, 'Unsupported Media Type');
});

t.test('a body over HUB_BODY_LIMIT is 413; one under it is accepted', async (t) => {
  t.equal(hub.config.bodyLimitBytes, 2048);
  const large = await hub.request({
    method: 'POST',
    url: '/api/v1/individuals',
    payload: { given_name: 'Big', family_name: 'Body', attributes: { notes: 'x'.repeat(3000) } },
  });
  t.match(expectProblem(t, large, 413), { title: 'Content Too Large', type: TYPE });
  const small = await hub.request({
    method: 'POST',
    url: '/api/v1/individuals',
    payload: { given_name: 'Small', family_name: 'Body', attributes: { notes: 'x'.repeat(1500) } },
  });
  t.equal(small.statusCode, 201, small.body);
  const unauthenticated = await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { notes: 'x'.repeat(3000) }, token: null });
  expectProblem(t, unauthenticated, 401, 'an oversized body without a token is refused for the token first');
});

t.test('unknown routes are 404 problems, with or without a token', async (t) => {
  const withToken = expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/persons' }), 404);
  t.match(withToken, { type: 'urn:convergence-hub:problem:not-found', detail: 'no route GET /api/v1/persons' });
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/nowhere?x=1', token: null }), 404, 'without a token');
  expectProblem(t, await hub.request({ method: 'PUT', url: '/api/v1/individuals' }), 404, 'an unsupported method');
});

t.test('registry rule violations: 409 duplicate identifier, 422, 410, 412, 428', async (t) => {
  await create(t, hub, 'individuals', { given_name: 'One', family_name: 'Holder', identifiers: [{ type: 'NIN', value: 'DUP-9' }] });
  const dup = await hub.request({
    method: 'POST',
    url: '/api/v1/individuals',
    payload: { given_name: 'Two', family_name: 'Holder', identifiers: [{ type: 'NIN', value: 'DUP-9' }] },
  });
  const conflict = expectProblem(t, dup, 409);
  t.match(conflict, { type: 'urn:convergence-hub:problem:conflict', title: 'Conflict', detail: /identifier/ });
  t.same(conflict.errors?.map((e) => e.pointer), ['/identifiers']);

  const future = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'A', family_name: 'B', birth_date: '2999-01-01' } }), 422);
  t.match(future, { type: 'urn:convergence-hub:problem:unprocessable', title: 'Unprocessable Content' });

  const person = await create(t, hub, 'individuals', { given_name: 'Ver', family_name: 'Sion' });
  const url = `/api/v1/individuals/${person.id}`;
  t.match(expectProblem(t, await hub.request({ method: 'PATCH', url, payload: { given_name: 'X' } }), 428), {
    type: 'urn:convergence-hub:problem:precondition-required',
    title: 'Precondition Required',
  });
  t.match(expectProblem(t, await hub.request({ method: 'PATCH', url, payload: { given_name: 'X' }, headers: { 'if-match': '"9"' } }), 412), {
    type: 'urn:convergence-hub:problem:precondition-failed',
    title: 'Precondition Failed',
  });
  await hub.request({ method: 'DELETE', url });
  t.match(expectProblem(t, await hub.request({ method: 'GET', url }), 410), { type: 'urn:convergence-hub:problem:gone', title: 'Gone', instance: url });
});

t.test('auth failures are problems too', async (t) => {
  const none = expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/individuals', token: null }), 401);
  t.equal(none.title, 'Unauthorized');
  const noneRes = await hub.request({ method: 'GET', url: '/api/v1/individuals', token: null });
  t.match(noneRes.headers['www-authenticate'], /^Bearer/);
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/individuals', headers: { authorization: 'Basic abc' }, token: null }), 401, 'not a bearer token');
  const reader = await hub.client(['registry:read']);
  const forbidden = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/locations', payload: {}, token: reader.token }), 403);
  t.match(forbidden, { title: 'Forbidden', detail: /registry:write/ });
  t.equal(forbidden.errors, undefined, 'no validation details before the scope check');
});

t.test('request ids: a sane X-Request-Id is echoed in the problem, anything else replaced', async (t) => {
  const given = await hub.request({ method: 'GET', url: '/api/v1/nothing', headers: { 'x-request-id': 'trace-42.a:b' } });
  t.equal(expectProblem(t, given, 404).request_id, 'trace-42.a:b');
  const hostile = await hub.request({ method: 'GET', url: '/api/v1/nothing', headers: { 'x-request-id': 'bad id <script>' } });
  const replaced = expectProblem(t, hostile, 404).request_id;
  t.not(replaced, 'bad id <script>');
  t.match(replaced, /^[0-9a-f-]{36}$/);
  const a = expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/nothing' }), 404).request_id;
  const b = expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/nothing' }), 404).request_id;
  t.not(a, b, 'each request gets its own id');
});

t.test('unknown query parameters are refused, so a misspelt filter never returns the whole list', async (t) => {
  const hub = await testHub(t);
  const body = expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/individuals?family_nme=X' }), 400);
  t.same(body.errors, [{ parameter: 'family_nme', detail: 'unknown property' }]);
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/groups?colour=red' }), 400, 'groups');
});

t.test('framework errors get readable problem types', async (t) => {
  const hub = await testHub(t, { HUB_BODY_LIMIT: '2048' });
  const big = expectProblem(
    t,
    await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'x'.repeat(4000), family_name: 'y' } }),
    413,
  );
  t.equal(big.type, 'urn:convergence-hub:problem:content-too-large');
  const badJson = expectProblem(
    t,
    await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: '{"given_name":', headers: { 'content-type': 'application/json' } }),
    400,
  );
  t.equal(badJson.type, 'urn:convergence-hub:problem:bad-request');
});

t.test('a well-formed cursor holding the wrong kind of key is 400 naming the cursor', async (t) => {
  const hub = await testHub(t);
  const forged = Buffer.from(JSON.stringify({ k: 'not-a-uuid' })).toString('base64url');
  for (const path of ['individuals', 'groups', 'locations', 'audit']) {
    const body = expectProblem(t, await hub.request({ method: 'GET', url: `/api/v1/${path}?cursor=${forged}` }), 400, path);
    t.same(body.errors, [{ parameter: 'cursor', detail: 'malformed cursor' }], path);
  }
});
