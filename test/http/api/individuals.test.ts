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
const sorted = (ids: string[]) => [...ids].sort();
const patch = (id: string, payload: object, ifMatch?: string) =>
  hub.request({ method: 'PATCH', url: `/api/v1/individuals/${id}`, payload, ...(ifMatch ? { headers: { 'if-match': ifMatch } } : {}) });
const get = (id: string) => hub.request({ method: 'GET', url: `/api/v1/individuals/${id}` });

t.test('create with every field, read back with its ETag', async (t) => {
  const loc = await create(t, hub, 'locations', { code: 'IND-LOC', name: 'Loc' });
  const payload = {
    given_name: 'Jeanne',
    family_name: 'Irakoze',
    middle_name: 'M.',
    sex: 'female',
    birth_date: '1990-04-02',
    location_id: loc.id,
    phone: '+25779000000',
    email: 'jeanne@example.org',
    attributes: { rooms: 3, roof_material: 'tin', disability: false, assets: ['radio', 'bicycle'], pmt: { score: 12.5 } },
    identifiers: [
      { type: 'NIN', value: 'FULL-1' },
      { type: 'BIRTH_REG_NO', value: 'B-77' },
    ],
  };
  const res = await hub.request({ method: 'POST', url: '/api/v1/individuals', payload });
  t.equal(res.statusCode, 201, res.body);
  t.equal(res.headers.etag, '"1"');
  const person = res.json();
  t.equal(res.headers.location, `/api/v1/individuals/${person.id}`);
  const { identifiers: _ids, ...fields } = payload;
  t.match(person, { ...fields, death_date: null, version: 1 });
  t.same(person.attributes, payload.attributes, 'custom attributes round-trip exactly');
  t.same(person.identifiers, [
    { type: 'BIRTH_REG_NO', value: 'B-77' },
    { type: 'NIN', value: 'FULL-1' },
  ], 'identifiers come back sorted by type');

  const read = await get(person.id);
  t.equal(read.statusCode, 200);
  t.equal(read.headers.etag, '"1"');
  t.same(read.json(), person);
});

t.test('create with only the required fields gets the defaults', async (t) => {
  const person = await create(t, hub, 'individuals', { given_name: 'Min', family_name: 'Imal' });
  t.match(person, {
    sex: 'unknown',
    middle_name: null,
    birth_date: null,
    death_date: null,
    location_id: null,
    phone: null,
    email: null,
    version: 1,
  });
  t.same(person.attributes, {});
  t.same(person.identifiers, []);
});

t.test('explicit nulls are stored as null', async (t) => {
  const person = await create(t, hub, 'individuals', {
    given_name: 'Null',
    family_name: 'Able',
    middle_name: null,
    phone: null,
    email: null,
    birth_date: null,
    location_id: null,
  });
  t.match(person, { middle_name: null, phone: null, email: null, birth_date: null, location_id: null });
  const cleared = await patch(person.id, { middle_name: 'X', phone: '123' }, '"1"');
  t.match(cleared.json(), { middle_name: 'X', phone: '123' });
  const back = await patch(person.id, { middle_name: null, phone: null }, '"2"');
  t.equal(back.statusCode, 200, back.body);
  t.match(back.json(), { middle_name: null, phone: null }, 'null clears a field');
});

