import type { Bundle, EpisodeOfCare, Group, Organization } from '@medplum/fhirtypes';
import t from 'tap';
import { testHub } from '../helpers/hub.js';
import { expectFhir, expectOutcome, fhirGet, matchIds, search, seedRegistry } from '../helpers/fhir.js';

const hub = await testHub(t);
const reg = await seedRegistry(hub);
const { jean, marie, eric, aline, paul } = reg.people;
const { hhA, hhB } = reg.groups;
const sorted = (ids: string[]) => [...ids].sort();

async function post(path: string, payload: object) {
  const res = await hub.request({ method: 'POST', url: `/api/v1/${path}`, payload });
  if (res.statusCode !== 201 && res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${res.body}`);
  return res.json();
}

const TAX = 'https://tax.example.gov/tin';
const agency = await post('organizations', {
  type: 'programme-operator',
  name: 'Cash Transfer Agency',
  identifiers: [{ system: TAX, value: 'T-1' }],
  contact: { name: 'Enrolment desk', phone: '+25722000001', email: 'desk@cta.example.gov' },
});
const ministry = await post('organizations', { type: 'government', name: 'Ministère de la Solidarité', identifiers: [{ system: TAX, value: 'T-2' }] });
const bank = await post('organizations', { type: 'payment-provider', name: 'Mobile Money', active: false });

// A household in Mukaza headed by Paul (who lives in Gitega) with a child living in Rohero.
const kid = (await post('individuals', { given_name: 'Kim', family_name: 'Mixed', sex: 'female', birth_date: '2018-01-01', location_id: reg.locations.rohero.id })).id as string;
const hhC = (await post('groups', { code: 'HH-C', location_id: reg.locations.mukaza.id, members: [{ role: 'head', individual_id: paul }, { role: 'child', individual_id: kid }] })).id as string;

const pension = await post('programmes', { code: 'PENSION', name: 'Social pension', subject: 'individual', status: 'active', operator_id: agency.id });
const cash = await post('programmes', { code: 'HH-CASH', name: 'Household cash transfer', subject: 'group', status: 'active' });
await post(`programmes/${pension.id}/enrolment`, { activate: true });
await post(`programmes/${cash.id}/enrolment`, {});

async function beneficiaries(programme: string): Promise<Map<string, string>> {
  const res = await hub.request({ method: 'GET', url: `/api/v1/programmes/${programme}/beneficiaries?limit=100` });
  return new Map((res.json().items as { id: string; subject_id: string }[]).map((b) => [b.subject_id, b.id]));
}
const pensions = await beneficiaries(pension.id);
const cashes = await beneficiaries(cash.id);
const move = (programme: string, id: string, status: string, reason: string) =>
  post(`programmes/${programme}/beneficiaries/${id}/status`, { status, reason });
const jeanPension = pensions.get(jean)!;
await move(pension.id, jeanPension, 'SUSPENDED', 'missed verification');
await move(pension.id, jeanPension, 'ACTIVE', 'verified');
await move(pension.id, jeanPension, 'GRADUATED', 'moved to contributory pension');

t.test('Organization: read and search', async (t) => {
  const org = expectFhir<Organization>(t, await fhirGet(hub, `/fhir/Organization/${agency.id}`), 200);
  t.same(org, {
    resourceType: 'Organization',
    id: agency.id,
    meta: { versionId: '1', lastUpdated: agency.updated_at, profile: ['https://convergence-hub.org/fhir/StructureDefinition/hub-organization'] },
    identifier: [{ system: TAX, value: 'T-1' }],
    active: true,
    type: [{ coding: [{ system: 'https://convergence-hub.org/fhir/CodeSystem/organization-type', code: 'programme-operator' }] }],
    name: 'Cash Transfer Agency',
    contact: [{ name: { text: 'Enrolment desk' }, telecom: [{ system: 'phone', value: '+25722000001', use: 'work' }, { system: 'email', value: 'desk@cta.example.gov', use: 'work' }] }],
  });
  const gov = expectFhir<Organization>(t, await fhirGet(hub, `/fhir/Organization/${ministry.id}`), 200);
  t.match(gov.type![0]!.coding, [{ code: 'government' }, { system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'govt' }]);
  t.notOk(gov.contact);

  const orgs = async (query: string) => sorted(matchIds(await search(t, hub, `/fhir/Organization?${query}`)));
  t.same(await orgs(''), sorted([agency.id, ministry.id, bank.id]));
  t.same(await orgs('name=minis'), [ministry.id], 'starts with, case-insensitive');
  t.same(await orgs('name:contains=solidarite'), [ministry.id], 'accent-insensitive');
  t.same(await orgs(`identifier=${encodeURIComponent(`${TAX}|T-2`)}`), [ministry.id]);
  t.same(await orgs('identifier=T-1'), [agency.id]);
  t.same(await orgs(`identifier=${encodeURIComponent(`${TAX}|`)}`), sorted([agency.id, ministry.id]));
  t.same(await orgs('identifier=|T-1'), []);
  t.same(await orgs('type=payment-provider'), [bank.id]);
  t.same(await orgs(`type=${encodeURIComponent('https://convergence-hub.org/fhir/CodeSystem/organization-type|government')}`), [ministry.id]);
  t.same(await orgs('active=false'), [bank.id]);
  t.same(await orgs(`_id=${agency.id}`), [agency.id]);
  t.same(matchIds(await search(t, hub, '/fhir/Organization?_sort=name')), [agency.id, ministry.id, bank.id], '_sort=name');
  t.same(matchIds(await search(t, hub, '/fhir/Organization?_sort=-name')), [bank.id, ministry.id, agency.id]);
  expectOutcome(t, await fhirGet(hub, '/fhir/Organization?type=bank'), 400, 'invalid');
  expectOutcome(t, await fhirGet(hub, '/fhir/Organization?active=yes'), 400, 'invalid');
  expectOutcome(t, await fhirGet(hub, '/fhir/Organization/not-an-id'), 404, 'not-found');

  const unused = await post('organizations', { type: 'government', name: 'Closed office' });
  const renamed = await hub.request({ method: 'PATCH', url: `/api/v1/organizations/${unused.id}`, payload: { name: 'Office to close' }, headers: { 'if-match': '"1"' } });
  t.equal(renamed.statusCode, 200, renamed.body);
  t.equal((await hub.request({ method: 'DELETE', url: `/api/v1/organizations/${unused.id}`, headers: { 'if-match': '"2"' } })).statusCode, 204);
  expectOutcome(t, await fhirGet(hub, `/fhir/Organization/${unused.id}`), 410, 'deleted');
  t.same(await orgs(`_id=${unused.id}`), [], 'deleted ones are not found');
  const history = expectFhir<Bundle>(t, await fhirGet(hub, `/fhir/Organization/${unused.id}/_history`), 200, 'Organization history');
  t.same(history.entry!.map((e) => [e.request?.method, e.response?.etag]), [['DELETE', 'W/"3"'], ['PUT', 'W/"2"'], ['POST', 'W/"1"']]);
  t.equal(expectFhir<Organization>(t, await fhirGet(hub, `/fhir/Organization/${unused.id}/_history/1`), 200, 'vread 1').name, 'Closed office', 'version 1 as it was');
  expectOutcome(t, await fhirGet(hub, `/fhir/Organization/${unused.id}/_history/3`), 410, 'deleted', 'the deleting version');
});

t.test('EpisodeOfCare: a person’s enrolment with its status history', async (t) => {
  const episode = expectFhir<EpisodeOfCare>(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${jeanPension}`), 200);
  const admin = (await hub.request({ method: 'GET', url: `/api/v1/programmes/${pension.id}/beneficiaries/${jeanPension}` })).json();
  const at = (admin.history as { at: string }[]).map((h) => h.at);
  t.equal(at.length, 4);
  t.same(episode, {
    resourceType: 'EpisodeOfCare',
    id: jeanPension,
    meta: { versionId: String(admin.version), lastUpdated: admin.updated_at, profile: ['https://convergence-hub.org/fhir/StructureDefinition/hub-programme-enrolment'] },
    status: 'finished',
    statusHistory: [
      { status: 'active', period: { start: at[0], end: at[1] } },
      { status: 'onhold', period: { start: at[1], end: at[2] } },
      { status: 'active', period: { start: at[2], end: at[3] } },
    ],
    type: [{ coding: [{ system: 'https://convergence-hub.org/fhir/CodeSystem/programme', code: 'PENSION', display: 'Social pension' }] }],
    patient: { reference: `Patient/${jean}` },
    managingOrganization: { reference: `Organization/${agency.id}` },
    period: { start: at[0], end: at[3] },
  });

  const household = expectFhir<EpisodeOfCare>(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${cashes.get(hhA.id)}`), 200);
  t.equal(household.status, 'planned', 'POTENTIAL is planned');
  t.same(household.patient, { reference: `Patient/${jean}` }, 'the head stands for the household');
  t.same(household.extension, [{ url: 'https://convergence-hub.org/fhir/StructureDefinition/enrolled-group', valueReference: { reference: `Group/${hhA.id}` } }]);
  t.notOk(household.managingOrganization, 'no operator named');
  t.notOk(household.statusHistory, 'never moved');
  t.notOk(household.period!.end);
  const deceasedHead = expectFhir<EpisodeOfCare>(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${cashes.get(hhB.id)}`), 200);
  t.same(deceasedHead.patient, { reference: `Patient/${aline}` }, 'a recorded head, deceased or not, stands for the household');
  expectOutcome(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${hhA.id}`), 404, 'not-found');
});

t.test('EpisodeOfCare search parameters', async (t) => {
  const episodes = async (query: string) => sorted(matchIds(await search(t, hub, `/fhir/EpisodeOfCare?${query}`)));
  const all = sorted([...pensions.values(), ...cashes.values()]);
  t.equal(pensions.size, 5, 'the living are enrolled in the pension (Aline is deceased)');
  t.equal(cashes.size, 3);
  t.same(await episodes(''), all);
  t.same(await episodes(`patient=Patient/${jean}`), sorted([jeanPension, cashes.get(hhA.id)!]), 'own and as household head');
  t.same(await episodes(`patient=${eric}`), [pensions.get(eric)!], 'a child does not stand for the household');
  t.same(await episodes(`beneficiary=Group/${hhA.id}`), [cashes.get(hhA.id)!]);
  t.same(await episodes(`beneficiary=Patient/${jean}`), [jeanPension]);
  t.same(await episodes(`beneficiary=Patient/${hhA.id}`), [], 'a household is not a Patient');
  t.same(await episodes(`beneficiary=${hhA.id}`), [cashes.get(hhA.id)!], 'a bare id');
  t.same(await episodes('status=finished'), [jeanPension]);
  t.same(await episodes('status=active'), sorted([marie, eric, paul, kid].map((p) => pensions.get(p)!)));
  t.same(await episodes(`status=${encodeURIComponent('http://hl7.org/fhir/episode-of-care-status|planned')}`), sorted([...cashes.values()]));
  t.same(await episodes('status=onhold,cancelled'), []);
  t.same(await episodes('type=HH-CASH'), sorted([...cashes.values()]));
  t.same(await episodes(`type=${encodeURIComponent('https://convergence-hub.org/fhir/CodeSystem/programme|PENSION')}`), sorted([...pensions.values()]));
  t.same(await episodes(`organization=Organization/${agency.id}`), sorted([...pensions.values()]));
  t.same(await episodes('_lastUpdated=ge2000-01-01&type=HH-CASH'), sorted([...cashes.values()]));
  t.same(matchIds(await search(t, hub, '/fhir/EpisodeOfCare?_sort=-_lastUpdated&_count=1')), [jeanPension], 'changed last');
  expectOutcome(t, await fhirGet(hub, '/fhir/EpisodeOfCare?status=paused'), 400, 'invalid');
  expectOutcome(t, await fhirGet(hub, `/fhir/EpisodeOfCare?beneficiary=Location/${hhA.id}`), 400, 'invalid');
  t.equal((await search(t, hub, '/fhir/EpisodeOfCare?_summary=count')).total, 8);
});

/** Ids of the `include` entries of one type. */
const included = (bundle: Bundle, type: string) =>
  sorted((bundle.entry ?? []).filter((e) => e.search?.mode === 'include' && e.resource!.resourceType === type).map((e) => e.resource!.id!));

t.test('_revinclude of enrolments from Patient, Group and Organization', async (t) => {
  const people = await search(t, hub, `/fhir/Patient?_id=${jean}&_revinclude=EpisodeOfCare:patient`);
  t.same(included(people, 'EpisodeOfCare'), sorted([jeanPension, cashes.get(hhA.id)!]));
  const own = await search(t, hub, `/fhir/Patient?_id=${jean}&_revinclude=EpisodeOfCare:beneficiary`);
  t.same(included(own, 'EpisodeOfCare'), [jeanPension]);
  const households = await search(t, hub, `/fhir/Group?_id=${hhA.id},${hhB.id}&_revinclude=EpisodeOfCare:beneficiary`);
  t.same(included(households, 'EpisodeOfCare'), sorted([cashes.get(hhA.id)!, cashes.get(hhB.id)!]));
  const operators = await search(t, hub, `/fhir/Organization?type=programme-operator&_revinclude=EpisodeOfCare:organization`);
  t.same(included(operators, 'EpisodeOfCare'), sorted([...pensions.values()]));
});

t.test('_include from EpisodeOfCare: the person, the enrolled subject, the operator, each once', async (t) => {
  const pair = `_id=${jeanPension},${cashes.get(hhA.id)}`;
  const people = await search(t, hub, `/fhir/EpisodeOfCare?${pair}&_include=EpisodeOfCare:patient`);
  t.same(sorted(matchIds(people)), sorted([jeanPension, cashes.get(hhA.id)!]));
  t.same(included(people, 'Patient'), [jean], 'Jean enrolled and standing for HH-A: once');
  const subjects = await search(t, hub, `/fhir/EpisodeOfCare?${pair}&_include=EpisodeOfCare:beneficiary`);
  t.same(included(subjects, 'Patient'), [jean], 'the person an individual programme enrolled');
  t.same(included(subjects, 'Group'), [hhA.id], 'the household a household programme enrolled');
  const both = await search(t, hub, `/fhir/EpisodeOfCare?type=PENSION&_include=EpisodeOfCare:organization&_include=EpisodeOfCare:patient`);
  t.same(included(both, 'Organization'), [agency.id], 'the operator once for five enrolments');
  t.same(included(both, 'Patient'), sorted([...pensions.keys()]));
  t.same(included(await search(t, hub, `/fhir/EpisodeOfCare?type=HH-CASH&_include=EpisodeOfCare:organization`), 'Organization'), [], 'no operator, nothing included');
  const viaPost = await hub.request({
    method: 'POST',
    url: '/fhir/EpisodeOfCare/_search',
    payload: `_id=${jeanPension}&_include=EpisodeOfCare:organization`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.same(included(expectFhir<Bundle>(t, viaPost, 200), 'Organization'), [agency.id], 'POST _search too');
  const refused = await fhirGet(hub, '/fhir/EpisodeOfCare?_include=EpisodeOfCare:managingOrganization');
  t.match(expectOutcome(t, refused, 400, 'not-supported'), 'EpisodeOfCare:organization', 'an element name is not a search parameter');

  const scoped = await hub.client(['fhir:read'], { location_id: reg.locations.bujumbura.id });
  const households = await search(t, hub, '/fhir/EpisodeOfCare?type=HH-CASH&_include=EpisodeOfCare:beneficiary&_include=EpisodeOfCare:patient', scoped.token);
  t.same(included(households, 'Group'), sorted([hhA.id, hhC]), 'households inside the scope');
  t.same(included(households, 'Patient'), sorted([jean, kid]), 'the people standing for them inside the scope');
  const hhCSeen = households.entry!.find((e) => e.resource!.id === hhC)!.resource as Group;
  t.same(hhCSeen.member!.map((m) => m.entity.reference), [`Patient/${kid}`], 'an included household lists only the members in scope');
});

t.test('EpisodeOfCare history and vread: one version per status move', async (t) => {
  const current = expectFhir<EpisodeOfCare>(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${jeanPension}`), 200);
  const history = expectFhir<Bundle>(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${jeanPension}/_history`), 200, 'history');
  t.match(history, { type: 'history', total: 4 });
  const versions = history.entry!.map((e) => e.resource as EpisodeOfCare);
  t.same(versions.map((v) => [v.meta!.versionId, v.status]), [['4', 'finished'], ['3', 'active'], ['2', 'onhold'], ['1', 'active']], 'newest first');
  t.same(versions[0], current, 'the newest is the current read');
  t.same(history.entry!.map((e) => e.request!.method), ['PUT', 'PUT', 'PUT', 'POST']);
  const at = current.statusHistory!.map((h) => h.period!.start);
  t.same(versions.map((v) => v.meta!.lastUpdated), [current.period!.end, ...at.slice(1).reverse(), at[0]], 'each version when its move happened');

  const res = await fhirGet(hub, `/fhir/EpisodeOfCare/${jeanPension}/_history/2`);
  const second = expectFhir<EpisodeOfCare>(t, res, 200, 'vread');
  t.equal(res.headers.etag, 'W/"2"');
  t.same(second, { ...current, meta: { ...current.meta, versionId: '2', lastUpdated: at[1] }, status: 'onhold', statusHistory: current.statusHistory!.slice(0, 1), period: { start: at[0] } });
  const first = expectFhir<EpisodeOfCare>(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${jeanPension}/_history/1`), 200);
  t.notOk(first.statusHistory, 'no earlier status');
  expectOutcome(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${jeanPension}/_history/5`), 404, 'not-found', 'a version to come');
  expectOutcome(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${hhA.id}/_history`), 404, 'not-found', 'no such enrolment');
  const scoped = await hub.client(['fhir:read'], { location_id: reg.locations.bujumbura.id });
  expectOutcome(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${pensions.get(paul)}/_history`, { token: scoped.token }), 404, 'not-found', 'outside the scope');
  expectOutcome(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${pensions.get(paul)}/_history/1`, { token: scoped.token }), 404, 'not-found');
});

