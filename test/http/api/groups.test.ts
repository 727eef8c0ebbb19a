import { asc, eq } from 'drizzle-orm';
import t from 'tap';
import { groupMembers } from '../../../src/db/schema/index.js';
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

interface MemberView {
  individual_id: string;
  role: string;
  start_date: string | null;
  end_date: string | null;
  given_name: string;
}
const roles = (group: { members: MemberView[] }) => group.members.map((m) => m.role).sort();
const memberIds = (group: { members: MemberView[] }) => sorted(group.members.map((m) => m.individual_id));
const get = (id: string) => hub.request({ method: 'GET', url: `/api/v1/groups/${id}` });
const addMember = (id: string, payload: object, ifMatch?: string) =>
  hub.request({ method: 'POST', url: `/api/v1/groups/${id}/members`, payload, ...(ifMatch ? { headers: { 'if-match': ifMatch } } : {}) });
const endMember = (id: string, individualId: string, query = '', ifMatch?: string) =>
  hub.request({
    method: 'DELETE',
    url: `/api/v1/groups/${id}/members/${individualId}${query}`,
    ...(ifMatch ? { headers: { 'if-match': ifMatch } } : {}),
  });
/** Every membership row of a group, ended ones included: the API shows only current members. */
const history = (groupId: string) =>
  hub.database.db
    .select({ individualId: groupMembers.individualId, role: groupMembers.role, endDate: groupMembers.endDate })
    .from(groupMembers)
    .where(eq(groupMembers.groupId, groupId))
    .orderBy(asc(groupMembers.role));

t.test('create with new members inline and an existing individual', async (t) => {
  const loc = await create(t, hub, 'locations', { code: 'G-LOC', name: 'Loc' });
  const grandma = await create(t, hub, 'individuals', { given_name: 'Old', family_name: 'Ntare', birth_date: '1940-01-01' });
  const res = await hub.request({
    method: 'POST',
    url: '/api/v1/groups',
    payload: {
      code: 'G-FULL',
      name: 'Ntare household',
      location_id: loc.id,
      attributes: { rooms: 2, water_source: 'well', livestock: { goats: 3 } },
      members: [
        { role: 'head', start_date: '2015-03-01', individual: { given_name: 'Jean', family_name: 'Ntare', sex: 'male', birth_date: '1980-01-01', location_id: loc.id, identifiers: [{ type: 'NIN', value: 'G-1' }] } },
        { role: 'child', individual: { given_name: 'Lise', family_name: 'Ntare', sex: 'female', birth_date: '2012-01-01' } },
        { role: 'grandparent', individual_id: grandma.id },
      ],
    },
  });
  t.equal(res.statusCode, 201, res.body);
  t.equal(res.headers.etag, '"1"');
  const group = res.json();
  t.equal(res.headers.location, `/api/v1/groups/${group.id}`);
  t.match(group, { code: 'G-FULL', kind: 'household', name: 'Ntare household', location_id: loc.id, version: 1 });
  t.same(group.attributes, { rooms: 2, water_source: 'well', livestock: { goats: 3 } });
  t.same(roles(group), ['child', 'grandparent', 'head']);
  t.same(group.members.map((m: MemberView) => m.given_name), ['Old', 'Jean', 'Lise'], 'members come oldest first');
  const head = group.members.find((m: MemberView) => m.role === 'head');
  t.match(head, { start_date: '2015-03-01', end_date: null, given_name: 'Jean', family_name: 'Ntare', sex: 'male', birth_date: '1980-01-01' });

  const headRecord = await hub.request({ method: 'GET', url: `/api/v1/individuals/${head.individual_id}` });
  t.equal(headRecord.statusCode, 200, 'an inline member is a real individual');
  t.same(headRecord.json().identifiers, [{ type: 'NIN', value: 'G-1' }]);
  t.equal(headRecord.json().location_id, loc.id);

  const read = await get(group.id);
  t.equal(read.headers.etag, '"1"');
  t.same(read.json(), group);
});

