import type { Bundle, Group, Location, Patient } from '@medplum/fhirtypes';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import t from 'tap';
import { queryRows } from '../../src/db/query-rows.js';
import { runImport } from '../../src/registry/import/run.js';
import { systemActor } from '../../src/security/actor.js';
import { testHub } from '../helpers/hub.js';
import { expectFhir, expectOutcome, fhirGet, seedRegistry } from '../helpers/fhir.js';

const NIN_SYSTEM = 'https://id.example.gov/nin';
const hub = await testHub(t, { HUB_FHIR_IDENTIFIER_SYSTEMS: `NIN=${NIN_SYSTEM}` });
const reg = await seedRegistry(hub);

t.test('Patient: identifiers with their systems, name, gender, dates, address from the location tree, telecom', async (t) => {
  const res = await fhirGet(hub, `/fhir/Patient/${reg.people.jean}`);
  const jean = expectFhir<Patient>(t, res, 200, 'Patient read');
  t.equal(res.headers.etag, 'W/"1"', 'weak ETag of the version');
  t.ok(res.headers['last-modified'], 'Last-Modified');
  t.match(jean, {
    resourceType: 'Patient',
    id: reg.people.jean,
    meta: { versionId: '1', profile: ['https://convergence-hub.org/fhir/StructureDefinition/hub-patient'] },
    gender: 'male',
    birthDate: '1980-02-01',
    name: [{ use: 'official', family: 'Ndayishimiye', given: ['Jean'] }],
    telecom: [{ system: 'phone', value: '+25779000001' }],
  });
  t.same(jean.identifier?.map((i) => [i.system, i.value]), [[NIN_SYSTEM, 'N-1']], 'configured system for NIN');
  t.same(jean.address, [
    { use: 'home', type: 'physical', text: 'Rohero, Mukaza, Bujumbura', city: 'Rohero', district: 'Mukaza', state: 'Bujumbura' },
  ]);
  t.notOk('deceasedDateTime' in jean);

  const eric = expectFhir<Patient>(t, await fhirGet(hub, `/fhir/Patient/${reg.people.eric}`), 200);
  t.same(
    eric.identifier?.map((i) => [i.system, i.value]),
    [['https://convergence-hub.org/fhir/sid/birth-reg-no', 'B-1']],
    'an identifier type with no configured system gets the hub default',
  );
  const marie = expectFhir<Patient>(t, await fhirGet(hub, `/fhir/Patient/${reg.people.marie}`), 200);
  t.same(marie.name?.[0]?.given, ['Marie', 'Claire'], 'middle name is a second given name');
  t.same(marie.telecom, [{ system: 'email', value: 'marie@example.org' }]);
  const aline = expectFhir<Patient>(t, await fhirGet(hub, `/fhir/Patient/${reg.people.aline}`), 200);
  t.equal(aline.deceasedDateTime, '2020-03-01');
  t.same(aline.address?.[0], { use: 'home', type: 'physical', text: 'Gitega', state: 'Gitega' });
});

t.test('Group: a household with members, periods and roles', async (t) => {
  const res = await fhirGet(hub, `/fhir/Group/${reg.groups.hhA.id}`);
  const group = expectFhir<Group>(t, res, 200, 'Group read');
  t.equal(res.headers.etag, 'W/"1"');
  t.match(group, {
    type: 'person',
    actual: true,
    quantity: 3,
    name: 'Ndayishimiye household',
    identifier: [{ system: 'https://convergence-hub.org/fhir/sid/household-code', value: 'HH-A' }],
    code: { coding: [{ system: 'https://convergence-hub.org/fhir/CodeSystem/group-kind', code: 'household' }] },
    extension: [{ url: 'https://convergence-hub.org/fhir/StructureDefinition/group-location', valueReference: { reference: `Location/${reg.locations.rohero.id}` } }],
  });
  const roleOf = (ref: string) =>
    group.member!.find((m) => m.entity.reference === ref)!.extension!.find((e) => e.url.endsWith('/household-role'))!
      .valueCodeableConcept!.coding![0]!.code;
  t.equal(roleOf(`Patient/${reg.people.jean}`), 'head');
  t.equal(roleOf(`Patient/${reg.people.marie}`), 'spouse');
  t.equal(roleOf(`Patient/${reg.people.eric}`), 'child');
  t.same(group.member!.find((m) => m.entity.reference === `Patient/${reg.people.jean}`)!.period, { start: '2005-01-01' });
  t.ok(group.member!.every((m) => m.inactive === false));
});

t.test('Location: admin areas with partOf', async (t) => {
  const rohero = expectFhir<Location>(t, await fhirGet(hub, `/fhir/Location/${reg.locations.rohero.id}`), 200);
  t.match(rohero, {
    name: 'Rohero',
    mode: 'instance',
    status: 'active',
    type: [{ text: 'colline' }],
    partOf: { reference: `Location/${reg.locations.mukaza.id}` },
    identifier: [{ system: 'https://convergence-hub.org/fhir/sid/location-code', value: 'Q-RO' }],
  });
  const root = expectFhir<Location>(t, await fhirGet(hub, `/fhir/Location/${reg.locations.bujumbura.id}`), 200);
  t.notOk('partOf' in root, 'a province is part of nothing');
});

