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