t.test('create: defaults and input rules', async (t) => {
  const bare = await create(t, hub, 'groups', {});
  t.match(bare, { kind: 'household', name: null, location_id: null, members: [], version: 1 });
  t.match(bare.code, /^HH-[A-HJ-NP-Z2-9]{10}$/, 'a generated, unambiguous code');
  t.same(bare.attributes, {});
  const camp = await create(t, hub, 'groups', { code: 'G-CAMP', kind: 'camp', name: null });
  t.match(camp, { kind: 'camp', name: null });

  const dup = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/groups', payload: { code: 'G-CAMP' } }), 409);
  t.same(dup.errors?.map((e) => e.pointer), ['/code']);
  const badKind = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/groups', payload: { kind: 'Camp' } }), 400);
  t.ok(badKind.errors?.some((e) => e.pointer === '/kind'));
  const badRole = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/groups', payload: { members: [{ role: 'boss', individual: { given_name: 'A', family_name: 'B' } }] } }), 400);
  t.ok(badRole.errors?.some((e) => e.pointer === '/members/0/role'));
  const noGiven = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/groups', payload: { members: [{ role: 'head', individual: { family_name: 'B' } }] } }), 400);
  t.ok(noGiven.errors?.some((e) => e.pointer === '/members/0/individual/given_name'), 'pointers reach into inline members');

  const person = await create(t, hub, 'individuals', { given_name: 'Both', family_name: 'Ways' });
  const both = await hub.request({
    method: 'POST',
    url: '/api/v1/groups',
    payload: { code: 'G-BOTH', members: [{ role: 'head', individual_id: person.id, individual: { given_name: 'A', family_name: 'B' } }] },
  });
  t.same(expectProblem(t, both, 422).errors?.map((e) => e.pointer), ['/members/0']);
  const neither = await hub.request({ method: 'POST', url: '/api/v1/groups', payload: { code: 'G-NEITHER', members: [{ role: 'head' }] } });
  t.same(expectProblem(t, neither, 422).errors?.map((e) => e.pointer), ['/members/0']);
  const ghost = await hub.request({ method: 'POST', url: '/api/v1/groups', payload: { code: 'G-GHOST', members: [{ role: 'child', individual_id: UNKNOWN }] } });
  t.same(expectProblem(t, ghost, 422).errors?.map((e) => e.pointer), ['/members/0/individual_id']);
  const future = await hub.request({
    method: 'POST',
    url: '/api/v1/groups',
    payload: { code: 'G-FUT', members: [{ role: 'head', individual: { given_name: 'A', family_name: 'B' } }, { role: 'child', individual: { given_name: 'C', family_name: 'D', birth_date: '2999-01-01' } }] },
  });
  t.same(expectProblem(t, future, 422).errors?.map((e) => e.pointer), ['/members/1/individual/birth_date']);
  const noLoc = await hub.request({ method: 'POST', url: '/api/v1/groups', payload: { code: 'G-NOLOC', location_id: UNKNOWN } });
  t.same(expectProblem(t, noLoc, 422).errors?.map((e) => e.pointer), ['/location_id']);

  await hub.request({ method: 'DELETE', url: `/api/v1/individuals/${person.id}` });
  const deleted = await hub.request({ method: 'POST', url: '/api/v1/groups', payload: { code: 'G-DEAD', members: [{ role: 'head', individual_id: person.id }] } });
  expectProblem(t, deleted, 422, 'a deleted individual cannot join');
  for (const code of ['G-BOTH', 'G-NEITHER', 'G-GHOST', 'G-FUT', 'G-NOLOC', 'G-DEAD']) {
    t.same(await listIds(t, hub, `/api/v1/groups?code=${code}`), [], `${code} was not created`);
  }
  t.same(await listIds(t, hub, '/api/v1/individuals?family_name=D'), [], 'inline members of a refused group were rolled back');
});

t.test('one head only: in the create body (422) and when adding (409)', async (t) => {
  const twoHeads = await hub.request({
    method: 'POST',
    url: '/api/v1/groups',
    payload: {
      code: 'G-2HEADS',
      members: [
        { role: 'head', individual: { given_name: 'One', family_name: 'Twoheads' } },
        { role: 'head', individual: { given_name: 'Two', family_name: 'Twoheads' } },
      ],
    },
  });
  t.same(expectProblem(t, twoHeads, 422).errors?.map((e) => e.pointer), ['/members']);
  t.same(await listIds(t, hub, '/api/v1/individuals?family_name=Twoheads'), [], 'no individual was created');

  const group = await create(t, hub, 'groups', { code: 'G-HEAD', members: [{ role: 'head', individual: { given_name: 'Chief', family_name: 'Head' } }] });
  const second = await addMember(group.id, { role: 'head', individual: { given_name: 'Usurper', family_name: 'Head' } });
  t.same(expectProblem(t, second, 409).errors?.map((e) => e.pointer), ['/role']);
  t.same(await listIds(t, hub, '/api/v1/individuals?given_name=Usurper'), [], 'the refused inline member was rolled back');
  const read = (await get(group.id)).json();
  t.equal(read.version, 1, 'a refused change does not bump the version');
  t.same(roles(read), ['head']);

  const chief = group.members[0].individual_id;
  t.equal((await endMember(group.id, chief)).statusCode, 200);
  const next = await addMember(group.id, { role: 'head', individual: { given_name: 'Heir', family_name: 'Head' } });
  t.equal(next.statusCode, 201, 'a new head once the old one has left');
  t.same(roles(next.json()), ['head']);
  t.equal(next.json().members[0].given_name, 'Heir');
});