t.test('create: input rules (400 for shape, 422 for registry rules, 409 for a taken identifier)', async (t) => {
  const missing = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { family_name: 'X' } }), 400);
  t.ok(missing.errors?.some((e) => e.pointer === '/given_name'));
  const empty = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: '', family_name: 'X' } }), 400);
  t.ok(empty.errors?.some((e) => e.pointer === '/given_name'));
  const sex = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'A', family_name: 'X', sex: 'M' } }), 400);
  t.ok(sex.errors?.some((e) => e.pointer === '/sex'));
  const date = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'A', family_name: 'X', birth_date: '02/04/1990' } }), 400);
  t.ok(date.errors?.some((e) => e.pointer === '/birth_date'));
  const email = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'A', family_name: 'X', email: 'not-an-email' } }), 400);
  t.ok(email.errors?.some((e) => e.pointer === '/email'));
  const idType = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'A', family_name: 'X', identifiers: [{ type: 'nin', value: '1' }] } }), 400);
  t.ok(idType.errors?.some((e) => e.pointer === '/identifiers/0/type'));
  const attr = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'A', family_name: 'X', attributes: { 'bad key': 1 } } }), 400);
  t.same(attr.errors, [{ pointer: '/attributes/bad key', detail: 'unknown property' }], 'attribute names are restricted');

  const future = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'A', family_name: 'X', birth_date: '2999-01-01' } }), 422);
  t.same(future.errors?.map((e) => e.pointer), ['/birth_date']);
  const death = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'A', family_name: 'X', birth_date: '2000-01-01', death_date: '1999-12-31' } }), 422);
  t.same(death.errors?.map((e) => e.pointer), ['/death_date']);
  const twice = expectProblem(t, await hub.request({
    method: 'POST',
    url: '/api/v1/individuals',
    payload: { given_name: 'A', family_name: 'X', identifiers: [{ type: 'NIN', value: 'TWICE' }, { type: 'NIN', value: 'TWICE' }] },
  }), 422);
  t.same(twice.errors?.map((e) => e.pointer), ['/identifiers/1']);
  const loc = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'A', family_name: 'X', location_id: UNKNOWN } }), 422);
  t.same(loc.errors?.map((e) => e.pointer), ['/location_id']);

  await create(t, hub, 'individuals', { given_name: 'First', family_name: 'Holder', identifiers: [{ type: 'NIN', value: 'TAKEN' }] });
  const taken = await hub.request({
    method: 'POST',
    url: '/api/v1/individuals',
    payload: { given_name: 'Second', family_name: 'Holder', identifiers: [{ type: 'NIN', value: 'TAKEN' }] },
  });
  t.same(expectProblem(t, taken, 409).errors?.map((e) => e.pointer), ['/identifiers']);
  t.same(await listIds(t, hub, '/api/v1/individuals?given_name=Second&family_name=Holder'), [], 'the refused individual was not created');
  const sameValueOtherType = await create(t, hub, 'individuals', { given_name: 'Third', family_name: 'Holder', identifiers: [{ type: 'UIN', value: 'TAKEN' }] });
  t.ok(sameValueOtherType.id, 'identifiers are unique per type only');
});

t.test('update: fields merge, identifiers and attributes are replaced, ETag follows the version', async (t) => {
  const person = await create(t, hub, 'individuals', {
    given_name: 'Pat',
    family_name: 'Ch',
    sex: 'male',
    birth_date: '1985-01-01',
    attributes: { rooms: 2, roof: 'grass' },
    identifiers: [{ type: 'NIN', value: 'UPD-1' }, { type: 'MOBILE', value: '+2571' }],
  });
  const res = await patch(person.id, { family_name: 'Changed', attributes: { rooms: 4 } }, '"1"');
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.headers.etag, '"2"');
  const updated = res.json();
  t.match(updated, { given_name: 'Pat', family_name: 'Changed', sex: 'male', birth_date: '1985-01-01', version: 2 });
  t.same(updated.attributes, { rooms: 4 }, 'attributes are replaced as a whole');
  t.same(updated.identifiers, person.identifiers, 'identifiers are untouched when absent from the patch');
  t.equal(updated.created_at, person.created_at);

  const ids = await patch(person.id, { identifiers: [{ type: 'UIN', value: 'UPD-2' }] }, '"2"');
  t.equal(ids.statusCode, 200, ids.body);
  t.same(ids.json().identifiers, [{ type: 'UIN', value: 'UPD-2' }], 'identifiers are replaced as a whole');
  t.same(await listIds(t, hub, '/api/v1/individuals?identifier_type=NIN&identifier_value=UPD-1'), [], 'the old identifier no longer finds them');
  t.same(await listIds(t, hub, '/api/v1/individuals?identifier_type=UIN&identifier_value=UPD-2'), [person.id]);
  const freed = await create(t, hub, 'individuals', { given_name: 'New', family_name: 'Owner', identifiers: [{ type: 'NIN', value: 'UPD-1' }] });
  t.ok(freed.id, 'a replaced identifier is free again');

  const none = await patch(person.id, { identifiers: [] }, '"3"');
  t.same(none.json().identifiers, []);
  t.equal(none.headers.etag, '"4"');

  const read = await get(person.id);
  t.equal(read.headers.etag, '"4"');
  t.same(read.json(), none.json(), 'a read answers what the last write answered');
});

