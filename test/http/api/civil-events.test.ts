import t, { type Test } from 'tap';
import { testHub, type TestHub } from '../../helpers/hub.js';
import { create, expectProblem, walk } from '../../helpers/registry.js';

/** Civil events are not versioned records: a 201 with the event, no ETag. */
async function record(t: Test, hub: TestHub, payload: object) {
  const res = await hub.request({ method: 'POST', url: '/api/v1/civil-events', payload });
  t.equal(res.statusCode, 201, 'recorded', { body: res.body });
  t.equal(res.headers.location, `/api/v1/civil-events/${res.json().id}`);
  return res.json();
}

t.test('civil events: record, read, list; a death suspends benefits, a birth joins a household', async (t) => {
  const hub = await testHub(t);
  const north = await create(t, hub, 'locations', { code: 'north', name: 'North' });
  const south = await create(t, hub, 'locations', { code: 'south', name: 'South' });
  const household = await create(t, hub, 'groups', {
    code: 'HH-CE1',
    location_id: north.id,
    members: [
      { role: 'head', individual: { given_name: 'Maria', family_name: 'Civil', sex: 'female', birth_date: '1990-01-01', location_id: north.id, identifiers: [{ type: 'UIN', value: 'U-MARIA' }] } },
      { role: 'spouse', individual: { given_name: 'Jon', family_name: 'Civil', sex: 'male', birth_date: '1940-01-01', location_id: north.id, identifiers: [{ type: 'UIN', value: 'U-JON' }] } },
    ],
  });
  const [maria, jon] = [household.members.find((m: any) => m.given_name === 'Maria'), household.members.find((m: any) => m.given_name === 'Jon')];
  const pension = await create(t, hub, 'programmes', { code: 'PENSION', subject: 'individual', status: 'active', eligibility: 'age >= 60' });
  const enrolled = await hub.request({ method: 'POST', url: `/api/v1/programmes/${pension.id}/enrolment`, payload: { activate: true } });
  t.equal(enrolled.json().enrolled, 1, 'Jon is a pensioner');

  t.test('a death sets the death date and suspends benefits with the registration as the reason, at once', async (t) => {
    const death = await record(t, hub, {
      event_type: 'death',
      registration_number: 'D-2025-1',
      event_date: '2025-03-02',
      registration_date: '2025-03-05',
      place_id: north.id,
      subject: { individual_id: jon.individual_id },
      parties: [{ role: 'informant', individual_id: maria.individual_id }],
    });
    t.match(death, { event_type: 'death', source: 'local', subject_id: jon.individual_id, registration_date: '2025-03-05' });
    const person = (await hub.request({ method: 'GET', url: `/api/v1/individuals/${jon.individual_id}` })).json();
    t.equal(person.death_date, '2025-03-02');
    const benefits = (await hub.request({ method: 'GET', url: `/api/v1/individuals/${jon.individual_id}/benefits` })).json().items;
    t.equal(benefits[0].status, 'SUSPENDED');
    const beneficiary = (await hub.request({ method: 'GET', url: `/api/v1/programmes/${pension.id}/beneficiaries/${benefits[0].beneficiary_id}` })).json();
    t.equal(beneficiary.reason, 'death registered (D-2025-1) on 2025-03-02');

    expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/civil-events', payload: { event_type: 'death', registration_number: 'D-2025-1', event_date: '2025-03-02', subject: { individual_id: jon.individual_id } } }), 409, 'the same registration twice');
    const read = await hub.request({ method: 'GET', url: `/api/v1/civil-events/${death.id}` });
    t.same(read.json(), death);
  });

  t.test('a birth creates the newborn and adds them to the mother’s household', async (t) => {
    const birth = await record(t, hub, {
      event_type: 'birth',
      registration_number: 'B-2025-7',
      event_date: '2025-05-01',
      place_id: north.id,
      subject: { individual: { given_name: 'Baby', family_name: 'Civil', sex: 'female', location_id: north.id } },
      parties: [{ role: 'mother', individual_id: maria.individual_id }, { role: 'father', given_name: 'Absent', family_name: 'Father' }],
      add_to_household: true,
    });
    t.equal(birth.household_id, household.id);
    const baby = (await hub.request({ method: 'GET', url: `/api/v1/individuals/${birth.subject_id}` })).json();
    t.equal(baby.birth_date, '2025-05-01', 'dated by the event');
    const group = (await hub.request({ method: 'GET', url: `/api/v1/groups/${household.id}` })).json();
    t.ok(group.members.some((m: any) => m.individual_id === birth.subject_id && m.role === 'child'));
  });

  t.test('rules: dates, unknown people, scopes', async (t) => {
    const future = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/civil-events', payload: { event_type: 'birth', registration_number: 'B-X', event_date: '2999-01-01', subject: { individual_id: maria.individual_id } } }), 422);
    t.same(future.errors?.map((e) => e.pointer), ['/event_date']);
    const early = expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/civil-events', payload: { event_type: 'marriage', registration_number: 'M-X', event_date: '2024-01-02', registration_date: '2024-01-01', subject: { individual_id: maria.individual_id } } }), 422);
    t.same(early.errors?.map((e) => e.pointer), ['/registration_date']);
    expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/civil-events', payload: { event_type: 'marriage', registration_number: 'M-Y', event_date: '2024-01-02', subject: { individual_id: maria.individual_id }, parties: [{ role: 'spouse', individual_id: '00000000-0000-4000-8000-000000000000' }] } }), 422, 'an unknown spouse');
    expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/civil-events', payload: { event_type: 'wedding', registration_number: 'W', event_date: '2024-01-02', subject: { individual_id: maria.individual_id } } }), 400, 'an unknown type');

    const reader = await hub.client(['crvs:read']);
    expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/civil-events', token: reader.token, payload: {} }), 403, 'crvs:write is needed to record');
    const southReader = await hub.client(['crvs:read'], { location_id: south.id });
    const none = await hub.request({ method: 'GET', url: '/api/v1/civil-events', token: southReader.token });
    t.same(none.json().items, [], 'events of people outside the geographic scope are not listed');
  });

  t.test('list with filters and keyset pages', async (t) => {
    for (const n of [1, 2, 3, 4]) {
      await record(t, hub, { event_type: 'marriage', registration_number: `M-${n}`, event_date: `2024-0${n}-01`, registration_date: `2024-0${n}-02`, subject: { individual_id: maria.individual_id } });
    }
    const { ids, pageSizes } = await walk(hub, '/api/v1/civil-events?event_type=marriage', 3);
    t.equal(new Set(ids).size, 4);
    t.same(pageSizes, [3, 1]);
    const ranged = (await hub.request({ method: 'GET', url: '/api/v1/civil-events?registered_from=2024-02-01&registered_to=2024-03-31' })).json();
    t.same(ranged.items.map((e: any) => e.registration_number).sort(), ['M-2', 'M-3']);
  });
});