t.test('Location: every version of an area, kept as the admin API writes it', async (t) => {
  const created = await hub.request({ method: 'POST', url: '/api/v1/locations', payload: { code: 'Q-HIST', name: 'Before', kind: 'colline', parent_id: reg.locations.mukaza.id } });
  t.equal(created.statusCode, 201, created.body);
  const id = created.json().id as string;
  const url = `/fhir/Location/${id}`;
  const renamed = await hub.request({ method: 'PATCH', url: `/api/v1/locations/${id}`, payload: { name: 'After' }, headers: { 'if-match': '"1"' } });
  t.equal(renamed.statusCode, 200, renamed.body);
  t.equal(expectFhir<Location>(t, await fhirGet(hub, `${url}/_history/1`), 200, 'vread 1').name, 'Before', 'version 1 as it was');
  t.equal(expectFhir<Location>(t, await fhirGet(hub, `${url}/_history/2`), 200, 'vread 2').name, 'After');
  t.equal((await hub.request({ method: 'DELETE', url: `/api/v1/locations/${id}`, headers: { 'if-match': '"2"' } })).statusCode, 204);
  const history = expectFhir<Bundle>(t, await fhirGet(hub, `${url}/_history`), 200, 'Location history');
  t.same(history.entry!.map((e) => [e.request?.method, e.response?.etag]), [['DELETE', 'W/"3"'], ['PUT', 'W/"2"'], ['POST', 'W/"1"']]);
  expectOutcome(t, await fhirGet(hub, `${url}/_history/3`), 410, 'deleted', 'the deleting version');
});

t.test('not found, deleted and malformed ids', async (t) => {
  expectOutcome(t, await fhirGet(hub, '/fhir/Patient/00000000-0000-4000-8000-000000000000'), 404, 'not-found');
  expectOutcome(t, await fhirGet(hub, '/fhir/Patient/not-a-uuid'), 404, 'not-found');
  expectOutcome(t, await fhirGet(hub, '/fhir/Group/00000000-0000-4000-8000-000000000000'), 404, 'not-found');
  expectOutcome(t, await fhirGet(hub, '/fhir/Location/x'), 404, 'not-found');
  const del = await hub.request({ method: 'DELETE', url: `/api/v1/individuals/${reg.people.paul}` });
  t.equal(del.statusCode, 204);
  expectOutcome(t, await fhirGet(hub, `/fhir/Patient/${reg.people.paul}`), 410, 'deleted', 'deleted Patient');
  const hhB = expectFhir<Group>(t, await fhirGet(hub, `/fhir/Group/${reg.groups.hhB.id}`), 200);
  t.equal(hhB.quantity, 1, 'a deleted person is no longer a member');
  t.equal(hhB.meta?.versionId, '2', 'and the household version moved on');
});