t.test('update: rules checked against the merged record', async (t) => {
  const person = await create(t, hub, 'individuals', { given_name: 'R', family_name: 'Ules', birth_date: '2000-06-01' });
  const other = await create(t, hub, 'individuals', { given_name: 'O', family_name: 'Ther', identifiers: [{ type: 'NIN', value: 'RULES-O' }] });

  const death = expectProblem(t, await patch(person.id, { death_date: '2000-05-31' }, '"1"'), 422);
  t.same(death.errors?.map((e) => e.pointer), ['/death_date'], 'death before the stored birth date');
  const taken = expectProblem(t, await patch(person.id, { identifiers: [{ type: 'NIN', value: 'RULES-O' }] }, '"1"'), 409);
  t.same(taken.errors?.map((e) => e.pointer), ['/identifiers']);
  const twice = expectProblem(t, await patch(person.id, { identifiers: [{ type: 'NIN', value: 'RULES-2' }, { type: 'NIN', value: 'RULES-2' }] }, '"1"'), 422);
  t.same(twice.errors?.map((e) => e.pointer), ['/identifiers/1'], 'an identifier listed twice in a patch');
  const unknown = expectProblem(t, await patch(person.id, { nickname: 'x' }, '"1"'), 400);
  t.same(unknown.errors?.map((e) => e.pointer), ['/nickname']);
  const loc = expectProblem(t, await patch(person.id, { location_id: UNKNOWN }, '"1"'), 422);
  t.same(loc.errors?.map((e) => e.pointer), ['/location_id']);
  expectProblem(t, await patch(person.id, {}, '"1"'), 400, 'an empty patch');

  const dead = await patch(person.id, { death_date: '2020-01-01' }, '"1"');
  t.equal(dead.statusCode, 200, dead.body);
  t.equal(dead.json().death_date, '2020-01-01');
  t.same((await get(other.id)).json().identifiers, [{ type: 'NIN', value: 'RULES-O' }], 'the other holder kept its identifier');
});

t.test('optimistic concurrency: 428, 412, body version, concurrent writers', async (t) => {
  const person = await create(t, hub, 'individuals', { given_name: 'Con', family_name: 'Current' });

  const noPrecondition = expectProblem(t, await patch(person.id, { given_name: 'X' }), 428);
  t.match(noPrecondition.detail, /If-Match/);
  expectProblem(t, await patch(person.id, { given_name: 'X' }, '"2"'), 412, 'a version from the future');

  const byBody = await patch(person.id, { given_name: 'Body', version: 1 });
  t.equal(byBody.statusCode, 200, byBody.body);
  t.equal(byBody.headers.etag, '"2"');
  expectProblem(t, await patch(person.id, { given_name: 'Stale', version: 1 }), 412, 'stale body version');
  expectProblem(t, await patch(person.id, { given_name: 'Stale' }, '"1"'), 412, 'stale If-Match');
  expectProblem(t, await patch(person.id, { given_name: 'X', version: 2 }, '"1"'), 400, 'If-Match and version disagree');
  const badVersion = expectProblem(t, await patch(person.id, { given_name: 'X', version: 0 }), 400);
  t.same(badVersion.errors?.map((e) => e.pointer), ['/version']);
  t.equal((await get(person.id)).json().given_name, 'Body', 'refused writes changed nothing');

  const url = `/api/v1/individuals/${person.id}`;
  const { statuses, responses } = await racedStatuses(
    hub,
    { method: 'PATCH', url, payload: { given_name: 'Left' }, headers: { 'if-match': '"2"' } },
    { method: 'PATCH', url, payload: { given_name: 'Right', version: 2 } },
  );
  t.same(statuses, [200, 412], 'exactly one of two writers from the same version wins');
  const winner = responses.find((r) => r.statusCode === 200)!;
  t.equal(winner.headers.etag, '"3"');
  const read = (await get(person.id)).json();
  t.equal(read.given_name, winner.json().given_name);
  t.equal(read.version, 3);

  const del = await hub.request({ method: 'DELETE', url, headers: { 'if-match': '"2"' } });
  expectProblem(t, del, 412, 'delete with a stale If-Match');
  t.equal((await get(person.id)).statusCode, 200, 'still there');
});

