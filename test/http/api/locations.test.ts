import t from 'tap';
import { testHub } from '../../helpers/hub.js';
import {
  auditActions,
  create,
  expectAuditChainOk,
  expectProblem,
  listIds,
  racedStatuses,
  walk,
} from '../../helpers/registry.js';

const hub = await testHub(t);
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

t.test('a three-level tree: levels, parents, Location header and ETag', async (t) => {
  const res = await hub.request({
    method: 'POST',
    url: '/api/v1/locations',
    payload: { code: 'TREE-P', name: 'Province', kind: 'province' },
  });
  t.equal(res.statusCode, 201, res.body);
  t.equal(res.headers.etag, '"1"');
  const province = res.json();
  t.equal(res.headers.location, `/api/v1/locations/${province.id}`);
  t.match(province, { code: 'TREE-P', name: 'Province', kind: 'province', level: 1, parent_id: null, version: 1 });
  t.match(province.created_at, /^\d{4}-\d\d-\d\dT/);

  const commune = await create(t, hub, 'locations', { code: 'TREE-C', name: 'Commune', parent_id: province.id });
  t.match(commune, { level: 2, parent_id: province.id, kind: null });
  const colline = await create(t, hub, 'locations', { code: 'TREE-H', name: 'Colline', kind: 'colline', parent_id: commune.id });
  t.match(colline, { level: 3, parent_id: commune.id });

  const read = await hub.request({ method: 'GET', url: `/api/v1/locations/${colline.id}` });
  t.equal(read.statusCode, 200);
  t.equal(read.headers.etag, '"1"');
  t.same(read.json(), colline);
});

t.test('create: bad parent, duplicate code, invalid input', async (t) => {
  const orphan = await hub.request({
    method: 'POST',
    url: '/api/v1/locations',
    payload: { code: 'ORPHAN', name: 'Orphan', parent_id: UNKNOWN },
  });
  t.same(expectProblem(t, orphan, 422).errors?.map((e) => e.pointer), ['/parent_id']);

  await create(t, hub, 'locations', { code: 'DUP', name: 'First' });
  const dup = await hub.request({ method: 'POST', url: '/api/v1/locations', payload: { code: 'DUP', name: 'Second' } });
  t.same(expectProblem(t, dup, 409).errors?.map((e) => e.pointer), ['/code']);

  const badCode = await hub.request({ method: 'POST', url: '/api/v1/locations', payload: { code: 'has space', name: 'x' } });
  t.ok(expectProblem(t, badCode, 400).errors?.some((e) => e.pointer === '/code'));
  const noName = await hub.request({ method: 'POST', url: '/api/v1/locations', payload: { code: 'NONAME' } });
  t.ok(expectProblem(t, noName, 400).errors?.some((e) => e.pointer === '/name'));
  const badParent = await hub.request({ method: 'POST', url: '/api/v1/locations', payload: { code: 'BADP', name: 'x', parent_id: 'nope' } });
  t.ok(expectProblem(t, badParent, 400).errors?.some((e) => e.pointer === '/parent_id'));

  const none = await listIds(t, hub, '/api/v1/locations?code=ORPHAN');
  t.same(none, [], 'nothing was created by the failed requests');
});

t.test('read: unknown id is 404, a malformed id is 400', async (t) => {
  expectProblem(t, await hub.request({ method: 'GET', url: `/api/v1/locations/${UNKNOWN}` }), 404);
  const bad = expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/locations/not-a-uuid' }), 400);
  t.ok(bad.errors?.some((e) => e.parameter === 'id'), JSON.stringify(bad.errors));
});