t.test('members: add, end (history kept), version bumps, preconditions', async (t) => {
  const group = await create(t, hub, 'groups', { code: 'G-MEM', members: [{ role: 'head', individual: { given_name: 'Hd', family_name: 'Mem', birth_date: '1970-01-01' } }] });
  const spouse = await create(t, hub, 'individuals', { given_name: 'Sp', family_name: 'Mem', birth_date: '1972-01-01' });

  const add = await addMember(group.id, { role: 'spouse', individual_id: spouse.id, start_date: '2020-01-01' }, '"1"');
  t.equal(add.statusCode, 201, add.body);
  t.equal(add.headers.etag, '"2"', 'adding a member bumps the group version');
  t.same(roles(add.json()), ['head', 'spouse']);
  t.match(add.json().members.find((m: MemberView) => m.role === 'spouse'), { individual_id: spouse.id, start_date: '2020-01-01', end_date: null });

  const inline = await addMember(group.id, { role: 'child', individual: { given_name: 'Kid', family_name: 'Mem', birth_date: '2015-01-01' } });
  t.equal(inline.statusCode, 201, 'If-Match is optional when adding');
  t.equal(inline.json().version, 3);
  const kid = inline.json().members.find((m: MemberView) => m.role === 'child').individual_id;

  expectProblem(t, await addMember(group.id, { role: 'other_relative', individual_id: spouse.id }), 409, 'already a current member');
  expectProblem(t, await addMember(group.id, { role: 'child', individual_id: kid }, '"1"'), 412, 'stale If-Match on add');
  expectProblem(t, await addMember(group.id, { role: 'child', individual_id: UNKNOWN }), 422, 'unknown individual');
  expectProblem(t, await addMember(group.id, { role: 'child' }), 422, 'neither individual nor individual_id');
  expectProblem(t, await addMember(UNKNOWN, { role: 'child', individual_id: spouse.id }), 404, 'unknown group');
  const invalid = expectProblem(t, await addMember(group.id, { role: 'child', individual_id: spouse.id, since: 'x' }), 400);
  t.same(invalid.errors?.map((e) => e.pointer), ['/since']);
  t.equal((await get(group.id)).json().version, 3, 'refused changes leave the version alone');

  expectProblem(t, await endMember(group.id, spouse.id, '', '"2"'), 412, 'stale If-Match on end');
  const end = await endMember(group.id, spouse.id, '?end_date=2024-05-31', '"3"');
  t.equal(end.statusCode, 200, end.body);
  t.equal(end.headers.etag, '"4"', 'ending a membership bumps the version');
  t.same(roles(end.json()), ['child', 'head'], 'the ended member is no longer current');
  t.same(roles((await get(group.id)).json()), ['child', 'head']);
  expectProblem(t, await endMember(group.id, spouse.id), 404, 'ending an ended membership');
  expectProblem(t, await endMember(group.id, UNKNOWN), 404, 'ending a membership that never was');
  expectProblem(t, await endMember(group.id, kid, '?end_date=31-05-2024'), 400, 'a malformed end_date');

  const rows = await history(group.id);
  t.same(
    rows.map((r) => [r.role, r.endDate]),
    [['child', null], ['head', null], ['spouse', '2024-05-31']],
    'the ended membership is kept with its end date',
  );
  t.same((await hub.request({ method: 'GET', url: `/api/v1/individuals/${spouse.id}` })).statusCode, 200, 'the individual stays in the registry');

  const back = await addMember(group.id, { role: 'spouse', individual_id: spouse.id });
  t.equal(back.statusCode, 201, 'a former member can rejoin');
  t.equal(back.json().version, 5);
  t.equal((await history(group.id)).filter((r) => r.individualId === spouse.id).length, 2, 'both memberships are on record');

  const today = new Date().toISOString().slice(0, 10);
  const leave = await endMember(group.id, kid);
  t.equal(leave.statusCode, 200);
  t.equal((await history(group.id)).find((r) => r.individualId === kid)?.endDate, today, 'end_date defaults to today');
});