t.test('soft delete: 204, then 410 on every access, gone from lists, identifiers stay reserved', async (t) => {
  const person = await create(t, hub, 'individuals', { given_name: 'Del', family_name: 'Eted', sex: 'other', identifiers: [{ type: 'NIN', value: 'DEL-1' }] });
  const url = `/api/v1/individuals/${person.id}`;
  t.same(await listIds(t, hub, '/api/v1/individuals?family_name=Eted'), [person.id]);

  const del = await hub.request({ method: 'DELETE', url, headers: { 'if-match': '"1"' } });
  t.equal(del.statusCode, 204, del.body);
  t.equal(del.body, '');

  const gone = expectProblem(t, await get(person.id), 410);
  t.match(gone.detail, /deleted/);
  expectProblem(t, await patch(person.id, { given_name: 'Back' }, '"2"'), 410, 'PATCH of a deleted individual');
  expectProblem(t, await hub.request({ method: 'DELETE', url }), 410, 'second DELETE');
  t.same(await listIds(t, hub, '/api/v1/individuals?family_name=Eted'), [], 'not listed');
  t.same(await listIds(t, hub, '/api/v1/individuals?identifier_type=NIN&identifier_value=DEL-1'), [], 'not found by identifier');
  t.notOk((await listIds(t, hub, '/api/v1/individuals?sex=other')).includes(person.id));

  const reuse = await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'New', family_name: 'Eted', identifiers: [{ type: 'NIN', value: 'DEL-1' }] } });
  expectProblem(t, reuse, 409, 'the identifier of a deleted individual is still reserved');

  expectProblem(t, await get(UNKNOWN), 404);
  expectProblem(t, await hub.request({ method: 'DELETE', url: `/api/v1/individuals/${UNKNOWN}` }), 404);
  expectProblem(t, await patch(UNKNOWN, { given_name: 'x' }, '"1"'), 404);
});

t.test('delete ends the individual\'s group memberships', async (t) => {
  const group = await create(t, hub, 'groups', {
    code: 'IND-DEL-HH',
    members: [
      { role: 'head', individual: { given_name: 'Head', family_name: 'Stays' } },
      { role: 'child', individual: { given_name: 'Child', family_name: 'Leaves' } },
    ],
  });
  const child = group.members.find((m: { role: string }) => m.role === 'child').individual_id;
  t.equal((await hub.request({ method: 'DELETE', url: `/api/v1/individuals/${child}` })).statusCode, 204);
  const read = (await hub.request({ method: 'GET', url: `/api/v1/groups/${group.id}` })).json();
  t.same(read.members.map((m: { role: string }) => m.role), ['head'], 'the deleted individual is no longer a current member');
  t.same(await listIds(t, hub, `/api/v1/individuals?group_id=${group.id}`), [group.members.find((m: { role: string }) => m.role === 'head').individual_id]);
});

t.test('keyset pagination over 7 individuals with limit=3', async (t) => {
  const made: string[] = [];
  for (let i = 0; i < 7; i++) made.push((await create(t, hub, 'individuals', { given_name: `P${i}`, family_name: 'Pager' })).id);

  const { ids, pageSizes } = await walk(hub, '/api/v1/individuals?family_name=Pager', 3);
  t.same(pageSizes, [3, 3, 1]);
  t.equal(new Set(ids).size, 7, 'no individual is seen twice');
  t.same(sorted(ids), sorted(made), 'every individual is seen');

  const all = await walk(hub, '/api/v1/individuals', 3);
  t.equal(new Set(all.ids).size, all.ids.length, 'unfiltered: no individual twice');
  t.ok(made.every((id) => all.ids.includes(id)), 'unfiltered: every individual seen');
  t.ok(all.pageSizes.slice(0, -1).every((n) => n === 3), 'every page but the last is full');

  const first = (await hub.request({ method: 'GET', url: '/api/v1/individuals?family_name=Pager&limit=3' })).json();
  t.type(first.next_cursor, 'string');
  const again = (await hub.request({ method: 'GET', url: `/api/v1/individuals?family_name=Pager&limit=3&cursor=${first.next_cursor}` })).json();
  t.equal(new Set([...first.items, ...again.items].map((i: { id: string }) => i.id)).size, 6, 'cursor pages do not overlap');

  const big = (await hub.request({ method: 'GET', url: '/api/v1/individuals?family_name=Pager&limit=500' })).json();
  t.equal(big.items.length, 7);
  t.equal(big.next_cursor, null);
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/individuals?limit=501' }), 400, 'limit above 500');
});