t.test('update: rename with If-Match, 428 without, 412 when stale, body version as an alternative', async (t) => {
  const loc = await create(t, hub, 'locations', { code: 'UPD', name: 'Before', kind: 'province' });
  const url = `/api/v1/locations/${loc.id}`;

  expectProblem(t, await hub.request({ method: 'PATCH', url, payload: { name: 'No precondition' } }), 428);

  const renamed = await hub.request({ method: 'PATCH', url, payload: { name: 'After' }, headers: { 'if-match': '"1"' } });
  t.equal(renamed.statusCode, 200, renamed.body);
  t.equal(renamed.headers.etag, '"2"');
  t.match(renamed.json(), { name: 'After', kind: 'province', code: 'UPD', level: 1, version: 2 });
  t.ok(renamed.json().updated_at >= loc.updated_at);

  const stale = await hub.request({ method: 'PATCH', url, payload: { name: 'Stale' }, headers: { 'if-match': '"1"' } });
  expectProblem(t, stale, 412);

  const byBody = await hub.request({ method: 'PATCH', url, payload: { kind: null, version: 2 } });
  t.equal(byBody.statusCode, 200, byBody.body);
  t.equal(byBody.headers.etag, '"3"');
  t.match(byBody.json(), { name: 'After', kind: null, version: 3 });

  const staleBody = await hub.request({ method: 'PATCH', url, payload: { name: 'Stale', version: 2 } });
  expectProblem(t, staleBody, 412);

  const weak = await hub.request({ method: 'PATCH', url, payload: { name: 'Weak' }, headers: { 'if-match': 'W/"3"' } });
  t.equal(weak.statusCode, 200, 'a weak ETag form of the same version is accepted');

  const disagree = await hub.request({ method: 'PATCH', url, payload: { name: 'x', version: 3 }, headers: { 'if-match': '"4"' } });
  t.ok(expectProblem(t, disagree, 400).errors?.some((e) => e.pointer === '/version'));
  const garbage = await hub.request({ method: 'PATCH', url, payload: { name: 'x' }, headers: { 'if-match': '*' } });
  t.ok(expectProblem(t, garbage, 400).errors?.some((e) => e.parameter === 'If-Match'));

  const empty = await hub.request({ method: 'PATCH', url, payload: {}, headers: { 'if-match': '"4"' } });
  expectProblem(t, empty, 400, 'an empty patch');
  const code = await hub.request({ method: 'PATCH', url, payload: { code: 'MOVED' }, headers: { 'if-match': '"4"' } });
  t.ok(expectProblem(t, code, 400).errors?.some((e) => e.pointer === '/code'), 'code cannot be patched');
  const parent = await hub.request({ method: 'PATCH', url, payload: { parent_id: UNKNOWN }, headers: { 'if-match': '"4"' } });
  t.ok(expectProblem(t, parent, 400).errors?.some((e) => e.pointer === '/parent_id'), 'an area cannot be moved');

  const read = await hub.request({ method: 'GET', url });
  t.equal(read.headers.etag, '"4"', 'the failed requests changed nothing');
  t.equal(read.json().name, 'Weak');
});

t.test('two concurrent renames from the same version: exactly one wins', async (t) => {
  const loc = await create(t, hub, 'locations', { code: 'RACE', name: 'Race' });
  const url = `/api/v1/locations/${loc.id}`;
  const { statuses, responses } = await racedStatuses(
    hub,
    { method: 'PATCH', url, payload: { name: 'A' }, headers: { 'if-match': '"1"' } },
    { method: 'PATCH', url, payload: { name: 'B' }, headers: { 'if-match': '"1"' } },
  );
  t.same(statuses, [200, 412]);
  const winner = responses.find((r) => r.statusCode === 200)!.json();
  const read = (await hub.request({ method: 'GET', url })).json();
  t.equal(read.version, 2);
  t.equal(read.name, winner.name);
});