t.test('update: fields, 428/412, body version, kind kept, concurrent writers', async (t) => {
  const loc = await create(t, hub, 'locations', { code: 'G-UPD-LOC', name: 'Upd' });
  const group = await create(t, hub, 'groups', { code: 'G-UPD', kind: 'camp', name: 'Camp', attributes: { tents: 4 } });
  const url = `/api/v1/groups/${group.id}`;
  const patch = (payload: object, ifMatch?: string) =>
    hub.request({ method: 'PATCH', url, payload, ...(ifMatch ? { headers: { 'if-match': ifMatch } } : {}) });

  expectProblem(t, await patch({ name: 'No precondition' }), 428);
  const named = await patch({ name: 'Renamed' }, '"1"');
  t.equal(named.statusCode, 200, named.body);
  t.equal(named.headers.etag, '"2"');
  t.match(named.json(), { code: 'G-UPD', kind: 'camp', name: 'Renamed', version: 2 }, 'fields not in the patch keep their value');
  t.same(named.json().attributes, { tents: 4 });

  const more = await patch({ attributes: { tents: 5, latrines: 1 }, location_id: loc.id, code: 'G-UPD-2', version: 2 });
  t.equal(more.statusCode, 200, more.body);
  t.match(more.json(), { code: 'G-UPD-2', location_id: loc.id, kind: 'camp', version: 3 });
  t.same(more.json().attributes, { tents: 5, latrines: 1 });
  t.same(await listIds(t, hub, '/api/v1/groups?code=G-UPD-2'), [group.id]);

  const cleared = await patch({ name: null, location_id: null }, '"3"');
  t.match(cleared.json(), { name: null, location_id: null, version: 4 });

  expectProblem(t, await patch({ name: 'Stale' }, '"3"'), 412);
  expectProblem(t, await patch({ name: 'Stale', version: 3 }), 412);
  expectProblem(t, await patch({ members: [] }, '"4"'), 400, 'members are not patched');
  const taken = await create(t, hub, 'groups', { code: 'G-UPD-TAKEN' });
  t.same(expectProblem(t, await patch({ code: taken.code }, '"4"'), 409).errors?.map((e) => e.pointer), ['/code']);
  t.same(expectProblem(t, await patch({ location_id: UNKNOWN }, '"4"'), 422).errors?.map((e) => e.pointer), ['/location_id']);
  t.equal((await get(group.id)).json().version, 4, 'refused patches changed nothing');

  const { statuses, responses } = await racedStatuses(
    hub,
    { method: 'PATCH', url, payload: { name: 'Left' }, headers: { 'if-match': '"4"' } },
    { method: 'PATCH', url, payload: { name: 'Right', version: 4 } },
  );
  t.same(statuses, [200, 412], 'exactly one of two writers from the same version wins');
  const read = (await get(group.id)).json();
  t.equal(read.version, 5);
  t.equal(read.name, responses.find((r) => r.statusCode === 200)!.json().name);

  const raceAdd = await racedStatuses(
    hub,
    { method: 'POST', url: `${url}/members`, payload: { role: 'head', individual: { given_name: 'A', family_name: 'Racer' } }, headers: { 'if-match': '"5"' } },
    { method: 'POST', url: `${url}/members`, payload: { role: 'child', individual: { given_name: 'B', family_name: 'Racer' } }, headers: { 'if-match': '"5"' } },
  );
  t.same(raceAdd.statuses, [201, 412], 'membership changes from the same version: one wins');
  t.equal((await get(group.id)).json().members.length, 1);
  t.equal((await listIds(t, hub, '/api/v1/individuals?family_name=Racer')).length, 1, 'the loser\'s inline individual was rolled back');
});