t.test('filters: sex, identifiers, birth dates, names, location subtree, group', async (t) => {
  const province = await create(t, hub, 'locations', { code: 'IF-P', name: 'Province' });
  const commune = await create(t, hub, 'locations', { code: 'IF-C', name: 'Commune', parent_id: province.id });
  const elsewhere = await create(t, hub, 'locations', { code: 'IF-E', name: 'Elsewhere' });
  const fam = 'Filterson';
  const a = await create(t, hub, 'individuals', { given_name: 'Alice', family_name: fam, sex: 'female', birth_date: '1990-01-01', location_id: province.id, identifiers: [{ type: 'NIN', value: 'F-A' }] });
  const b = await create(t, hub, 'individuals', { given_name: 'Bob', family_name: fam, sex: 'male', birth_date: '2000-06-15', location_id: commune.id, identifiers: [{ type: 'NIN', value: 'F-B' }, { type: 'MOBILE', value: 'F-A' }] });
  const c = await create(t, hub, 'individuals', { given_name: 'Cleo', family_name: fam, sex: 'female', birth_date: '2010-12-31', location_id: elsewhere.id });
  const d = await create(t, hub, 'individuals', { given_name: 'Dan', family_name: fam });
  const q = (query: string) => listIds(t, hub, `/api/v1/individuals?family_name=${fam}&${query}`).then(sorted);

  t.same(await q('sex=female'), sorted([a.id, c.id]));
  t.same(await q('sex=male'), [b.id]);
  t.same(await q('sex=unknown'), [d.id]);
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/individuals?sex=f' }), 400, 'an unknown sex');

  t.same(await q('identifier_type=NIN&identifier_value=F-A'), [a.id], 'type and value together');
  t.same(await q('identifier_value=F-A'), sorted([a.id, b.id]), 'value of any type');
  t.same(await q('identifier_type=MOBILE'), [b.id], 'anyone with that type');
  t.same(await q('identifier_type=NIN&identifier_value=F-C'), []);

  t.same(await q('birth_date_from=1990-01-01&birth_date_to=2000-06-15'), sorted([a.id, b.id]), 'bounds are inclusive');
  t.same(await q('birth_date_from=1990-01-02'), sorted([b.id, c.id]));
  t.same(await q('birth_date_to=1999-12-31'), [a.id]);
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/individuals?birth_date_from=yesterday' }), 400);

  t.same(await listIds(t, hub, '/api/v1/individuals?given_name=alice&family_name=FILTERSON'), [a.id], 'names are case-insensitive');
  t.same(await q('given_name=Ali'), [], 'names are exact');

  t.same(await q(`location_id=${province.id}`), sorted([a.id, b.id]), 'location filter covers the subtree');
  t.same(await q(`location_id=${commune.id}`), [b.id]);
  t.same(await q(`location_id=${elsewhere.id}`), [c.id]);
  t.same(await q(`location_id=${province.id}&sex=male&birth_date_from=2000-01-01`), [b.id], 'filters combine');

  const group = await create(t, hub, 'groups', { code: 'IF-HH', members: [{ role: 'head', individual_id: a.id }, { role: 'child', individual_id: c.id }] });
  t.same(await q(`group_id=${group.id}`), sorted([a.id, c.id]));
  const end = await hub.request({ method: 'DELETE', url: `/api/v1/groups/${group.id}/members/${c.id}` });
  t.equal(end.statusCode, 200, end.body);
  t.same(await q(`group_id=${group.id}`), [a.id], 'only current members');
  t.same(await q(`group_id=${UNKNOWN}`), []);
});

t.test('fuzzy name search finds people created, renamed and deleted through the API', async (t) => {
  const fuzzy = (name: string) => listIds(t, hub, `/api/v1/individuals?name=${encodeURIComponent(name)}`).then(sorted);
  const a = await create(t, hub, 'individuals', { given_name: 'Zéphyrine', family_name: 'Quibblestone' });
  const b = await create(t, hub, 'individuals', { given_name: 'Zephyrine', family_name: 'Quibblestone' });
  t.same(await fuzzy('zephyrin quiblestone'), sorted([a.id, b.id]), 'a misspelt query finds both spellings, accents ignored');
  t.equal((await patch(b.id, { family_name: 'Wobblethorpe' }, '"1"')).statusCode, 200);
  t.same(await fuzzy('zephyrin quiblestone'), [a.id], 'a renamed person leaves the old name');
  t.same(await fuzzy('wobblethorp'), [b.id], 'and is found under the new one');
  t.equal((await hub.request({ method: 'DELETE', url: `/api/v1/individuals/${a.id}`, headers: { 'if-match': '"1"' } })).statusCode, 204);
  t.same(await fuzzy('zephyrin quiblestone'), [], 'a deleted person is not found');
});

