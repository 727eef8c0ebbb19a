import t, { type Test } from 'tap';
import { testHub, type TestHub } from '../../helpers/hub.js';
import { create, expectProblem } from '../../helpers/registry.js';

const AS_OF = '2026-01-01';

interface Person {
  given_name: string;
  family_name: string;
  sex: 'male' | 'female';
  birth_date: string;
  death_date?: string;
  attributes?: Record<string, unknown>;
}
interface Household {
  code: string;
  province: 'north' | 'south';
  rooms: number | string | null;
  people: { role: string; person: Person }[];
}

const person = (given: string, sex: 'male' | 'female', birth: string, extra: Partial<Person> = {}): Person => ({
  given_name: given,
  family_name: 'Prog',
  sex,
  birth_date: birth,
  ...extra,
});

/** A small registry whose answers are worked out by hand in the assertions below. */
const HOUSEHOLDS: Household[] = [
  { code: 'HH-N1', province: 'north', rooms: 1, people: [
    { role: 'head', person: person('Ann', 'female', '1990-03-01') },
    { role: 'child', person: person('Bo', 'male', '2023-05-01') },
  ] },
  { code: 'HH-N2', province: 'north', rooms: 3, people: [
    { role: 'head', person: person('Cy', 'male', '1950-01-01') },
    { role: 'child', person: person('Di', 'female', '2024-01-01') },
  ] },
  { code: 'HH-S1', province: 'south', rooms: 2, people: [
    { role: 'head', person: person('Ed', 'male', '1985-07-01') },
    { role: 'spouse', person: person('Fay', 'female', '1987-07-01', { attributes: { disabled: true } }) },
    { role: 'child', person: person('Gus', 'male', '2022-02-01') },
    { role: 'child', person: person('Hal', 'male', '2021-12-31') },
  ] },
  { code: 'HH-S2', province: 'south', rooms: 'two', people: [
    { role: 'head', person: person('Ivy', 'female', '1940-01-01', { death_date: '2025-06-01' }) },
    { role: 'child', person: person('Jo', 'female', '2023-01-01') },
  ] },
];

async function registry(t: Test, hub: TestHub) {
  for (const definition of [
    { subject: 'group', name: 'rooms', type: 'number' },
    { subject: 'individual', name: 'disabled', type: 'boolean' },
  ]) {
    t.equal((await hub.request({ method: 'POST', url: '/api/v1/attribute-definitions', payload: definition })).statusCode, 201);
  }
  const north = await create(t, hub, 'locations', { code: 'NORTH', name: 'North' });
  const south = await create(t, hub, 'locations', { code: 'SOUTH', name: 'South' });
  const northHill = await create(t, hub, 'locations', { code: 'NORTH-1', name: 'North hill', parent_id: north.id });
  const areas = { north: northHill.id as string, south: south.id as string };
  const ids = new Map<string, string>();
  for (const household of HOUSEHOLDS) {
    const created = await create(t, hub, 'groups', {
      code: household.code,
      location_id: areas[household.province],
      attributes: household.rooms === null ? {} : { rooms: household.rooms },
      members: household.people.map(({ role, person }) => ({ role, individual: { ...person, location_id: areas[household.province] } })),
    });
    ids.set(household.code, created.id);
  }
  return { north, south, ids };
}

