import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { header, registerPartner, send, searchItem, searchMessage } from '../helpers/dci.js';
import { testHub, type TestHub } from '../helpers/hub.js';

/** Each of these once answered 500 (issue #14): text PostgreSQL or the audit digest cannot take, wrong FHIR shapes. */

function expectProblem(t: Test, res: LightMyRequestResponse, status: number, issue: Record<string, string | RegExp>) {
  t.equal(res.statusCode, status, res.body);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  t.match(res.json().errors, [issue]);
}

function expectOutcome(t: Test, res: LightMyRequestResponse, status: number, code: string, expression: string) {
  t.equal(res.statusCode, status, res.body);
  const body = res.json();
  t.equal(body.resourceType, 'OperationOutcome');
  t.match(body.issue[0], { severity: 'error', code, expression: [expression] });
}

function expectDciError(t: Test, res: LightMyRequestResponse, status: number, message: RegExp) {
  t.equal(res.statusCode, status, res.body);
  t.match(res.json(), { errors: [{ code: 'err.request.bad', message }] });
}

const fhirPost = (hub: TestHub, type: string, body: unknown) =>
  hub.request({ method: 'POST', url: `/fhir/${type}`, payload: JSON.stringify(body), headers: { 'content-type': 'application/fhir+json' } });

t.test('admin API: NUL and lone surrogates in bodies, queries and paths are a 400 naming the field', async (t) => {
  const hub = await testHub(t, {}, { workers: false });
  expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/locations', payload: { code: 'A', name: 'Gi\u0000tega' } }), 400, {
    pointer: '/name',
    detail: /NUL/,
  });
  expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/locations', payload: '{"code":"B","name":"x\\ud800"}', headers: { 'content-type': 'application/json' } }), 400, {
    pointer: '/name',
    detail: /surrogate/,
  });
  const nested = await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'A', family_name: 'B', attributes: { 'a/b\u0000': 1 } } });
  expectProblem(t, nested, 400, { pointer: '/attributes/a~1b\u0000', detail: /property name/ });
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/individuals?family_name=%00' }), 400, { parameter: 'family_name', detail: /NUL/ });
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/groups/%00' }), 400, { parameter: 'id' });
  t.equal((await hub.request({ method: 'GET', url: '/api/v1/individuals?family_name=Uwase' })).statusCode, 200, 'ordinary text passes');
});

t.test('admin API: numbers out of range are a 400, not Infinity in SQL', async (t) => {
  const hub = await testHub(t, {}, { workers: false });
  for (const query of ['age_min=1e400', 'age_max=-Infinity', 'limit=1e9', 'limit=-1', 'age_min=NaN']) {
    const res = await hub.request({ method: 'GET', url: `/api/v1/individuals?${query}` });
    expectProblem(t, res, 400, { parameter: query.split('=')[0]! });
  }
});

t.test('a path parameter past the router limit is answered in the dialect of its surface', async (t) => {
  const hub = await testHub(t, {}, { workers: false });
  const long = 'x'.repeat(500);
  const admin = await hub.request({ method: 'GET', url: `/api/v1/groups/${long}` });
  t.equal(admin.statusCode, 414);
  t.match(admin.headers['content-type'], /^application\/problem\+json/);
  const fhir = await hub.request({ method: 'GET', url: `/fhir/Patient/${long}` });
  t.equal(fhir.statusCode, 414);
  t.equal(fhir.json().resourceType, 'OperationOutcome');
});

t.test('the token endpoint answers NUL in a form field as invalid_request', async (t) => {
  const hub = await testHub(t, {}, { workers: false });
  const res = await hub.app.inject({
    method: 'POST',
    url: '/oauth2/client/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'grant_type=client_credentials&client_id=%00&client_secret=x',
  });
  t.equal(res.statusCode, 400, res.body);
  t.match(res.json(), { error: 'invalid_request', error_description: /client_id/ });
  const basic = await hub.app.inject({
    method: 'POST',
    url: '/oauth2/client/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('a%00:b').toString('base64')}` },
    payload: 'grant_type=client_credentials',
  });
  t.equal(basic.statusCode, 401, basic.body);
  t.match(basic.json(), { error: 'invalid_client' });
});

t.test('DCI: NUL or a lone surrogate in header fields or criteria is err.request.bad naming the field', async (t) => {
  const hub = await testHub(t, {}, { workers: false });
  const partner = await registerPartner(hub);
  const byId = (value: string) => searchMessage([searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value } })]);
  for (const path of ['/registry/sync/search', '/dci/crvs/registry/sync/search', '/registry/search']) {
    expectDciError(t, await send(hub, partner, path, { header: header(partner, { message_id: 'm\ud800' }), message: byId('1') }), 400, /^\/header\/message_id: .*surrogate/);
    expectDciError(t, await send(hub, partner, path, { header: header(partner, { sender_id: 'a\u0000' }), message: byId('1') }), 400, /^\/header\/sender_id: .*NUL/);
    expectDciError(t, await send(hub, partner, path, { header: header(partner), message: byId('U\u0000') }), 400, /^\/message\/search_request\/0\/search_criteria\/query\/value/);
  }
  const garbled = await hub.request({ method: 'POST', url: '/dci/sr/registry/sync/search', token: partner.token, payload: '{"header":', headers: { 'content-type': 'application/json' } });
  expectDciError(t, garbled, 400, /JSON/);
  const anonymous = await hub.request({ method: 'POST', url: '/dci/sr/registry/sync/search', token: null, payload: {} });
  t.equal(anonymous.statusCode, 401);
  t.match(anonymous.json(), { errors: [{ code: 'err.request.unauthorized' }] }, 'no token: a DCI error too');
  const callback = await hub.request({ method: 'POST', url: '/dci/callbacks/x%00/registry/notify', token: null, payload: {} });
  expectDciError(t, callback, 400, /^registry: .*NUL/);
});

t.test('FHIR: bodies of the wrong JSON shape are a 400 naming the element, before any mapper', async (t) => {
  const hub = await testHub(t, {}, { workers: false });
  expectOutcome(t, await fhirPost(hub, 'Patient', { resourceType: 'Patient', name: {} }), 400, 'structure', 'Patient.name');
  expectOutcome(t, await fhirPost(hub, 'Patient', { resourceType: 'Patient', id: [] }), 400, 'structure', 'Patient.id');
  expectOutcome(t, await fhirPost(hub, 'Patient', { resourceType: 'Patient', name: [{ family: 'A', given: [null] }] }), 400, 'structure', 'Patient.name[0].given[0]');
  expectOutcome(t, await fhirPost(hub, 'Group', { resourceType: 'Group', type: 'person', actual: null }), 400, 'structure', 'Group.actual');
  expectOutcome(t, await fhirPost(hub, 'Group', { resourceType: 'Group', type: 'person', actual: true, member: {} }), 400, 'structure', 'Group.member');
  const id = '00000000-0000-4000-8000-000000000000';
  const put = await hub.request({ method: 'PUT', url: `/fhir/Patient/${id}`, payload: JSON.stringify({ resourceType: 'Patient', id, telecom: {} }), headers: { 'content-type': 'application/fhir+json' } });
  expectOutcome(t, put, 400, 'structure', 'Patient.telecom');
  expectOutcome(t, await fhirPost(hub, 'Patient', { resourceType: 'Patient', name: [{ family: 'A\u0000' }] }), 400, 'invalid', 'Patient.name[0].family');
  expectOutcome(t, await hub.request({ method: 'GET', url: '/fhir/Patient?name=%00' }), 400, 'invalid', 'name');
});
