import t, { type Test } from 'tap';
import { testHub } from '../helpers/hub.js';
import { create, expectProblem, listIds, walk } from '../helpers/registry.js';

/**
 * A client with a geographic scope (province A) sees and changes only records located in A's subtree; records
 * elsewhere (province B, or with no location) do not exist for it (404), and it cannot place records outside A (403).
 */

t.test('a client scoped to province A', async (t) => {
  const hub = await testHub(t);
  const sorted = (ids: string[]) => [...ids].sort();

  // The registry, built by the (unscoped) admin client.
  const A = await create(t, hub, 'locations', { code: 'PROV-A', name: 'Province A', kind: 'province' });
  const A1 = await create(t, hub, 'locations', { code: 'COMM-A1', name: 'Commune A1', kind: 'commune', parent_id: A.id });
  const B = await create(t, hub, 'locations', { code: 'PROV-B', name: 'Province B', kind: 'province' });
  const B1 = await create(t, hub, 'locations', { code: 'COMM-B1', name: 'Commune B1', kind: 'commune', parent_id: B.id });
  const person = (t: Test, given: string, location_id?: string) =>
    create(t, hub, 'individuals', { given_name: given, family_name: 'Geo', ...(location_id ? { location_id } : {}) });
  const inA = await person(t, 'InA', A.id);
  const inA1 = await person(t, 'InA1', A1.id);
  const inB = await person(t, 'InB', B.id);
  const inB1 = await person(t, 'InB1', B1.id);
  const nowhere = await person(t, 'Nowhere');
  const householdA1 = await create(t, hub, 'groups', { code: 'HH-A1', location_id: A1.id, members: [{ role: 'head', individual_id: inA1.id }] });
  const householdB = await create(t, hub, 'groups', { code: 'HH-B', location_id: B.id, members: [{ role: 'head', individual_id: inB.id }] });
  const householdNowhere = await create(t, hub, 'groups', { code: 'HH-NOWHERE', members: [{ role: 'head', individual_id: nowhere.id }] });

  const scoped = await hub.client(['registry:read', 'registry:write'], { location_id: A.id });
  const as = (options: Parameters<typeof hub.request>[0]) => hub.request({ ...options, token: scoped.token });
  /** The admin's view of a record's version: proves a refused scoped write changed nothing. */
  const adminVersion = async (path: string) => (await hub.request({ method: 'GET', url: `/api/v1/${path}` })).json().version;

  await t.test('the client carries its geographic scope', async (t) => {
    const res = await hub.request({ method: 'GET', url: `/api/v1/clients/${scoped.clientId}` });
    t.equal(res.json().location_id, A.id);
    t.same(res.json().scopes, ['registry:read', 'registry:write']);
  });

  await t.test('lists return only records in the A subtree', async (t) => {
    t.same(sorted(await listIds(t, hub, '/api/v1/individuals', scoped.token)), sorted([inA.id, inA1.id]), 'individuals');
    t.same(await listIds(t, hub, '/api/v1/groups', scoped.token), [householdA1.id], 'groups');
    t.same(sorted(await listIds(t, hub, '/api/v1/locations', scoped.token)), sorted([A.id, A1.id]), 'locations: the scope root and below');

    const walked = await walk(hub, '/api/v1/individuals', 1, scoped.token);
    t.same(sorted(walked.ids), sorted([inA.id, inA1.id]), 'paging never crosses the scope');

    t.same(await listIds(t, hub, `/api/v1/individuals?location_id=${B.id}`, scoped.token), [], 'a location filter cannot widen the scope');
    t.same(await listIds(t, hub, `/api/v1/groups?location_id=${B.id}`, scoped.token), []);
    t.same(await listIds(t, hub, `/api/v1/locations?within=${B.id}`, scoped.token), []);
    t.same(await listIds(t, hub, `/api/v1/locations?parent_id=${B.id}`, scoped.token), []);
    t.same(await listIds(t, hub, `/api/v1/individuals?group_id=${householdB.id}`, scoped.token), []);
    t.same(await listIds(t, hub, `/api/v1/groups?member_id=${inB.id}`, scoped.token), []);
    t.same(await listIds(t, hub, '/api/v1/groups?code=HH-B', scoped.token), []);
    t.same(await listIds(t, hub, `/api/v1/individuals?location_id=${A1.id}`, scoped.token), [inA1.id], 'filters still work inside the scope');

    t.equal((await listIds(t, hub, '/api/v1/individuals?family_name=Geo')).length, 5, 'the admin still sees everyone');
  });

  await t.test('reads by id outside the subtree are 404', async (t) => {
    t.equal((await as({ method: 'GET', url: `/api/v1/individuals/${inA1.id}` })).statusCode, 200);
    t.equal((await as({ method: 'GET', url: `/api/v1/groups/${householdA1.id}` })).statusCode, 200);
    t.equal((await as({ method: 'GET', url: `/api/v1/locations/${A1.id}` })).statusCode, 200);

    expectProblem(t, await as({ method: 'GET', url: `/api/v1/individuals/${inB.id}` }), 404, 'individual in B');
    expectProblem(t, await as({ method: 'GET', url: `/api/v1/individuals/${inB1.id}` }), 404, 'individual below B');
    expectProblem(t, await as({ method: 'GET', url: `/api/v1/individuals/${nowhere.id}` }), 404, 'individual with no location');
    expectProblem(t, await as({ method: 'GET', url: `/api/v1/groups/${householdB.id}` }), 404, 'group in B');
    expectProblem(t, await as({ method: 'GET', url: `/api/v1/groups/${householdNowhere.id}` }), 404, 'group with no location');
    expectProblem(t, await as({ method: 'GET', url: `/api/v1/locations/${B.id}` }), 404, 'location B');
    expectProblem(t, await as({ method: 'GET', url: `/api/v1/locations/${B1.id}` }), 404, 'location below B');

    const deletedInB = await person(t, 'DeletedInB', B.id);
    t.equal((await hub.request({ method: 'DELETE', url: `/api/v1/individuals/${deletedInB.id}` })).statusCode, 204);
    expectProblem(t, await as({ method: 'GET', url: `/api/v1/individuals/${deletedInB.id}` }), 404, 'a deleted record outside the scope is 404, not 410');
  });

  await t.test('updates and deletes outside the subtree are 404 and change nothing', async (t) => {
    const patchB = await as({ method: 'PATCH', url: `/api/v1/individuals/${inB.id}`, payload: { given_name: 'Hijacked', version: 1 } });
    expectProblem(t, patchB, 404, 'PATCH individual in B');
    expectProblem(t, await as({ method: 'DELETE', url: `/api/v1/individuals/${inB.id}` }), 404, 'DELETE individual in B');
    expectProblem(t, await as({ method: 'PATCH', url: `/api/v1/individuals/${nowhere.id}`, payload: { location_id: A.id, version: 1 } }), 404, 'claiming an unlocated individual');
    expectProblem(t, await as({ method: 'PATCH', url: `/api/v1/groups/${householdB.id}`, payload: { name: 'x', version: 1 } }), 404, 'PATCH group in B');
    expectProblem(t, await as({ method: 'DELETE', url: `/api/v1/groups/${householdB.id}` }), 404, 'DELETE group in B');
    const addToB = await as({ method: 'POST', url: `/api/v1/groups/${householdB.id}/members`, payload: { role: 'child', individual_id: inA.id } });
    expectProblem(t, addToB, 404, 'adding a member to a group in B');
    expectProblem(t, await as({ method: 'DELETE', url: `/api/v1/groups/${householdB.id}/members/${inB.id}` }), 404, 'ending a membership in B');
    expectProblem(t, await as({ method: 'PATCH', url: `/api/v1/locations/${B.id}`, payload: { name: 'x', version: 1 } }), 404, 'PATCH location B');
    expectProblem(t, await as({ method: 'DELETE', url: `/api/v1/locations/${B1.id}` }), 404, 'DELETE location below B');

    t.equal(await adminVersion(`individuals/${inB.id}`), 1);
    t.equal(await adminVersion(`individuals/${nowhere.id}`), 1);
    t.equal(await adminVersion(`groups/${householdB.id}`), 1);
    t.equal(await adminVersion(`locations/${B.id}`), 1);
    t.equal(await adminVersion(`locations/${B1.id}`), 1);
    t.same((await hub.request({ method: 'GET', url: `/api/v1/groups/${householdB.id}` })).json().members.map((m: { individual_id: string }) => m.individual_id), [inB.id]);
  });

  await t.test('creating records outside the subtree (or unlocated) is 403', async (t) => {
    const inBNew = await as({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'New', family_name: 'InB', location_id: B.id } });
    t.same(expectProblem(t, inBNew, 403).errors?.map((e) => e.pointer), ['/location_id']);
    expectProblem(t, await as({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'New', family_name: 'InB1', location_id: B1.id } }), 403, 'below B');
    const unlocated = await as({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'New', family_name: 'Unlocated' } });
    t.same(expectProblem(t, unlocated, 403).errors?.map((e) => e.pointer), ['/location_id'], 'no location');
    expectProblem(t, await as({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'New', family_name: 'Null', location_id: null } }), 403, 'null location');
    expectProblem(t, await as({ method: 'POST', url: '/api/v1/groups', payload: { code: 'HH-NEW-B', location_id: B.id } }), 403, 'group in B');
    expectProblem(t, await as({ method: 'POST', url: '/api/v1/groups', payload: { code: 'HH-NEW-NONE' } }), 403, 'unlocated group');
    expectProblem(t, await as({ method: 'POST', url: '/api/v1/locations', payload: { code: 'ROOT-C', name: 'Root' } }), 403, 'a root location');
    const underB = await as({ method: 'POST', url: '/api/v1/locations', payload: { code: 'UNDER-B', name: 'x', parent_id: B.id } });
    t.same(expectProblem(t, underB, 422).errors?.map((e) => e.pointer), ['/parent_id'], 'a parent outside the scope does not exist for the client');

    for (const family of ['InB', 'InB1', 'Unlocated', 'Null']) {
      t.same(await listIds(t, hub, `/api/v1/individuals?family_name=${family}`), [], `${family} was not created`);
    }
    t.same(await listIds(t, hub, '/api/v1/groups?code=HH-NEW-B'), []);

    const ok = await create(t, hub, 'individuals', { given_name: 'New', family_name: 'InA1', location_id: A1.id }, scoped.token);
    t.equal(ok.location_id, A1.id, 'inside the subtree is fine');
    const okGroup = await create(t, hub, 'groups', { code: 'HH-NEW-A', location_id: A.id, members: [{ role: 'head', individual_id: ok.id }] }, scoped.token);
    t.equal(okGroup.members.length, 1);
    const okLoc = await create(t, hub, 'locations', { code: 'COLL-A1', name: 'Colline', parent_id: A1.id }, scoped.token);
    t.equal(okLoc.level, 3);
    t.ok((await listIds(t, hub, '/api/v1/locations', scoped.token)).includes(okLoc.id), 'a new area below A is in scope');
  });

  await t.test('moving a record out of the subtree is 403', async (t) => {
    const mover = await create(t, hub, 'individuals', { given_name: 'Mover', family_name: 'Geo2', location_id: A1.id }, scoped.token);
    const url = `/api/v1/individuals/${mover.id}`;
    const toB = await as({ method: 'PATCH', url, payload: { location_id: B.id }, headers: { 'if-match': '"1"' } });
    t.same(expectProblem(t, toB, 403).errors?.map((e) => e.pointer), ['/location_id']);
    expectProblem(t, await as({ method: 'PATCH', url, payload: { location_id: null }, headers: { 'if-match': '"1"' } }), 403, 'to no location');
    t.equal((await hub.request({ method: 'GET', url })).json().location_id, A1.id, 'still in A1');
    const within = await as({ method: 'PATCH', url, payload: { location_id: A.id }, headers: { 'if-match': '"1"' } });
    t.equal(within.statusCode, 200, 'moving inside the subtree is fine');
    t.equal(within.json().location_id, A.id);

    const groupUrl = `/api/v1/groups/${householdA1.id}`;
    const groupToB = await as({ method: 'PATCH', url: groupUrl, payload: { location_id: B.id }, headers: { 'if-match': '"1"' } });
    t.same(expectProblem(t, groupToB, 403).errors?.map((e) => e.pointer), ['/location_id']);
    expectProblem(t, await as({ method: 'PATCH', url: groupUrl, payload: { location_id: null }, headers: { 'if-match': '"1"' } }), 403, 'group to no location');
    t.equal(await adminVersion(`groups/${householdA1.id}`), 1, 'the group did not move');
    t.equal((await hub.request({ method: 'GET', url: groupUrl })).json().location_id, A1.id);
  });

  await t.test('members from outside the subtree are refused', async (t) => {
    const household = await create(t, hub, 'groups', { code: 'HH-A-MEM', location_id: A.id, members: [{ role: 'head', individual_id: inA.id }] }, scoped.token);
    const url = `/api/v1/groups/${household.id}/members`;

    const existingB = await as({ method: 'POST', url, payload: { role: 'spouse', individual_id: inB.id } });
    t.same(expectProblem(t, existingB, 422).errors?.map((e) => e.pointer), ['/individual_id'], 'an individual in B does not exist for the client');
    expectProblem(t, await as({ method: 'POST', url, payload: { role: 'spouse', individual_id: nowhere.id } }), 422, 'an unlocated individual');
    const inlineB = await as({ method: 'POST', url, payload: { role: 'child', individual: { given_name: 'Kid', family_name: 'InlineB', location_id: B.id } } });
    t.same(expectProblem(t, inlineB, 403).errors?.map((e) => e.pointer), ['/individual/location_id']);
    expectProblem(t, await as({ method: 'POST', url, payload: { role: 'child', individual: { given_name: 'Kid', family_name: 'InlineNone' } } }), 403, 'an inline member with no location');

    const createWithB = await as({
      method: 'POST',
      url: '/api/v1/groups',
      payload: { code: 'HH-A-WITH-B', location_id: A.id, members: [{ role: 'head', individual_id: inB.id }] },
    });
    t.same(expectProblem(t, createWithB, 422).errors?.map((e) => e.pointer), ['/members/0/individual_id']);
    t.same(await listIds(t, hub, '/api/v1/groups?code=HH-A-WITH-B'), [], 'the group was not created');

    const read = (await hub.request({ method: 'GET', url: `/api/v1/groups/${household.id}` })).json();
    t.same(read.members.map((m: { individual_id: string }) => m.individual_id), [inA.id], 'only the head, as before');
    t.equal(read.version, 1);
    t.same(await listIds(t, hub, '/api/v1/groups?member_id=' + inB.id), [householdB.id], 'the B individual joined nothing');
    t.same(await listIds(t, hub, '/api/v1/individuals?family_name=InlineB'), []);

    const okInline = await as({ method: 'POST', url, payload: { role: 'child', individual: { given_name: 'Kid', family_name: 'InlineA', location_id: A1.id } } });
    t.equal(okInline.statusCode, 201, 'an inline member inside the subtree is fine');
  });

  await t.test('the scoped client\'s writes are audited under its own id', async (t) => {
    const made = await create(t, hub, 'individuals', { given_name: 'Audited', family_name: 'Geo3', location_id: A.id }, scoped.token);
    const entries = (await hub.request({ method: 'GET', url: `/api/v1/audit?entity_id=${made.id}` })).json().items;
    t.same(entries.map((e: { actor: string; action: string }) => [e.actor, e.action]), [[scoped.clientId, 'individual.create']]);
    const verify = await hub.request({ method: 'GET', url: '/api/v1/audit/verify' });
    t.equal(verify.json().ok, true);
  });
  await t.test('a household in A does not show its members located outside A', async (t) => {
    const mixed = await create(t, hub, 'groups', {
      code: 'HH-A-MIXED',
      location_id: A.id,
      members: [{ role: 'head', individual_id: inA.id }, { role: 'spouse', individual_id: inB1.id }],
    });
    t.equal(mixed.members.length, 2, 'the admin sees both members');
    const scopedRead = (await as({ method: 'GET', url: `/api/v1/groups/${mixed.id}` })).json();
    t.same(scopedRead.members.map((m: { individual_id: string }) => m.individual_id), [inA.id], 'the scoped client sees only the member in A');
    const scopedList = (await as({ method: 'GET', url: '/api/v1/groups?code=HH-A-MIXED' })).json();
    t.same(scopedList.items[0].members.map((m: { individual_id: string }) => m.individual_id), [inA.id], 'in lists too');
  });
});