t.test('delete: 204, then 410; memberships end; not listed', async (t) => {
  const group = await create(t, hub, 'groups', {
    code: 'G-DEL',
    members: [
      { role: 'head', individual: { given_name: 'Hd', family_name: 'Gdel' } },
      { role: 'child', individual: { given_name: 'Ch', family_name: 'Gdel' } },
    ],
  });
  const url = `/api/v1/groups/${group.id}`;
  const head = group.members.find((m: MemberView) => m.role === 'head').individual_id;

  expectProblem(t, await hub.request({ method: 'DELETE', url, headers: { 'if-match': '"2"' } }), 412);
  const del = await hub.request({ method: 'DELETE', url, headers: { 'if-match': '"1"' } });
  t.equal(del.statusCode, 204, del.body);
  t.equal(del.body, '');

  expectProblem(t, await get(group.id), 410);
  expectProblem(t, await hub.request({ method: 'PATCH', url, payload: { name: 'x', version: 2 } }), 410, 'PATCH');
  expectProblem(t, await hub.request({ method: 'DELETE', url }), 410, 'second DELETE');
  expectProblem(t, await addMember(group.id, { role: 'child', individual_id: head }), 410, 'adding to a deleted group');
  expectProblem(t, await endMember(group.id, head), 410, 'ending a membership of a deleted group');
  t.same(await listIds(t, hub, '/api/v1/groups?code=G-DEL'), [], 'not listed');
  t.same(await listIds(t, hub, `/api/v1/groups?member_id=${head}`), []);
  t.same(await listIds(t, hub, `/api/v1/individuals?group_id=${group.id}`), [], 'no current members');
  t.ok((await history(group.id)).every((r) => r.endDate !== null), 'every membership ended, none removed');
  t.equal((await history(group.id)).length, 2);
  t.equal((await hub.request({ method: 'GET', url: `/api/v1/individuals/${head}` })).statusCode, 200, 'members stay in the registry');

  const reuse = await hub.request({ method: 'POST', url: '/api/v1/groups', payload: { code: 'G-DEL' } });
  expectProblem(t, reuse, 409, 'the code of a deleted group stays reserved');
  const elsewhere = await create(t, hub, 'groups', { code: 'G-DEL-NEW', members: [{ role: 'head', individual_id: head }] });
  t.same(roles(elsewhere), ['head'], 'a former member can head another group');
  expectProblem(t, await get(UNKNOWN), 404);
  expectProblem(t, await hub.request({ method: 'DELETE', url: `/api/v1/groups/${UNKNOWN}` }), 404);
});

t.test('filters: code, kind, member_id, location_id subtree', async (t) => {
  const province = await create(t, hub, 'locations', { code: 'GF-P', name: 'P' });
  const commune = await create(t, hub, 'locations', { code: 'GF-C', name: 'C', parent_id: province.id });
  const other = await create(t, hub, 'locations', { code: 'GF-O', name: 'O' });
  const person = await create(t, hub, 'individuals', { given_name: 'Multi', family_name: 'Member' });
  const a = await create(t, hub, 'groups', { code: 'GF-A', kind: 'household', location_id: province.id, members: [{ role: 'head', individual_id: person.id }] });
  const b = await create(t, hub, 'groups', { code: 'GF-B', kind: 'cooperative', location_id: commune.id, members: [{ role: 'non_relative', individual_id: person.id }] });
  const c = await create(t, hub, 'groups', { code: 'GF-C', kind: 'cooperative', location_id: other.id });

  t.same(await listIds(t, hub, '/api/v1/groups?code=GF-B'), [b.id]);
  t.same(await listIds(t, hub, '/api/v1/groups?code=gf-b'), [], 'code is exact');
  t.same(sorted(await listIds(t, hub, '/api/v1/groups?kind=cooperative')), sorted([b.id, c.id]));
  t.same(sorted(await listIds(t, hub, `/api/v1/groups?member_id=${person.id}`)), sorted([a.id, b.id]), 'an individual may belong to several groups');
  t.same(sorted(await listIds(t, hub, `/api/v1/groups?location_id=${province.id}`)), sorted([a.id, b.id]), 'location covers the subtree');
  t.same(await listIds(t, hub, `/api/v1/groups?location_id=${commune.id}`), [b.id]);
  t.same(await listIds(t, hub, `/api/v1/groups?location_id=${province.id}&kind=cooperative`), [b.id], 'filters combine');
  t.same(await listIds(t, hub, `/api/v1/groups?member_id=${UNKNOWN}`), []);

  const list = (await hub.request({ method: 'GET', url: '/api/v1/groups?code=GF-A' })).json();
  t.same(list.items[0].members.map((m: MemberView) => m.individual_id), [person.id], 'list items carry their members');

  t.equal((await endMember(b.id, person.id)).statusCode, 200);
  t.same(await listIds(t, hub, `/api/v1/groups?member_id=${person.id}`), [a.id], 'member_id matches current memberships only');
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/groups?member_id=someone' }), 400);
});