t.test('scopes: a registry:read client reads but cannot write, even with an invalid body', async (t) => {
  const reader = await hub.client(['registry:read']);
  const person = await create(t, hub, 'individuals', { given_name: 'Sco', family_name: 'Pe' });
  const url = `/api/v1/individuals/${person.id}`;

  t.equal((await hub.request({ method: 'GET', url, token: reader.token })).statusCode, 200);
  t.same(await listIds(t, hub, '/api/v1/individuals?family_name=Pe', reader.token), [person.id]);

  const post = await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'A', family_name: 'B' }, token: reader.token });
  t.match(expectProblem(t, post, 403).detail, /registry:write/);
  const invalid = await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { unknown: 1 }, token: reader.token });
  t.equal(expectProblem(t, invalid, 403).errors, undefined, 'no validation detail leaks to a caller without the scope');
  const malformed = await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: '{not json', headers: { 'content-type': 'application/json' }, token: reader.token });
  expectProblem(t, malformed, 403, 'malformed JSON from a reader');
  expectProblem(t, await hub.request({ method: 'PATCH', url, payload: { given_name: 'X', version: 1 }, token: reader.token }), 403);
  expectProblem(t, await hub.request({ method: 'PATCH', url, payload: {}, token: reader.token }), 403, 'invalid PATCH from a reader');
  expectProblem(t, await hub.request({ method: 'DELETE', url, token: reader.token }), 403);
  t.equal((await get(person.id)).json().version, 1, 'nothing changed');

  const bogus = await hub.request({ method: 'GET', url, token: 'not.a.token' });
  expectProblem(t, bogus, 401);
});

t.test('every write appends an audit entry and the chain verifies', async (t) => {
  const person = await create(t, hub, 'individuals', { given_name: 'Au', family_name: 'Dit' });
  t.equal((await patch(person.id, { given_name: 'Audited' }, '"1"')).statusCode, 200);
  expectProblem(t, await patch(person.id, { given_name: 'Nope' }, '"1"'), 412);
  t.equal((await hub.request({ method: 'DELETE', url: `/api/v1/individuals/${person.id}` })).statusCode, 204);
  t.same(await auditActions(t, hub, person.id), ['individual.create', 'individual.update', 'individual.delete']);

  const entries = (await hub.request({ method: 'GET', url: `/api/v1/audit?entity_id=${person.id}` })).json().items;
  const clients = (await hub.request({ method: 'GET', url: '/api/v1/clients' })).json().items as { client_id: string; scopes: string[] }[];
  const admin = clients.find((c) => c.scopes.includes('admin'))!;
  t.ok(entries.every((e: { actor: string; entity_type: string }) => e.actor === admin.client_id && e.entity_type === 'individual'), 'the actor is the calling client');

  const writer = await hub.client(['registry:write', 'registry:read']);
  const byWriter = await create(t, hub, 'individuals', { given_name: 'By', family_name: 'Writer' }, writer.token);
  const own = (await hub.request({ method: 'GET', url: `/api/v1/audit?entity_id=${byWriter.id}` })).json().items;
  t.same(own.map((e: { actor: string }) => e.actor), [writer.clientId]);
  await expectAuditChainOk(t, hub);
});

t.test('deleting an individual ends their memberships as a change of the household', async (t) => {
  const hub = await testHub(t);
  const household = await create(t, hub, 'groups', {
    members: [
      { role: 'head', individual: { given_name: 'Stays', family_name: 'Home' } },
      { role: 'child', individual: { given_name: 'Leaves', family_name: 'Home' } },
    ],
  });
  const leaving = household.members.find((m: { given_name: string }) => m.given_name === 'Leaves').individual_id;
  t.equal((await hub.request({ method: 'DELETE', url: `/api/v1/individuals/${leaving}` })).statusCode, 204);
  const after = await hub.request({ method: 'GET', url: `/api/v1/groups/${household.id}` });
  t.equal(after.json().version, 2, 'the household version moved on');
  t.equal(after.headers.etag, '"2"');
  t.same(after.json().members.map((m: { given_name: string }) => m.given_name), ['Stays']);
  const audit = (await hub.request({ method: 'GET', url: `/api/v1/audit?entity_id=${household.id}` })).json().items;
  t.same(audit.map((e: { action: string }) => e.action), ['group.member.end', 'group.create'], 'and the household change is audited');
});
