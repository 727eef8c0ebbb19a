import type { RelatedPerson } from '@medplum/fhirtypes';
import t from 'tap';
import { testHub } from '../helpers/hub.js';
import { expectFhir, expectOutcome, fhirGet, matchIds, search, seedRegistry } from '../helpers/fhir.js';

const hub = await testHub(t);
const reg = await seedRegistry(hub);
const { jean, aline } = reg.people;
const sorted = (ids: string[]) => [...ids].sort();

t.test('each current member of a household with a head is a RelatedPerson of the head', async (t) => {
  const bundle = await search(t, hub, `/fhir/RelatedPerson?patient=Patient/${jean}`);
  t.equal(bundle.total, 2, 'Marie and Éric; the head is not related to himself');
  const people = bundle.entry!.map((e) => e.resource as RelatedPerson);
  const byRole = (code: string) => people.find((p) => p.relationship![0]!.coding!.some((c) => c.code === code))!;
  const spouse = byRole('spouse');
  t.match(spouse, { patient: { reference: `Patient/${jean}` }, gender: 'female', birthDate: '1983-05-11', name: [{ family: 'Ndayishimiye', given: ['Marie', 'Claire'] }] });
  t.same(spouse.relationship![0]!.coding, [
    { system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'SPS', display: 'spouse' },
    { system: 'https://convergence-hub.org/fhir/CodeSystem/household-role', code: 'spouse' },
  ]);
  t.equal(byRole('CHILD').address?.[0]?.text, 'Rohero, Mukaza, Bujumbura');

  const read = await fhirGet(hub, `/fhir/RelatedPerson/${spouse.id}`);
  t.same(expectFhir<RelatedPerson>(t, read, 200, 'read'), spouse);
  t.same(matchIds(await search(t, hub, `/fhir/RelatedPerson?patient=${aline}`)).length, 1);
  t.same(sorted(matchIds(await search(t, hub, '/fhir/RelatedPerson'))).length, 3);
  t.same(matchIds(await search(t, hub, `/fhir/RelatedPerson?_id=${spouse.id}`)), [spouse.id]);
  expectOutcome(t, await fhirGet(hub, '/fhir/RelatedPerson/00000000-0000-4000-8000-000000000000'), 404, 'not-found');

  // Ending the membership ends the relationship.
  const marieId = reg.people.marie;
  const end = await hub.request({ method: 'DELETE', url: `/api/v1/groups/${reg.groups.hhA.id}/members/${marieId}` });
  t.equal(end.statusCode, 200, end.body);
  expectOutcome(t, await fhirGet(hub, `/fhir/RelatedPerson/${spouse.id}`), 404, 'not-found', 'an ended membership');
  t.equal((await search(t, hub, `/fhir/RelatedPerson?patient=Patient/${jean}`)).total, 1);
});

t.test('geographic scope applies to the household and the member', async (t) => {
  const scoped = await hub.client(['fhir:read'], { location_id: reg.locations.gitega.id });
  const bundle = await search(t, hub, '/fhir/RelatedPerson', scoped.token);
  t.equal(bundle.total, 1, 'only the Gitega household');
  t.equal((bundle.entry![0]!.resource as RelatedPerson).patient.reference, `Patient/${aline}`);
});