t.test('a merge: the survivor links the record it replaces, the merged record is gone', async (t) => {
  const api = async (method: 'POST' | 'PATCH', url: string, payload: object) => {
    const res = await hub.request({ method, url: `/api/v1/${url}`, payload });
    if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  const person = { family_name: 'Nshimirimana', sex: 'male', birth_date: '1975-06-06', location_id: reg.locations.rohero.id };
  const keep = await api('POST', 'individuals', { ...person, given_name: 'Gérard', identifiers: [{ type: 'NIN', value: 'M-KEEP' }] });
  const gone = await api('POST', 'individuals', { ...person, given_name: 'Gerard', identifiers: [{ type: 'NIN', value: 'M-GONE' }] });
  const twin = await api('POST', 'individuals', { ...person, given_name: 'Gerrard' });
  /** The open duplicate candidate pairing `id` with the survivor. */
  const pairWithKeep = async (id: string) => {
    const res = await hub.request({ method: 'GET', url: `/api/v1/duplicates?individual_id=${id}` });
    const items = res.json().items as { id: string; individual: { id: string }; other: { id: string } }[];
    return items.find((c) => [c.individual.id, c.other.id].includes(keep.id))!.id;
  };
  await api('POST', `duplicates/${await pairWithKeep(gone.id)}/merge`, { survivor_id: keep.id });

  const survivor = expectFhir<Patient>(t, await fhirGet(hub, `/fhir/Patient/${keep.id}`), 200, 'the survivor');
  t.same(survivor.link, [{ other: { reference: `Patient/${gone.id}` }, type: 'replaces' }]);
  t.equal(survivor.meta?.versionId, '2');
  const goneRead = expectOutcome(t, await fhirGet(hub, `/fhir/Patient/${gone.id}`), 410, 'deleted', 'the merged record');
  t.match(goneRead, `merged into ${keep.id}`, 'names the survivor');
  const first = expectFhir<Patient>(t, await fhirGet(hub, `/fhir/Patient/${keep.id}/_history/1`), 200, 'the version before the merge');
  t.notOk(first.link, 'does not name a record merged later');
  const found = await fhirGet(hub, `/fhir/Patient?identifier=M-GONE`);
  t.same(expectFhir<Bundle>(t, found, 200).entry?.map((e) => (e.resource as Patient).link), [survivor.link], 'its identifier finds the survivor, linked');

  // A second merge, of a record that had moved to Gitega: a reader scoped to Bujumbura does not learn its id.
  await api('PATCH', `individuals/${twin.id}`, { location_id: reg.locations.gitega.id, version: 1 });
  await api('POST', `duplicates/${await pairWithKeep(twin.id)}/merge`, { survivor_id: keep.id });
  const both = expectFhir<Patient>(t, await fhirGet(hub, `/fhir/Patient/${keep.id}`), 200);
  t.same(both.link?.map((l) => l.other.reference), [`Patient/${gone.id}`, `Patient/${twin.id}`], 'oldest merge first');
  const scoped = await hub.client(['fhir:read'], { location_id: reg.locations.bujumbura.id });
  const seen = expectFhir<Patient>(t, await fhirGet(hub, `/fhir/Patient/${keep.id}`, { token: scoped.token }), 200);
  t.same(seen.link?.map((l) => l.other.reference), [`Patient/${gone.id}`], 'only merged records inside the scope');
});

t.test('records loaded in bulk (seed, import) store no versions: their history and vread show the live record', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-bulk-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = {
    locations: 'code,name\nQ-BULK,Loaded area\n',
    individuals: 'identifier_type,identifier_value,given_name,family_name,sex,birth_date\nNIN,BULK-1,Bea,Loaded,female,1990-05-05\n',
    households: 'household_code,name\nHH-BULK,Loaded household\n',
    members: 'household_code,identifier_type,identifier_value,role\nHH-BULK,NIN,BULK-1,head\n',
  };
  for (const [type, text] of Object.entries(files) as [keyof typeof files, string][]) {
    fs.writeFileSync(path.join(dir, `${type}.csv`), text);
    const summary = await runImport(hub.database, systemActor('system:import'), { file: path.join(dir, `${type}.csv`), type, format: 'csv' });
    t.equal(summary.inserted, 1, `${type} imported`);
  }
  const [loaded] = await queryRows<{ person: string; household: string }>(
    hub.database.db,
    sql`SELECT m.individual_id AS person, m.group_id AS household FROM group_members m JOIN groups g ON g.id = m.group_id WHERE g.code = 'HH-BULK'`,
  );
  t.equal(await queryRows(hub.database.db, sql`SELECT 1 FROM record_versions WHERE entity_id IN (${loaded!.person}, ${loaded!.household})`).then((r) => r.length), 0, 'no stored version');
  const [area] = await queryRows<{ id: string }>(hub.database.db, sql`SELECT id FROM locations WHERE code = 'Q-BULK'`);
  for (const [type, id] of [['Patient', loaded!.person], ['Group', loaded!.household], ['Location', area!.id]] as const) {
    const read = expectFhir<Patient | Group | Location>(t, await fhirGet(hub, `/fhir/${type}/${id}`), 200, `${type} read`);
    const history = expectFhir<Bundle>(t, await fhirGet(hub, `/fhir/${type}/${id}/_history`), 200, `${type} history`);
    // The household is at version 2: its member joined it by the members import.
    const version = Number(read.meta!.versionId);
    t.equal(version, type === 'Group' ? 2 : 1);
    t.same(history.entry!.map((e) => e.response?.etag), [`W/"${version}"`], `${type}: the one version there is`);
    t.same(history.entry![0]!.resource, read, `${type}: the version is the record as read`);
    t.same(expectFhir(t, await fhirGet(hub, `/fhir/${type}/${id}/_history/${version}`), 200, `${type} vread`), read);
    expectOutcome(t, await fhirGet(hub, `/fhir/${type}/${id}/_history/${version + 1}`), 404, 'not-found', `${type}: no later version`);
  }
});

t.test('tokens and scopes: 401 and 403 as OperationOutcomes', async (t) => {
  const none = await fhirGet(hub, `/fhir/Patient/${reg.people.jean}`, { token: null });
  expectOutcome(t, none, 401, 'login', 'no token');
  t.match(none.headers['www-authenticate'], /^Bearer/);
  expectOutcome(t, await fhirGet(hub, `/fhir/Patient/${reg.people.jean}`, { token: 'not.a.jwt' }), 401, 'login', 'bad token');
  const registryOnly = await hub.client(['registry:read']);
  const wrong = await fhirGet(hub, `/fhir/Patient/${reg.people.jean}`, { token: registryOnly.token });
  expectOutcome(t, wrong, 403, 'forbidden', 'registry:read only');
  t.match(wrong.headers['www-authenticate'], /insufficient_scope/);
  const fhirReader = await hub.client(['fhir:read']);
  t.equal((await fhirGet(hub, `/fhir/Patient/${reg.people.jean}`, { token: fhirReader.token })).statusCode, 200, 'fhir:read reads');
  t.equal((await fhirGet(hub, '/fhir/Group', { token: fhirReader.token })).statusCode, 200, 'fhir:read searches');
});
