import type { Bundle, Group, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { and, eq } from 'drizzle-orm';
import t from 'tap';
import { recordVersions } from '../../src/db/schema/index.js';
import { testHub } from '../helpers/hub.js';
import { expectFhir, expectOutcome, fhirGet, seedRegistry } from '../helpers/fhir.js';
import { auditActions, expectAuditChainOk } from '../helpers/registry.js';

const NIN = 'https://id.example.gov/nin';
const hub = await testHub(t, { HUB_FHIR_IDENTIFIER_SYSTEMS: `NIN=${NIN}` });
const reg = await seedRegistry(hub);
const writer = await hub.client(['fhir:read', 'fhir:write']);
const FHIR = { 'content-type': 'application/fhir+json' };

const send = (method: 'POST' | 'PUT', url: string, body: unknown, headers: Record<string, string> = {}, token = writer.token) =>
  hub.request({ method, url, payload: JSON.stringify(body), headers: { ...FHIR, ...headers }, token });

const patient = (extra: Partial<Patient> = {}): Patient => ({
  resourceType: 'Patient',
  identifier: [{ system: NIN, value: 'W-1' }],
  name: [{ use: 'official', family: 'Niyonzima', given: ['Alice', 'Grace'] }],
  gender: 'female',
  birthDate: '1995-04-12',
  telecom: [{ system: 'phone', value: '+25779111111' }],
  ...extra,
});

const versionsOf = (id: string) =>
  hub.database.db.select().from(recordVersions).where(and(eq(recordVersions.entityType, 'individual'), eq(recordVersions.entityId, id)));

t.test('create a Patient: 201, Location, ETag, stored in the registry with its first version', async (t) => {
  const res = await send('POST', '/fhir/Patient', patient());
  const created = expectFhir<Patient>(t, res, 201, 'create');
  t.equal(res.headers.etag, 'W/"1"');
  t.equal(res.headers.location, `${hub.config.publicUrl}/fhir/Patient/${created.id}/_history/1`);
  t.match(created, { gender: 'female', birthDate: '1995-04-12', name: [{ family: 'Niyonzima', given: ['Alice', 'Grace'] }] });
  t.same(created.identifier?.map((i) => [i.system, i.value]), [[NIN, 'W-1']]);
  const admin = (await hub.request({ method: 'GET', url: `/api/v1/individuals/${created.id}` })).json();
  t.match(admin, { given_name: 'Alice', middle_name: 'Grace', family_name: 'Niyonzima', sex: 'female', phone: '+25779111111', identifiers: [{ type: 'NIN', value: 'W-1' }] });
  t.same(await auditActions(t, hub, created.id!), ['individual.create']);
  const versions = await versionsOf(created.id!);
  t.same(versions.map((v) => [v.version, v.actor]), [[1, writer.clientId]], 'one version, by the writing client');

  const plainJson = await hub.request({ method: 'POST', url: '/fhir/Patient', payload: patient({ identifier: [] }), token: writer.token });
  t.equal(plainJson.statusCode, 201, 'application/json is accepted too');
});

t.test('invalid resources: 422 naming the element; wrong type or body: 400; other media types: 415', async (t) => {
  const paths = async (body: unknown, status = 422) => {
    const res = await send('POST', '/fhir/Patient', body);
    const outcome = expectFhir<OperationOutcome>(t, res, status, JSON.stringify(body).slice(0, 80));
    return outcome.issue.flatMap((i) => i.expression ?? []);
  };
  t.same(await paths(patient({ birthDate: '1995-13-45' })), ['Patient.birthDate'], 'a bad date (medplum)');
  t.same(await paths(patient({ gender: 'robot' as Patient['gender'] })), ['Patient.gender'], 'a code outside the required binding');
  t.same(await paths({ ...patient(), colour: 'blue' }), ['Patient.colour'], 'an unknown element');
  const uncoded = await send('POST', '/fhir/Patient', {
    ...patient({ identifier: [] }),
    name: [{ use: 'nickname-ish', family: 'Niyonzima', given: ['Alice'] }],
    telecom: [{ system: 'pigeon', value: 'coop 4' }],
  });
  const outcome = expectFhir<OperationOutcome>(t, uncoded, 422, 'codes outside required bindings the mapper would ignore');
  t.same(outcome.issue.map((i) => [i.code, i.expression]), [['code-invalid', ['Patient.name[0].use']], ['code-invalid', ['Patient.telecom[0].system']]]);
  t.same(await paths(patient({ identifier: [{ system: 'https://other.example/id', value: 'x' }] })), ['Patient.identifier[0].system']);
  t.same(await paths(patient({ name: [{ given: ['Solo'] }] })), ['Patient.name[0].family']);
  t.same(await paths(patient({ birthDate: '1995' })), ['Patient.birthDate'], 'a partial date the registry cannot store');
  t.same(await paths(patient({ deceasedBoolean: true })), ['Patient.deceasedBoolean']);
  t.same(await paths(patient({ identifier: [{ system: NIN, value: 'N-1' }] }), 409), [], 'an identifier someone else holds: 409');
  expectOutcome(t, await send('POST', '/fhir/Patient', { resourceType: 'Group', type: 'person', actual: true }), 400, 'invalid', 'wrong resourceType');
  expectOutcome(t, await send('POST', '/fhir/Patient', [1, 2]), 400, 'invalid', 'an array');
  const malformed = await hub.request({ method: 'POST', url: '/fhir/Patient', payload: '{"resourceType":', headers: FHIR, token: writer.token });
  expectOutcome(t, malformed, 400, 'invalid', 'malformed JSON');
  const text = await hub.request({ method: 'POST', url: '/fhir/Patient', payload: 'hello', headers: { 'content-type': 'text/plain' }, token: writer.token });
  expectOutcome(t, text, 415, 'not-supported', 'text/plain');
});

t.test('conditional create on identifier', async (t) => {
  const condition = { 'if-none-exist': `identifier=${NIN}|W-2` };
  const first = await send('POST', '/fhir/Patient', patient({ identifier: [{ system: NIN, value: 'W-2' }] }), condition);
  const created = expectFhir<Patient>(t, first, 201, 'no match: created');
  const again = await send('POST', '/fhir/Patient', patient({ identifier: [{ system: NIN, value: 'W-2' }] }), condition);
  t.equal(expectFhir<Patient>(t, again, 200, 'one match: returned').id, created.id, 'the existing one, nothing created');
  const many = await send('POST', '/fhir/Patient', patient({ identifier: [] }), { 'if-none-exist': 'family=Ndayishimiye' });
  expectOutcome(t, many, 412, 'duplicate', 'several matches');
  const unknown = await send('POST', '/fhir/Patient', patient({ identifier: [] }), { 'if-none-exist': 'colour=blue' });
  expectOutcome(t, unknown, 400, 'not-supported', 'an unknown parameter in If-None-Exist');
});

t.test('update with If-Match versioning; vread and instance history', async (t) => {
  const created = (await send('POST', '/fhir/Patient', patient({ identifier: [{ system: NIN, value: 'W-3' }] }))).json() as Patient;
  const url = `/fhir/Patient/${created.id}`;
  const changed = { ...created, birthDate: '1996-01-01', telecom: [] };
  const res = await send('PUT', url, changed, { 'if-match': 'W/"1"' });
  const updated = expectFhir<Patient>(t, res, 200, 'update');
  t.equal(res.headers.etag, 'W/"2"');
  t.equal(updated.birthDate, '1996-01-01');
  t.notOk(updated.telecom, 'the phone was removed');
  expectOutcome(t, await send('PUT', url, changed, { 'if-match': 'W/"1"' }), 412, 'conflict', 'stale If-Match');
  expectOutcome(t, await send('PUT', url, changed, { 'if-match': 'three' }), 400, 'invalid', 'malformed If-Match');
  expectOutcome(t, await send('PUT', url, { ...changed, id: reg.people.jean }), 400, 'invalid', 'id differs from the URL');
  const { id: _id, ...withoutId } = changed;
  expectOutcome(t, await send('PUT', url, withoutId), 400, 'invalid', 'no id');
  expectOutcome(t, await send('PUT', '/fhir/Patient/00000000-0000-4000-8000-000000000000', { ...changed, id: '00000000-0000-4000-8000-000000000000' }), 404, 'not-found');
  expectOutcome(t, await send('PUT', url, { ...changed, gender: 'robot' }), 422, 'code-invalid', 'invalid update');

  const v1 = expectFhir<Patient>(t, await fhirGet(hub, `${url}/_history/1`), 200, 'vread 1');
  t.equal(v1.birthDate, '1995-04-12');
  t.equal(v1.meta?.versionId, '1');
  const v2 = await fhirGet(hub, `${url}/_history/2`);
  t.equal(expectFhir<Patient>(t, v2, 200, 'vread 2').birthDate, '1996-01-01');
  t.equal(v2.headers.etag, 'W/"2"');
  expectOutcome(t, await fhirGet(hub, `${url}/_history/9`), 404, 'not-found', 'no such version');
  expectOutcome(t, await fhirGet(hub, `${url}/_history/x`), 404, 'not-found', 'not a version');

  const del = await hub.request({ method: 'DELETE', url: `/api/v1/individuals/${created.id}` });
  t.equal(del.statusCode, 204);
  const history = expectFhir<Bundle>(t, await fhirGet(hub, `${url}/_history`), 200, 'history');
  t.equal(history.type, 'history');
  t.equal(history.total, 3);
  t.same(history.entry!.map((e) => [e.request?.method, e.response?.etag]), [['DELETE', 'W/"3"'], ['PUT', 'W/"2"'], ['POST', 'W/"1"']]);
  t.notOk(history.entry![0]!.resource, 'a delete has no resource');
  expectOutcome(t, await fhirGet(hub, `${url}/_history/3`), 410, 'deleted', 'the deleting version');
  t.equal((await fhirGet(hub, `${url}/_history/1`)).statusCode, 200, 'earlier versions stay readable');
  expectOutcome(t, await send('PUT', url, { ...changed, id: created.id }, { 'if-match': 'W/"3"' }), 410, 'deleted', 'update of a deleted Patient');
});

const household = (members: { id: string; role: string; start?: string }[], extra: Partial<Group> = {}): Group => ({
  resourceType: 'Group',
  identifier: [{ system: 'https://convergence-hub.org/fhir/sid/household-code', value: 'HH-W' }],
  type: 'person',
  actual: true,
  code: { coding: [{ system: 'https://convergence-hub.org/fhir/CodeSystem/group-kind', code: 'household' }] },
  name: 'Written household',
  extension: [{ url: 'https://convergence-hub.org/fhir/StructureDefinition/group-location', valueReference: { reference: `Location/${reg.locations.gitega.id}` } }],
  member: members.map((m) => ({
    entity: { reference: `Patient/${m.id}` },
    ...(m.start ? { period: { start: m.start } } : {}),
    extension: [
      {
        url: 'https://convergence-hub.org/fhir/StructureDefinition/household-role',
        valueCodeableConcept: { coding: [{ system: 'https://convergence-hub.org/fhir/CodeSystem/household-role', code: m.role }] },
      },
    ],
  })),
  ...extra,
});

t.test('Group create and update: members by reference with roles, every change one version', async (t) => {
  const { jean, marie, eric } = reg.people;
  const res = await send('POST', '/fhir/Group', household([{ id: jean, role: 'head', start: '2020-01-01' }, { id: eric, role: 'child' }]));
  const group = expectFhir<Group>(t, res, 201, 'Group create');
  t.match(group, { quantity: 2, name: 'Written household', identifier: [{ value: 'HH-W' }] });
  const url = `/fhir/Group/${group.id}`;
  const admin = (await hub.request({ method: 'GET', url: `/api/v1/groups/${group.id}` })).json();
  t.equal(admin.location_id, reg.locations.gitega.id);
  t.same(admin.members.map((m: { role: string }) => m.role).sort(), ['child', 'head']);

  const replaced = household([{ id: jean, role: 'head', start: '2020-01-01' }, { id: marie, role: 'spouse' }, { id: eric, role: 'grandchild' }], { id: group.id! });
  const put = await send('PUT', url, replaced, { 'if-match': 'W/"1"' });
  const updated = expectFhir<Group>(t, put, 200, 'Group update');
  t.equal(updated.meta?.versionId, '2', 'one version for the whole change');
  const role = (g: Group, id: string) =>
    g.member!.find((m) => m.entity.reference === `Patient/${id}`)?.extension?.[0]?.valueCodeableConcept?.coding?.[0]?.code;
  t.equal(role(updated, marie), 'spouse');
  t.equal(role(updated, eric), 'grandchild');
  const v1 = expectFhir<Group>(t, await fhirGet(hub, `${url}/_history/1`), 200, 'Group vread 1');
  t.equal(role(v1, eric), 'child', 'version 1 as it was');
  t.equal(v1.quantity, 2);
  const history = expectFhir<Bundle>(t, await fhirGet(hub, `${url}/_history`), 200, 'Group history');
  t.same(history.entry!.map((e) => e.response?.etag), ['W/"2"', 'W/"1"']);

  const smaller = await send('PUT', url, household([{ id: jean, role: 'head' }], { id: group.id! }), { 'if-match': 'W/"2"' });
  t.equal(expectFhir<Group>(t, smaller, 200).quantity, 1, 'members left out leave the household');
  expectOutcome(t, await send('PUT', url, replaced, { 'if-match': 'W/"2"' }), 412, 'conflict', 'stale');
  await expectAuditChainOk(t, hub);
});

t.test('invalid Groups: 422 naming the element', async (t) => {
  const expression = async (body: Group, status = 422) => {
    const outcome = expectFhir<OperationOutcome>(t, await send('POST', '/fhir/Group', body), status);
    return outcome.issue[0]?.expression;
  };
  const { paul } = reg.people;
  const noRole = household([{ id: paul, role: 'head' }]);
  delete noRole.member![0]!.extension;
  t.same(await expression(noRole), ['Group.member[0].extension']);
  t.same(await expression(household([{ id: paul, role: 'boss' }])), ['Group.member[0].extension']);
  t.same(await expression(household([{ id: paul, role: 'head' }], { type: 'animal' })), ['Group.type']);
  t.same(await expression(household([{ id: paul, role: 'head' }], { type: 'robots' as Group['type'] })), ['Group.type'], 'a code outside GroupType');
  t.same(await expression(household([], { actual: false })), ['Group.actual']);
  t.same(await expression({ ...household([]), member: [{ entity: { reference: 'Observation/1' } }] }), ['Group.member[0].entity']);
  const twoHeads = household([{ id: paul, role: 'head' }, { id: reg.people.aline, role: 'head' }], { identifier: [] });
  const outcome = expectFhir<OperationOutcome>(t, await send('POST', '/fhir/Group', twoHeads), 422, 'two heads');
  t.match(outcome.issue[0]?.diagnostics, /at most one head/);
  const { resourceType: _r, ...noType } = household([]);
  expectOutcome(t, await send('POST', '/fhir/Group', noType), 400, 'invalid', 'no resourceType');
  expectOutcome(t, await send('POST', '/fhir/Group', household([{ id: '00000000-0000-4000-8000-000000000000', role: 'head' }], { identifier: [] })), 422, 'processing', 'an unknown member');
});

t.test('scopes: fhir:read cannot write; a geographically scoped writer cannot create a person with no location', async (t) => {
  const reader = await hub.client(['fhir:read']);
  expectOutcome(t, await send('POST', '/fhir/Patient', patient({ identifier: [] }), {}, reader.token), 403, 'forbidden');
  const scoped = await hub.client(['fhir:read', 'fhir:write'], { location_id: reg.locations.gitega.id });
  expectOutcome(t, await send('POST', '/fhir/Patient', patient({ identifier: [] }), {}, scoped.token), 403, 'forbidden', 'no location');
  const outside = { ...((await fhirGet(hub, `/fhir/Patient/${reg.people.jean}`)).json() as Patient) };
  expectOutcome(t, await send('PUT', `/fhir/Patient/${reg.people.jean}`, outside, {}, scoped.token), 404, 'not-found', 'outside the scope');
  expectOutcome(t, await fhirGet(hub, `/fhir/Patient/${reg.people.jean}/_history`, { token: scoped.token }), 404, 'not-found', 'history outside the scope');
});