t.test('filters: parent_id, within (subtree), level, code', async (t) => {
  const root = await create(t, hub, 'locations', { code: 'F-ROOT', name: 'Root' });
  const a = await create(t, hub, 'locations', { code: 'F-A', name: 'A', parent_id: root.id });
  const b = await create(t, hub, 'locations', { code: 'F-B', name: 'B', parent_id: root.id });
  const a1 = await create(t, hub, 'locations', { code: 'F-A1', name: 'A1', parent_id: a.id });
  const other = await create(t, hub, 'locations', { code: 'F-OTHER', name: 'Other' });
  await create(t, hub, 'locations', { code: 'F-OTHER-1', name: 'Other 1', parent_id: other.id });

  const sorted = (ids: string[]) => [...ids].sort();
  t.same(sorted(await listIds(t, hub, `/api/v1/locations?parent_id=${root.id}`)), sorted([a.id, b.id]), 'children only');
  t.same(sorted(await listIds(t, hub, `/api/v1/locations?within=${root.id}`)), sorted([root.id, a.id, b.id, a1.id]), 'self and descendants');
  t.same(await listIds(t, hub, `/api/v1/locations?within=${a1.id}`), [a1.id], 'a leaf is its own subtree');
  t.same(sorted(await listIds(t, hub, `/api/v1/locations?within=${root.id}&level=2`)), sorted([a.id, b.id]));
  t.same(await listIds(t, hub, `/api/v1/locations?within=${root.id}&level=3`), [a1.id]);
  t.same(await listIds(t, hub, '/api/v1/locations?code=F-A1'), [a1.id]);
  t.same(await listIds(t, hub, '/api/v1/locations?code=f-a1'), [], 'code is exact');
  t.same(await listIds(t, hub, `/api/v1/locations?within=${UNKNOWN}`), []);

  const level0 = await hub.request({ method: 'GET', url: '/api/v1/locations?level=0' });
  t.ok(expectProblem(t, level0, 400).errors?.some((e) => e.parameter === 'level'));
  const badWithin = await hub.request({ method: 'GET', url: '/api/v1/locations?within=abc' });
  t.ok(expectProblem(t, badWithin, 400).errors?.some((e) => e.parameter === 'within'));
});

t.test('keyset pagination: every location once, next_cursor null on the last page', async (t) => {
  const parent = await create(t, hub, 'locations', { code: 'PAGE', name: 'Pages' });
  const made: string[] = [];
  for (let i = 0; i < 7; i++) made.push((await create(t, hub, 'locations', { code: `PAGE-${i}`, name: `P${i}`, parent_id: parent.id })).id);

  const { ids, pageSizes } = await walk(hub, `/api/v1/locations?parent_id=${parent.id}`, 3);
  t.same(pageSizes, [3, 3, 1]);
  t.equal(new Set(ids).size, ids.length, 'no location is seen twice');
  t.same([...ids].sort(), [...made].sort(), 'every location is seen');

  const exact = await walk(hub, `/api/v1/locations?parent_id=${parent.id}`, 7);
  t.same(exact.pageSizes, [7], 'a page that holds exactly the rest has no next_cursor');

  const all = await walk(hub, '/api/v1/locations', 2);
  t.equal(new Set(all.ids).size, all.ids.length, 'unfiltered walk sees no location twice');
  t.ok(made.every((id) => all.ids.includes(id)), 'unfiltered walk sees every location');
});

t.test('delete: only empty areas; 410 afterwards; gone from lists', async (t) => {
  const parent = await create(t, hub, 'locations', { code: 'DEL-P', name: 'Parent' });
  const child = await create(t, hub, 'locations', { code: 'DEL-C', name: 'Child', parent_id: parent.id });
  const withPerson = await create(t, hub, 'locations', { code: 'DEL-IND', name: 'Has a person' });
  const withGroup = await create(t, hub, 'locations', { code: 'DEL-GRP', name: 'Has a group' });
  await create(t, hub, 'individuals', { given_name: 'Ana', family_name: 'Del', location_id: withPerson.id });
  await create(t, hub, 'groups', { code: 'DEL-HH', location_id: withGroup.id });

  expectProblem(t, await hub.request({ method: 'DELETE', url: `/api/v1/locations/${parent.id}` }), 409, 'a parent');
  expectProblem(t, await hub.request({ method: 'DELETE', url: `/api/v1/locations/${withPerson.id}` }), 409, 'with an individual');
  expectProblem(t, await hub.request({ method: 'DELETE', url: `/api/v1/locations/${withGroup.id}` }), 409, 'with a group');

  const stale = await hub.request({ method: 'DELETE', url: `/api/v1/locations/${child.id}`, headers: { 'if-match': '"7"' } });
  expectProblem(t, stale, 412);
  const del = await hub.request({ method: 'DELETE', url: `/api/v1/locations/${child.id}`, headers: { 'if-match': '"1"' } });
  t.equal(del.statusCode, 204, del.body);
  t.equal(del.body, '');

  expectProblem(t, await hub.request({ method: 'GET', url: `/api/v1/locations/${child.id}` }), 410);
  const patch = await hub.request({ method: 'PATCH', url: `/api/v1/locations/${child.id}`, payload: { name: 'x', version: 2 } });
  expectProblem(t, patch, 410);
  expectProblem(t, await hub.request({ method: 'DELETE', url: `/api/v1/locations/${child.id}` }), 410, 'a second delete');
  t.same(await listIds(t, hub, `/api/v1/locations?parent_id=${parent.id}`), [], 'not listed any more');
  t.same(await listIds(t, hub, '/api/v1/locations?code=DEL-C'), []);
  const under = await hub.request({ method: 'POST', url: '/api/v1/locations', payload: { code: 'DEL-CC', name: 'x', parent_id: child.id } });
  t.ok(expectProblem(t, under, 422).errors?.some((e) => e.pointer === '/parent_id'), 'no new area under a deleted one');

  const parentDel = await hub.request({ method: 'DELETE', url: `/api/v1/locations/${parent.id}` });
  t.equal(parentDel.statusCode, 204, 'a parent whose only child is deleted is empty');
  expectProblem(t, await hub.request({ method: 'DELETE', url: `/api/v1/locations/${UNKNOWN}` }), 404);
});