t.test('geographic scope: enrolments of people and households inside the area only', async (t) => {
  const scoped = await hub.client(['fhir:read'], { location_id: reg.locations.bujumbura.id });
  const seen = sorted(matchIds(await search(t, hub, '/fhir/EpisodeOfCare', scoped.token)));
  t.same(seen, sorted([jeanPension, pensions.get(marie)!, pensions.get(eric)!, pensions.get(kid)!, cashes.get(hhA.id)!, cashes.get(hhC)!]));
  t.equal((await search(t, hub, '/fhir/EpisodeOfCare?_summary=count', scoped.token)).total, 6, 'the total respects the scope');
  expectOutcome(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${pensions.get(paul)}`, { token: scoped.token }), 404, 'not-found');
  expectOutcome(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${cashes.get(hhB.id)}`, { token: scoped.token }), 404, 'not-found');

  // HH-C's head lives outside the area: for this reader the household's visible member stands for it.
  const mixed = expectFhir<EpisodeOfCare>(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${cashes.get(hhC)}`, { token: scoped.token }), 200);
  t.same(mixed.patient, { reference: `Patient/${kid}` });
  const unscoped = expectFhir<EpisodeOfCare>(t, await fhirGet(hub, `/fhir/EpisodeOfCare/${cashes.get(hhC)}`), 200);
  t.same(unscoped.patient, { reference: `Patient/${paul}` });
  t.same(matchIds(await search(t, hub, `/fhir/EpisodeOfCare?patient=${paul}`, scoped.token)), []);

  const revinclude = await search(t, hub, `/fhir/Organization?_id=${agency.id}&_revinclude=EpisodeOfCare:organization`, scoped.token);
  t.same(included(revinclude, 'EpisodeOfCare'), sorted([jeanPension, pensions.get(marie)!, pensions.get(eric)!, pensions.get(kid)!]), 'included enrolments are scoped too');
  t.same(matchIds(await search(t, hub, '/fhir/Organization?_sort=_id', scoped.token)).length, 3, 'organisations are not located: all are visible');
});

t.test('scopes: fhir:read is needed', async (t) => {
  const other = await hub.client(['programmes:read']);
  expectOutcome(t, await fhirGet(hub, '/fhir/EpisodeOfCare', { token: other.token }), 403, 'forbidden');
  expectOutcome(t, await fhirGet(hub, '/fhir/Organization', { token: null }), 401, 'login');
});
