import type { Group } from '@medplum/fhirtypes';
import t from 'tap';
import { testHub } from '../helpers/hub.js';
import { expectFhir, expectOutcome, fhirGet, matchIds, search, seedRegistry } from '../helpers/fhir.js';

const hub = await testHub(t);
const reg = await seedRegistry(hub);
const { jean, marie, eric, aline, paul } = reg.people;
const sorted = (ids: string[]) => [...ids].sort();

// A Bujumbura household with one member who lives in Gitega: the scoped reader sees the household, not him.
const mixed = await hub.request({
  method: 'POST',
  url: '/api/v1/groups',
  payload: { code: 'HH-C', location_id: reg.locations.mukaza.id, members: [{ role: 'head', individual_id: paul }] },
});
if (mixed.statusCode !== 201) throw new Error(mixed.body);
const hhC = mixed.json().id as string;
const scoped = await hub.client(['fhir:read'], { location_id: reg.locations.bujumbura.id });

t.test('searches and counts hold only records inside the geographic scope', async (t) => {
  const people = await search(t, hub, '/fhir/Patient', scoped.token);
  t.same(sorted(matchIds(people)), sorted([jean, marie, eric]));
  t.equal(people.total, 3, 'the total respects the scope');
  t.equal((await search(t, hub, '/fhir/Patient?_summary=count', scoped.token)).total, 3);
  t.same(matchIds(await search(t, hub, '/fhir/Patient?identifier=N-1', scoped.token)), [jean]);
  t.same(matchIds(await search(t, hub, '/fhir/Patient?family=hakizimana', scoped.token)), []);
  const groups = await search(t, hub, '/fhir/Group', scoped.token);
  t.same(sorted(matchIds(groups)), sorted([reg.groups.hhA.id, hhC]));
  const locations = await search(t, hub, '/fhir/Location', scoped.token);
  t.same(sorted(matchIds(locations)), sorted([reg.locations.bujumbura.id, reg.locations.mukaza.id, reg.locations.rohero.id]));
});

t.test('reads outside the scope are 404, as if the record did not exist', async (t) => {
  expectOutcome(t, await fhirGet(hub, `/fhir/Patient/${aline}`, { token: scoped.token }), 404, 'not-found');
  expectOutcome(t, await fhirGet(hub, `/fhir/Group/${reg.groups.hhB.id}`, { token: scoped.token }), 404, 'not-found');
  expectOutcome(t, await fhirGet(hub, `/fhir/Location/${reg.locations.gitega.id}`, { token: scoped.token }), 404, 'not-found');
  expectFhir(t, await fhirGet(hub, `/fhir/Patient/${jean}`, { token: scoped.token }), 200);
});

t.test('members outside the scope are neither listed nor included', async (t) => {
  const group = expectFhir<Group>(t, await fhirGet(hub, `/fhir/Group/${hhC}`, { token: scoped.token }), 200);
  t.notOk(group.member, 'the Gitega member is not shown');
  t.equal(group.quantity, 0);
  const bundle = await search(t, hub, `/fhir/Group?_include=Group:member&_id=${hhC},${reg.groups.hhA.id}`, scoped.token);
  const included = bundle.entry!.filter((e) => e.search?.mode === 'include').map((e) => e.resource!.id!);
  t.same(sorted(included), sorted([jean, marie, eric]));
  const unscoped = expectFhir<Group>(t, await fhirGet(hub, `/fhir/Group/${hhC}`), 200);
  t.same(unscoped.member?.map((m) => m.entity.reference), [`Patient/${paul}`], 'an unscoped reader sees him');
});