t.test('household programme: formulas checked on save, preview counts worked out by hand', async (t) => {
  const hub = await testHub(t);
  const { north, south, ids } = await registry(t, hub);

  const bad = expectProblem(
    t,
    await hub.request({ method: 'POST', url: '/api/v1/programmes', payload: { code: 'BAD', subject: 'group', eligibility: 'rooms <= 2 and wealth < 3' } }),
    422,
  );
  t.match(bad.errors, [{ pointer: '/eligibility', detail: /unknown name "wealth" \(at character 16\)/ }]);
  const badScore = expectProblem(
    t,
    await hub.request({ method: 'POST', url: '/api/v1/programmes', payload: { code: 'BAD', subject: 'group', score: 'rooms > 1' } }),
    422,
  );
  t.match(badScore.errors, [{ pointer: '/score', detail: /must give a number/ }]);

  const programme = await create(t, hub, 'programmes', {
    code: 'CCT-U5',
    subject: 'group',
    name: 'Cash for households with young children',
    eligibility: 'count_members(age < 5) > 0 and rooms <= 2',
    score: 'rooms * 10 - count_members()',
    quota: 100,
    currency: 'BIF',
  });
  t.equal(programme.status, 'draft');

  const preview = await hub.request({
    method: 'POST',
    url: `/api/v1/programmes/${programme.id}/eligibility/preview`,
    payload: { as_of: AS_OF },
  });
  t.equal(preview.statusCode, 200, preview.body);
  // HH-N1: 1 room, a child of 2 → eligible, score 10 - 2 = 8. HH-N2: 3 rooms → no. HH-S1: 2 rooms, children of
  // 3 and 4 → eligible, score 20 - 4 = 16. HH-S2: rooms is text, so unknown → not eligible.
  t.same(preview.json(), {
    as_of: AS_OF,
    considered: 4,
    eligible: 2,
    by_location: [
      { location_id: north.id, code: 'NORTH', name: 'North', eligible: 1 },
      { location_id: south.id, code: 'SOUTH', name: 'South', eligible: 1 },
    ],
    by_sex: [
      { sex: 'female', eligible: 1 },
      { sex: 'male', eligible: 1 },
    ],
    sample: [
      { id: ids.get('HH-N1'), label: 'HH-N1', score: 8 },
      { id: ids.get('HH-S1'), label: 'HH-S1', score: 16 },
    ],
  });

  const byHill = await hub.request({ method: 'POST', url: `/api/v1/programmes/${programme.id}/eligibility/preview`, payload: { as_of: AS_OF, by_level: 2, sample: 0 } });
  t.same(byHill.json().by_location.map((l: { code: string }) => l.code), ['NORTH-1'], 'level 2 counts only areas that deep');
  t.same(byHill.json().sample, []);

  const later = await hub.request({ method: 'POST', url: `/api/v1/programmes/${programme.id}/eligibility/preview`, payload: { as_of: '2027-06-01' } });
  t.equal(later.json().eligible, 1, 'on a later date the children of HH-S1 are 5 and over');

  const patched = await hub.request({
    method: 'PATCH',
    url: `/api/v1/programmes/${programme.id}`,
    headers: { 'if-match': '"1"' },
    payload: { eligibility: 'size >= 2' },
  });
  t.equal(patched.statusCode, 200, patched.body);
  t.equal(patched.headers.etag, '"2"');
  const widened = await hub.request({ method: 'POST', url: `/api/v1/programmes/${programme.id}/eligibility/preview`, payload: { as_of: AS_OF } });
  t.equal(widened.json().eligible, 4);
  t.equal(widened.json().sample.at(-1).id, ids.get('HH-S2'), 'an unknown score ranks last');
  expectProblem(
    t,
    await hub.request({ method: 'PATCH', url: `/api/v1/programmes/${programme.id}`, headers: { 'if-match': '"1"' }, payload: { name: 'stale' } }),
    412,
  );
});