t.test('keyset pagination over 7 groups with limit=3', async (t) => {
  const made: string[] = [];
  for (let i = 0; i < 7; i++) made.push((await create(t, hub, 'groups', { kind: 'pager', members: [{ role: 'head', individual: { given_name: `P${i}`, family_name: 'Gpager' } }] })).id);
  const { ids, pageSizes } = await walk(hub, '/api/v1/groups?kind=pager', 3);
  t.same(pageSizes, [3, 3, 1]);
  t.equal(new Set(ids).size, 7, 'no group is seen twice');
  t.same(sorted(ids), sorted(made), 'every group is seen');

  const all = await walk(hub, '/api/v1/groups', 3);
  t.equal(new Set(all.ids).size, all.ids.length, 'unfiltered: no group twice');
  t.ok(made.every((id) => all.ids.includes(id)), 'unfiltered: every group seen');
  const page = (await hub.request({ method: 'GET', url: '/api/v1/groups?kind=pager&limit=3' })).json();
  t.ok(page.items.every((g: { members: MemberView[] }) => g.members.length === 1), 'paged items carry their members');
});

t.test('scopes: registry:read cannot write, and is refused before validation', async (t) => {
  const reader = await hub.client(['registry:read']);
  const group = await create(t, hub, 'groups', { code: 'G-SCOPE', members: [{ role: 'head', individual: { given_name: 'S', family_name: 'Cope' } }] });
  const url = `/api/v1/groups/${group.id}`;
  const head = group.members[0].individual_id;

  t.equal((await hub.request({ method: 'GET', url, token: reader.token })).statusCode, 200);
  expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/groups', payload: { code: 'G-R' }, token: reader.token }), 403);
  expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/groups', payload: { members: 'nope', extra: 1 }, token: reader.token }), 403, 'invalid body');
  expectProblem(t, await hub.request({ method: 'PATCH', url, payload: { name: 'x', version: 1 }, token: reader.token }), 403);
  expectProblem(t, await hub.request({ method: 'DELETE', url, token: reader.token }), 403);
  expectProblem(t, await hub.request({ method: 'POST', url: `${url}/members`, payload: { role: 'child', individual: { given_name: 'A', family_name: 'B' } }, token: reader.token }), 403);
  expectProblem(t, await hub.request({ method: 'POST', url: `${url}/members`, payload: { role: 'nonsense' }, token: reader.token }), 403, 'invalid member');
  expectProblem(t, await hub.request({ method: 'DELETE', url: `${url}/members/${head}`, token: reader.token }), 403);
  const read = (await get(group.id)).json();
  t.equal(read.version, 1, 'nothing changed');
  t.equal(read.members.length, 1);
});

t.test('every write is audited (group and inline individuals) and the chain verifies', async (t) => {
  const existing = await create(t, hub, 'individuals', { given_name: 'Ex', family_name: 'Isting' });
  const group = await create(t, hub, 'groups', { code: 'G-AUD', members: [{ role: 'head', individual: { given_name: 'In', family_name: 'Line' } }] });
  const inline = group.members[0].individual_id;
  t.equal((await addMember(group.id, { role: 'spouse', individual_id: existing.id })).statusCode, 201);
  t.equal((await endMember(group.id, existing.id)).statusCode, 200);
  t.equal((await hub.request({ method: 'PATCH', url: `/api/v1/groups/${group.id}`, payload: { name: 'Audited', version: 3 } })).statusCode, 200);
  expectProblem(t, await addMember(group.id, { role: 'head', individual_id: existing.id }), 409);
  t.equal((await hub.request({ method: 'DELETE', url: `/api/v1/groups/${group.id}` })).statusCode, 204);

  t.same(await auditActions(t, hub, group.id), ['group.create', 'group.member.add', 'group.member.end', 'group.update', 'group.delete']);
  t.same(await auditActions(t, hub, inline), ['individual.create'], 'an inline member is audited as an individual');
  const entries = (await hub.request({ method: 'GET', url: `/api/v1/audit?entity_type=group&entity_id=${group.id}` })).json().items;
  t.equal(entries.length, 5);
  t.ok(entries.slice(0, 4).every((e: { before_digest: string | null }) => e.before_digest !== null), 'changes record the state before');
  await expectAuditChainOk(t, hub);
});