t.test('scopes: registry:read may read but not write, and is refused before validation', async (t) => {
  const reader = await hub.client(['registry:read']);
  const loc = await create(t, hub, 'locations', { code: 'SCOPE', name: 'Scope' });

  const read = await hub.request({ method: 'GET', url: `/api/v1/locations/${loc.id}`, token: reader.token });
  t.equal(read.statusCode, 200);
  t.ok((await listIds(t, hub, '/api/v1/locations?code=SCOPE', reader.token)).includes(loc.id));

  const post = await hub.request({ method: 'POST', url: '/api/v1/locations', payload: { code: 'R', name: 'R' }, token: reader.token });
  t.match(expectProblem(t, post, 403).detail, /registry:write/);
  t.match(post.headers['www-authenticate'], /insufficient_scope/);
  const invalid = await hub.request({ method: 'POST', url: '/api/v1/locations', payload: { nonsense: true }, token: reader.token });
  expectProblem(t, invalid, 403, 'an invalid body from a reader');
  const patch = await hub.request({ method: 'PATCH', url: `/api/v1/locations/${loc.id}`, payload: { name: 'x' }, headers: { 'if-match': '"1"' }, token: reader.token });
  expectProblem(t, patch, 403);
  expectProblem(t, await hub.request({ method: 'DELETE', url: `/api/v1/locations/${loc.id}`, token: reader.token }), 403);

  const writer = await hub.client(['registry:write']);
  expectProblem(t, await hub.request({ method: 'GET', url: `/api/v1/locations/${loc.id}`, token: writer.token }), 403, 'write does not imply read');
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/locations', token: null }), 401);

  t.equal((await hub.request({ method: 'GET', url: `/api/v1/locations/${loc.id}` })).json().version, 1, 'nothing changed');
});

t.test('every write is audited, and the chain verifies', async (t) => {
  const loc = await create(t, hub, 'locations', { code: 'AUD', name: 'Audit' });
  await hub.request({ method: 'PATCH', url: `/api/v1/locations/${loc.id}`, payload: { name: 'Audited', version: 1 } });
  expectProblem(t, await hub.request({ method: 'PATCH', url: `/api/v1/locations/${loc.id}`, payload: { name: 'x', version: 1 } }), 412);
  t.equal((await hub.request({ method: 'DELETE', url: `/api/v1/locations/${loc.id}` })).statusCode, 204);
  t.same(await auditActions(t, hub, loc.id), ['location.create', 'location.update', 'location.delete'], 'a failed write leaves no entry');

  const entries = (await hub.request({ method: 'GET', url: `/api/v1/audit?entity_id=${loc.id}` })).json().items;
  t.ok(entries.every((e: { entity_type: string }) => e.entity_type === 'location'));
  const [del, upd, crt] = entries;
  t.equal(crt.before_digest, null, 'a create has no before');
  t.match(crt.after_digest, /^[0-9a-f]{64}$/);
  t.match(upd.before_digest, /^[0-9a-f]{64}$/);
  t.not(upd.before_digest, upd.after_digest);
  t.equal(del.after_digest, null, 'a delete has no after');
  await expectAuditChainOk(t, hub);
});