t.test('individual programme: deceased people are never eligible; geographic scope applies', async (t) => {
  const hub = await testHub(t);
  const { north } = await registry(t, hub);
  const programme = await create(t, hub, 'programmes', {
    code: 'PENSION',
    subject: 'individual',
    eligibility: 'age >= 60 or disabled',
    score: '-age',
  });
  const preview = await hub.request({ method: 'POST', url: `/api/v1/programmes/${programme.id}/eligibility/preview`, payload: { as_of: AS_OF } });
  // Cy (75) and Fay (disabled); Ivy (86) is deceased. Jo's household head died, Jo still counts as considered.
  t.equal(preview.json().considered, 9, 'ten people, one deceased');
  t.equal(preview.json().eligible, 2);
  t.same(preview.json().sample.map((s: { label: string }) => s.label), ['Cy Prog', 'Fay Prog']);
  t.same(preview.json().by_sex, [{ sex: 'female', eligible: 1 }, { sex: 'male', eligible: 1 }]);

  const scoped = await hub.client(['programmes:read', 'programmes:write'], { location_id: north.id });
  const forbidden = await hub.request({ method: 'GET', url: `/api/v1/programmes/${programme.id}`, token: scoped.token });
  expectProblem(t, forbidden, 404, 'a national programme is outside a regional client scope');
  const regional = await hub.request({
    method: 'POST',
    url: '/api/v1/programmes',
    token: scoped.token,
    payload: { code: 'PENSION-N', subject: 'individual', eligibility: 'age >= 60 or disabled', location_id: north.id },
  });
  t.equal(regional.statusCode, 201, regional.body);
  const regionalPreview = await hub.request({
    method: 'POST',
    url: `/api/v1/programmes/${regional.json().id}/eligibility/preview`,
    token: scoped.token,
    payload: { as_of: AS_OF },
  });
  t.equal(regionalPreview.json().considered, 4, 'only people in the north');
  t.equal(regionalPreview.json().eligible, 1, 'Cy');
});

t.test('scopes: reading programmes does not allow writing them', async (t) => {
  const hub = await testHub(t);
  const reader = await hub.client(['programmes:read']);
  const res = await hub.request({ method: 'POST', url: '/api/v1/programmes', token: reader.token, payload: { code: 'X', subject: 'group' } });
  expectProblem(t, res, 403);
  expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/attribute-definitions', token: reader.token, payload: {} }), 403);
  const duplicate = { subject: 'group', name: 'rooms', type: 'number' };
  t.equal((await hub.request({ method: 'POST', url: '/api/v1/attribute-definitions', payload: duplicate })).statusCode, 201);
  expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/attribute-definitions', payload: duplicate }), 409);
});

t.test('enrolment within the quota, lifecycle with history, bulk changes, deaths, benefits pages', async (t) => {
  const hub = await testHub(t);
  const { ids } = await registry(t, hub);
  const draft = await create(t, hub, 'programmes', { code: 'DRAFT', subject: 'group' });
  expectProblem(t, await hub.request({ method: 'POST', url: `/api/v1/programmes/${draft.id}/enrolment`, payload: {} }), 409, 'a draft programme');

  const programme = await create(t, hub, 'programmes', {
    code: 'CCT',
    subject: 'group',
    status: 'active',
    eligibility: 'count_members(age < 5) > 0 and rooms <= 2',
    score: 'rooms * 10 - count_members()',
    quota: 1,
  });
  const enrolUrl = `/api/v1/programmes/${programme.id}/enrolment`;
  const first = await hub.request({ method: 'POST', url: enrolUrl, payload: { as_of: AS_OF } });
  t.same(first.json(), { as_of: AS_OF, status: 'POTENTIAL', enrolled: 1, remaining_quota: 0 }, 'the quota takes the best-ranked one');
  const again = await hub.request({ method: 'POST', url: enrolUrl, payload: { as_of: AS_OF } });
  t.equal(again.json().enrolled, 0, 'a full quota enrols no one');

  const list = async (query = '') => (await hub.request({ method: 'GET', url: `/api/v1/programmes/${programme.id}/beneficiaries${query}` })).json().items;
  const [potential] = await list();
  t.equal(potential.subject_id, ids.get('HH-N1'));
  t.equal(potential.score, 8);

  t.equal(
    (await hub.request({ method: 'PATCH', url: `/api/v1/programmes/${programme.id}`, headers: { 'if-match': '"1"' }, payload: { quota: 5 } })).statusCode,
    200,
  );
  const second = await hub.request({ method: 'POST', url: enrolUrl, payload: { as_of: AS_OF, activate: true, reason: 'second wave' } });
  t.same(second.json(), { as_of: AS_OF, status: 'ACTIVE', enrolled: 1, remaining_quota: 3 }, 'only the other eligible household is left');
  t.same((await list('?status=ACTIVE')).map((b: { subject_id: string }) => b.subject_id), [ids.get('HH-S1')]);

  const statusUrl = `/api/v1/programmes/${programme.id}/beneficiaries/${potential.id}/status`;
  const move = (status: string, reason: string) => hub.request({ method: 'POST', url: statusUrl, payload: { status, reason } });
  t.equal((await move('ACTIVE', 'verified at home visit')).json().status, 'ACTIVE');
  t.equal((await move('SUSPENDED', 'missed two health visits')).json().status, 'SUSPENDED');
  t.equal((await move('ACTIVE', 'visits resumed')).json().status, 'ACTIVE');
  const graduated = (await move('GRADUATED', 'income above threshold')).json();
  t.equal(graduated.status, 'GRADUATED');
  t.same(
    graduated.history.map((h: { from: string | null; to: string; reason: string }) => [h.from, h.to, h.reason]),
    [
      [null, 'POTENTIAL', `enrolled on eligibility as of ${AS_OF}`],
      ['POTENTIAL', 'ACTIVE', 'verified at home visit'],
      ['ACTIVE', 'SUSPENDED', 'missed two health visits'],
      ['SUSPENDED', 'ACTIVE', 'visits resumed'],
      ['ACTIVE', 'GRADUATED', 'income above threshold'],
    ],
  );
  t.ok(graduated.history.every((h: { actor: string }) => h.actor === 'bootstrap-admin'), 'who decided is recorded');
  expectProblem(t, await move('ACTIVE', 'back again'), 409, 'graduation is final');
  expectProblem(t, await move('POTENTIAL', 'start over'), 409, 'POTENTIAL is entered only by enrolment');

  const bulk = await hub.request({
    method: 'POST',
    url: `/api/v1/programmes/${programme.id}/beneficiaries/status`,
    payload: { status: 'SUSPENDED', reason: 'budget freeze', where: { status: 'ACTIVE' } },
  });
  t.same(bulk.json(), { changed: 1 });
  t.same((await list('?status=SUSPENDED')).map((b: { subject_id: string }) => b.subject_id), [ids.get('HH-S1')]);

  const benefits = await hub.request({ method: 'GET', url: `/api/v1/groups/${ids.get('HH-S1')}/benefits` });
  t.match(benefits.json().items, [{ programme_code: 'CCT', status: 'SUSPENDED' }], "the household's page lists its benefits");
});

t.test('recording a death suspends the person\'s active benefits, with the death as the reason', async (t) => {
  const hub = await testHub(t);
  await registry(t, hub);
  const pension = await create(t, hub, 'programmes', { code: 'PENSION', subject: 'individual', status: 'active', eligibility: 'age >= 60' });
  t.equal((await hub.request({ method: 'POST', url: `/api/v1/programmes/${pension.id}/enrolment`, payload: { as_of: AS_OF, activate: true } })).json().enrolled, 1);
  const cy = (await hub.request({ method: 'GET', url: '/api/v1/individuals?given_name=Cy' })).json().items[0];
  const died = await hub.request({
    method: 'PATCH',
    url: `/api/v1/individuals/${cy.id}`,
    headers: { 'if-match': `"${cy.version}"` },
    payload: { death_date: '2026-02-03' },
  });
  t.equal(died.statusCode, 200, died.body);
  const benefits = (await hub.request({ method: 'GET', url: `/api/v1/individuals/${cy.id}/benefits` })).json().items;
  t.match(benefits, [{ programme_code: 'PENSION', status: 'SUSPENDED' }]);
  const beneficiary = await hub.request({
    method: 'GET',
    url: `/api/v1/programmes/${pension.id}/beneficiaries/${benefits[0].beneficiary_id}`,
  });
  t.equal(beneficiary.json().reason, 'deceased on 2026-02-03');
  const audit = (await hub.request({ method: 'GET', url: `/api/v1/audit?entity_type=beneficiary` })).json().items;
  t.match(audit, [{ action: 'beneficiary.status', actor: 'bootstrap-admin' }], 'the suspension is audited');
  const reenrol = await hub.request({ method: 'POST', url: `/api/v1/programmes/${pension.id}/enrolment`, payload: { as_of: AS_OF } });
  t.equal(reenrol.json().enrolled, 0, 'a deceased person is never enrolled again');
});
