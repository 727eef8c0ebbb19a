import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import t from 'tap';
import { queryRows } from '../../src/db/query-rows.js';
import { header, registerPartner, searchItem, searchMessage, send } from '../helpers/dci.js';
import { testHub } from '../helpers/hub.js';

/**
 * Every route of the hub, walked by a client scoped to area A (holding every scope) with ids of records in area B:
 * each answer must be exactly what a random id that exists nowhere gets (status, content type and body apart from
 * the id), and nothing may change in the database (no row, no audit entry, no job). The table names every route;
 * a route missing from it (a new one) fails the test, as does a row naming a route that no longer exists.
 */

const hub = await testHub(t, {}, { workers: false });
const db = hub.database.db;

/** Setup as the unscoped admin; a failed step throws (setup makes no assertions). */
async function admin(method: InjectOptions['method'], url: string, payload?: object, status = [200, 201, 202]): Promise<any> {
  const res = await hub.request({ method, url: `/api/v1${url}`, ...(payload ? { payload } : {}) });
  if (!status.includes(res.statusCode)) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.body ? res.json() : undefined;
}

const A = await admin('POST', '/locations', { code: 'WALK-A', name: 'Area A', kind: 'province' });
const A1 = await admin('POST', '/locations', { code: 'WALK-A1', name: 'Area A1', kind: 'commune', parent_id: A.id });
const B = await admin('POST', '/locations', { code: 'WALK-B', name: 'Area B', kind: 'province' });
const B1 = await admin('POST', '/locations', { code: 'WALK-B1', name: 'Area B1', kind: 'commune', parent_id: B.id });
const person = (given: string, location_id: string, extra: object = {}) =>
  admin('POST', '/individuals', { given_name: given, family_name: 'Walk', sex: 'female', birth_date: '1985-03-01', location_id, ...extra });

const pA = await person('Alice', A1.id);
const pB = await person('Bruno', B1.id, { identifiers: [{ type: 'NIN', value: 'WALK-B-1' }] });
const pB2 = await person('Berthe', B1.id);
const pB3 = await person('Benoit', B1.id);
const moved = await person('Mona', A1.id);
/** Household in A with a member located in B (the case of the report). */
const hA = await admin('POST', '/groups', { code: 'HH-WALK-A', location_id: A1.id, members: [{ role: 'head', individual_id: pA.id }, { role: 'child', individual_id: pB.id }] });
const hB = await admin('POST', '/groups', { code: 'HH-WALK-B', location_id: B1.id, members: [{ role: 'head', individual_id: pB2.id }, { role: 'spouse', individual_id: pB3.id }] });
const [relatedB] = await queryRows<{ id: string }>(db, sql`SELECT id FROM group_members WHERE individual_id = ${pB3.id}`);

// Two look-alikes in B: a duplicate candidate there.
const twin = { family_name: 'Ndayishimiye', sex: 'male', birth_date: '1980-04-02' };
await person('Jean-Marie', B1.id, twin);
await person('Jean Marie', B1.id, twin);
const [dupB] = (await admin('GET', '/duplicates?status=open')).items;

const programme = (code: string, location_id: string) =>
  admin('POST', '/programmes', { code, subject: 'individual', status: 'active', currency: 'BIF', location_id, approvals: { status_change: 1 } });
const progA = await programme('WALK-PA', A.id);
const progB = await programme('WALK-PB', B.id);
await admin('POST', `/programmes/${progA.id}/enrolment`, { as_of: '2026-01-01', activate: true });
await admin('POST', `/programmes/${progB.id}/enrolment`, { as_of: '2026-01-01', activate: true });
const beneficiaryOf = async (programmeId: string, subjectId: string) =>
  (await admin('GET', `/programmes/${programmeId}/beneficiaries?limit=500`)).items.find((b: any) => b.subject_id === subjectId);
const benB = await beneficiaryOf(progB.id, pB.id);
// Enrolled in A's programme while living in A, then moved to B: the benefit stays in A's programme, the person is out of scope.
const benMoved = await beneficiaryOf(progA.id, moved.id);
await admin('PATCH', `/individuals/${moved.id}`, { location_id: B1.id, version: 1 });
const taskB = await admin('POST', `/programmes/${progB.id}/beneficiaries/${benB.id}/status`, { status: 'SUSPENDED', reason: 'walk' });

const plan = (programmeId: string, conditional: boolean) =>
  admin('POST', `/programmes/${programmeId}/payment-plans`, {
    name: 'Walk cash', amount: '10000', frequency: 'monthly', start_date: '2026-01-01', end_date: '2026-03-31', gateway: 'sandbox', conditional,
  });
const planA = await plan(progA.id, true);
const planB = await plan(progB.id, false);
const cycleA = (await admin('POST', `/payment-plans/${planA.id}/cycles`, {})).cycle;
const cycleB = (await admin('POST', `/payment-plans/${planB.id}/cycles`, {})).cycle;
const eventB = await admin('POST', '/civil-events', { event_type: 'marriage', registration_number: 'WALK-M-1', event_date: '2025-05-01', subject: { individual_id: pB2.id } });
const clientB = await hub.client(['registry:read'], { location_id: B.id });
const organization = await admin('POST', '/organizations', { type: 'programme-operator', name: 'Walk operator' });

const walker = await hub.client(['admin'], { location_id: A.id });
const partnerA = await registerPartner(hub, { extra: { location_id: A.id } });

interface Case {
  what: string;
  /** The id of a record outside area A; the same request with a random id instead is the reference. */
  id: string;
  request(id: string): Promise<LightMyRequestResponse>;
  /** The status a random id gets (default 404): proves the request reached the lookup (no earlier refusal). */
  status?: number;
  /** A read that is recorded whatever it finds (a DCI exchange): the same rows are added for both ids. */
  recorded?: true;
}
type Row = { exempt: string } | { cases: Case[] };

const as = (method: InjectOptions['method'], url: string, extra: Omit<InjectOptions, 'method' | 'url'> = {}) =>
  hub.request({ method, url, token: walker.token, ...extra });
const api = (method: InjectOptions['method'], path: string, extra: Omit<InjectOptions, 'method' | 'url'> = {}) =>
  as(method, `/api/v1${path}`, extra);
const ifMatch = { 'if-match': '"1"' };
const one = (what: string, id: string, request: Case['request'], status?: number): Row => ({ cases: [{ what, id, request, ...(status ? { status } : {}) }] });
/** A route open only to clients without a geographic scope: a scoped client is refused whatever the id (403). */
const wholeRegistry = (id: string, request: Case['request']): Row => one('refused to a scoped client', id, request, 403);
const emptyList = 200;

const dciSearch = (registry: 'sr' | 'crvs', value: string) =>
  send(hub, partnerA, `/dci/${registry}/registry/sync/search`, {
    header: header(partnerA),
    message: searchMessage([searchItem({ query_type: 'idtype-value', query: { type: 'NIN', value } }, 'ref-walk')]),
  });

const table: Record<string, Row> = {
  'GET /health': { exempt: 'public, no id' },
  'GET /ready': { exempt: 'public, no id' },
  'GET /.well-known/jwks.json': { exempt: 'public, no id' },
  'GET /openapi.json': { exempt: 'public, no id' },
  'GET /docs': { exempt: 'public documentation' },
  'GET /docs/static/index.html': { exempt: 'public documentation' },
  'GET /docs/static/swagger-initializer.js': { exempt: 'public documentation' },
  'GET /docs/static/*': { exempt: 'public documentation' },
  'GET /docs/json': { exempt: 'public documentation' },
  'GET /docs/yaml': { exempt: 'public documentation' },
  'POST /oauth2/client/token': { exempt: 'token endpoint: authenticates a client, takes no record id' },

  'POST /api/v1/locations': one('a parent in B', B.id, (id) => api('POST', '/locations', { payload: { code: 'WALK-X', name: 'X', parent_id: id } }), 422),
  'GET /api/v1/locations': one('filtered by a parent in B', B.id, (id) => api('GET', `/locations?parent_id=${id}`), emptyList),
  'GET /api/v1/locations/:id': one('B', B1.id, (id) => api('GET', `/locations/${id}`)),
  'PATCH /api/v1/locations/:id': one('B', B1.id, (id) => api('PATCH', `/locations/${id}`, { payload: { name: 'Hijacked' }, headers: ifMatch })),
  'DELETE /api/v1/locations/:id': one('B', B1.id, (id) => api('DELETE', `/locations/${id}`)),

  'POST /api/v1/individuals': { exempt: 'takes no id; placing a record outside the scope is refused 403 (test/http/geo-scope.test.ts)' },
  'GET /api/v1/individuals': {
    cases: [
      { what: 'filtered by a household in B', id: hB.id, request: (id) => api('GET', `/individuals?group_id=${id}&count=true`), status: emptyList },
      { what: 'filtered by an area in B', id: B.id, request: (id) => api('GET', `/individuals?location_id=${id}&count=true`), status: emptyList },
      { what: 'filtered by the identifier of a person in B', id: 'WALK-B-1', request: (value) => api('GET', `/individuals?identifier_value=${value}&count=true`), status: emptyList },
    ],
  },
  'GET /api/v1/individuals/:id': one('a person in B', pB.id, (id) => api('GET', `/individuals/${id}`)),
  'PATCH /api/v1/individuals/:id': one('a person in B', pB.id, (id) => api('PATCH', `/individuals/${id}`, { payload: { given_name: 'Hijacked' }, headers: ifMatch })),
  'DELETE /api/v1/individuals/:id': one('a person in B', pB.id, (id) => api('DELETE', `/individuals/${id}`)),
  'GET /api/v1/individuals/:id/benefits': one('a person in B', pB.id, (id) => api('GET', `/individuals/${id}/benefits`)),

  'POST /api/v1/groups': one('with a member in B', pB2.id, (id) => api('POST', '/groups', { payload: { location_id: A1.id, members: [{ role: 'head', individual_id: id }] } }), 422),
  'GET /api/v1/groups': {
    cases: [
      { what: 'filtered by a member in B (of a household in A)', id: pB.id, request: (id) => api('GET', `/groups?member_id=${id}&count=true`), status: emptyList },
      { what: 'filtered by a member in B', id: pB2.id, request: (id) => api('GET', `/groups?member_id=${id}&count=true`), status: emptyList },
    ],
  },
  'GET /api/v1/groups/:id': one('a household in B', hB.id, (id) => api('GET', `/groups/${id}`)),
  'PATCH /api/v1/groups/:id': one('a household in B', hB.id, (id) => api('PATCH', `/groups/${id}`, { payload: { name: 'Hijacked' }, headers: ifMatch })),
  'DELETE /api/v1/groups/:id': one('a household in B', hB.id, (id) => api('DELETE', `/groups/${id}`)),
  'POST /api/v1/groups/:id/members': {
    cases: [
      { what: 'a household in B', id: hB.id, request: (id) => api('POST', `/groups/${id}/members`, { payload: { role: 'child', individual_id: pA.id } }) },
      { what: 'a person in B, already a member of a household in A', id: pB.id, request: (id) => api('POST', `/groups/${hA.id}/members`, { payload: { role: 'child', individual_id: id } }), status: 422 },
    ],
  },
  'DELETE /api/v1/groups/:id/members/:individual_id': {
    cases: [
      { what: 'a member in B of a household in A', id: pB.id, request: (id) => api('DELETE', `/groups/${hA.id}/members/${id}`) },
      { what: 'a household in B', id: hB.id, request: (id) => api('DELETE', `/groups/${id}/members/${pB3.id}`) },
    ],
  },
  'GET /api/v1/groups/:id/benefits': one('a household in B', hB.id, (id) => api('GET', `/groups/${id}/benefits`)),

  'GET /api/v1/duplicates': one('filtered by a person in B', pB.id, (id) => api('GET', `/duplicates?individual_id=${id}`), emptyList),
  'POST /api/v1/duplicates/:id/dismiss': one('a pair in B', dupB.id, (id) => api('POST', `/duplicates/${id}/dismiss`)),
  'POST /api/v1/duplicates/:id/merge': one('a pair in B', dupB.id, (id) => api('POST', `/duplicates/${id}/merge`, { payload: {} })),

  'POST /api/v1/attribute-definitions': wholeRegistry(pB.id, () => api('POST', '/attribute-definitions', { payload: { name: 'walk_attr', type: 'number' } })),
  'GET /api/v1/attribute-definitions': { exempt: 'the vocabulary of formulas: names and types, no records' },

  'POST /api/v1/programmes': { exempt: 'takes no id; a programme outside the scope is refused 403 (assertLocationInScope)' },
  'GET /api/v1/programmes': { exempt: 'takes no id; scoped to the programmes of the area (subtest below)' },
  'GET /api/v1/programmes/:id': one('a programme of B', progB.id, (id) => api('GET', `/programmes/${id}`)),
  'PATCH /api/v1/programmes/:id': one('a programme of B', progB.id, (id) => api('PATCH', `/programmes/${id}`, { payload: { name: 'Hijacked' }, headers: ifMatch })),
  'POST /api/v1/programmes/:id/eligibility/preview': one('a programme of B', progB.id, (id) => api('POST', `/programmes/${id}/eligibility/preview`, { payload: {} })),
  'POST /api/v1/programmes/:id/enrolment': one('a programme of B', progB.id, (id) => api('POST', `/programmes/${id}/enrolment`, { payload: { activate: true } })),
  'GET /api/v1/programmes/:id/beneficiaries': one('a programme of B', progB.id, (id) => api('GET', `/programmes/${id}/beneficiaries`)),
  'POST /api/v1/programmes/:id/beneficiaries/status': {
    cases: [
      { what: 'a programme of B', id: progB.id, request: (id) => api('POST', `/programmes/${id}/beneficiaries/status`, { payload: { status: 'SUSPENDED', reason: 'walk', where: { status: 'ACTIVE' } } }) },
      {
        what: 'a person in B enrolled in a programme of A',
        id: moved.id,
        request: (id) => api('POST', `/programmes/${progA.id}/beneficiaries/status`, { payload: { status: 'GRADUATED', reason: 'walk', where: { subject_ids: [id] } } }),
        status: 200,
      },
    ],
  },
  'GET /api/v1/programmes/:id/beneficiaries/:beneficiary_id': {
    cases: [
      { what: 'a beneficiary of a programme of B', id: progB.id, request: (id) => api('GET', `/programmes/${id}/beneficiaries/${benB.id}`) },
      { what: 'a person in B enrolled in a programme of A', id: benMoved.id, request: (id) => api('GET', `/programmes/${progA.id}/beneficiaries/${id}`) },
    ],
  },
  'POST /api/v1/programmes/:id/beneficiaries/:beneficiary_id/status': {
    cases: [
      { what: 'a beneficiary of a programme of B', id: progB.id, request: (id) => api('POST', `/programmes/${id}/beneficiaries/${benB.id}/status`, { payload: { status: 'GRADUATED', reason: 'walk' } }) },
      { what: 'a person in B enrolled in a programme of A', id: benMoved.id, request: (id) => api('POST', `/programmes/${progA.id}/beneficiaries/${id}/status`, { payload: { status: 'GRADUATED', reason: 'walk' } }) },
    ],
  },
  'POST /api/v1/programmes/:id/payment-plans': one('a programme of B', progB.id, (id) =>
    api('POST', `/programmes/${id}/payment-plans`, { payload: { name: 'X', amount: '1', frequency: 'monthly', start_date: '2026-01-01', end_date: '2026-02-28', gateway: 'sandbox' } })),
  'GET /api/v1/programmes/:id/payment-plans': one('a programme of B', progB.id, (id) => api('GET', `/programmes/${id}/payment-plans`)),
  'GET /api/v1/payment-plans/:id': one('a plan of B', planB.id, (id) => api('GET', `/payment-plans/${id}`)),
  'POST /api/v1/payment-plans/:id/cycles': one('a plan of B', planB.id, (id) => api('POST', `/payment-plans/${id}/cycles`, { payload: { period_start: '2026-02-01' } })),
  'GET /api/v1/payment-plans/:id/cycles': one('a plan of B', planB.id, (id) => api('GET', `/payment-plans/${id}/cycles`)),
  'GET /api/v1/payment-cycles/:id': one('a cycle of B', cycleB.id, (id) => api('GET', `/payment-cycles/${id}`)),
  'GET /api/v1/payment-cycles/:id/payments': {
    cases: [
      { what: 'a cycle of B', id: cycleB.id, request: (id) => api('GET', `/payment-cycles/${id}/payments`) },
      { what: 'a cycle of A paying a person now in B', id: cycleA.id, request: (id) => api('GET', `/payment-cycles/${id}/payments?subject_id=${moved.id}`) },
    ],
  },
  'POST /api/v1/payment-cycles/:id/compliance': {
    cases: [
      { what: 'a cycle of B', id: cycleB.id, request: (id) => api('POST', `/payment-cycles/${id}/compliance`, { payload: { compliant: false, where: { subject_ids: [pB.id] } } }) },
      { what: 'a cycle of A paying a person now in B', id: cycleA.id, request: (id) => api('POST', `/payment-cycles/${id}/compliance`, { payload: { compliant: false, where: { subject_ids: [moved.id] } } }) },
    ],
  },
  'POST /api/v1/payment-cycles/:id/approve': one('a cycle of B', cycleB.id, (id) => api('POST', `/payment-cycles/${id}/approve`)),
  'POST /api/v1/payment-cycles/:id/send': one('a cycle of B', cycleB.id, (id) => api('POST', `/payment-cycles/${id}/send`)),
  'POST /api/v1/payment-cycles/:id/status-check': one('a cycle of B', cycleB.id, (id) => api('POST', `/payment-cycles/${id}/status-check`)),
  'POST /api/v1/payment-cycles/:id/reconciliation': one('a cycle of B', cycleB.id, (id) =>
    api('POST', `/payment-cycles/${id}/reconciliation`, { payload: 'reference_id,status\n', headers: { 'content-type': 'text/csv' } })),

  'POST /api/v1/organizations': wholeRegistry(pB.id, () => api('POST', '/organizations', { payload: { type: 'programme-operator', name: 'Walk org' } })),
  'GET /api/v1/organizations': { exempt: 'programme operators: national reference data with no area and no personal data' },
  'GET /api/v1/organizations/:id': { exempt: 'programme operators: national reference data with no area and no personal data' },
  'PATCH /api/v1/organizations/:id': wholeRegistry(organization.id, (id) => api('PATCH', `/organizations/${id}`, { payload: { name: 'Hijacked' }, headers: ifMatch })),
  'DELETE /api/v1/organizations/:id': wholeRegistry(organization.id, (id) => api('DELETE', `/organizations/${id}`)),

  'GET /api/v1/tasks': one('filtered by a programme of B', progB.id, (id) => api('GET', `/tasks?programme_id=${id}`), emptyList),
  'GET /api/v1/tasks/:id': one('a task about B', taskB.id, (id) => api('GET', `/tasks/${id}`)),
  'GET /api/v1/tasks/:id/items': one('a task about B', taskB.id, (id) => api('GET', `/tasks/${id}/items`)),
  'POST /api/v1/tasks/:id/approve': one('a task about B', taskB.id, (id) => api('POST', `/tasks/${id}/approve`, { payload: {} })),
  'POST /api/v1/tasks/:id/reject': one('a task about B', taskB.id, (id) => api('POST', `/tasks/${id}/reject`, { payload: { reason: 'walk' } })),

  'POST /api/v1/civil-events': {
    cases: [
      { what: 'a subject in B', id: pB.id, request: (id) => api('POST', '/civil-events', { payload: { event_type: 'marriage', registration_number: 'WALK-M-2', event_date: '2025-05-01', subject: { individual_id: id } } }) },
      {
        what: 'a party in B',
        id: pB.id,
        request: (id) => api('POST', '/civil-events', { payload: { event_type: 'marriage', registration_number: 'WALK-M-3', event_date: '2025-05-01', subject: { individual_id: pA.id }, parties: [{ role: 'spouse', individual_id: id }] } }),
        status: 422,
      },
      { what: 'a place in B', id: B1.id, request: (id) => api('POST', '/civil-events', { payload: { event_type: 'marriage', registration_number: 'WALK-M-4', event_date: '2025-05-01', place_id: id, subject: { individual_id: pA.id } } }), status: 403 },
    ],
  },
  'GET /api/v1/civil-events': one('filtered by a subject in B', pB2.id, (id) => api('GET', `/civil-events?subject_id=${id}`), emptyList),
  'GET /api/v1/civil-events/:id': one('an event in B', eventB.id, (id) => api('GET', `/civil-events/${id}`)),

  'POST /api/v1/clients': { exempt: 'takes no id; a client outside the scope is refused 403 (assertLocationInScope)' },
  'GET /api/v1/clients': { exempt: 'takes no id; lists the clients of the area only (withinScope)' },
  'GET /api/v1/clients/:client_id': one('a client of B', clientB.clientId, (id) => api('GET', `/clients/${id}`)),
  'PATCH /api/v1/clients/:client_id': one('a client of B', clientB.clientId, (id) => api('PATCH', `/clients/${id}`, { payload: { dci: { callback_url: 'https://example.org/cb' } } })),
  'POST /api/v1/clients/:client_id/disable': one('a client of B', clientB.clientId, (id) => api('POST', `/clients/${id}/disable`)),
  'POST /api/v1/clients/:client_id/enable': one('a client of B', clientB.clientId, (id) => api('POST', `/clients/${id}/enable`)),
  'POST /api/v1/clients/:client_id/secret': one('a client of B', clientB.clientId, (id) => api('POST', `/clients/${id}/secret`)),

  'GET /api/v1/audit': wholeRegistry(pB.id, (id) => api('GET', `/audit?entity_id=${id}`)),
  'GET /api/v1/audit/verify': wholeRegistry(pB.id, () => api('GET', '/audit/verify')),
  'GET /api/v1/dci/transactions': wholeRegistry(pB.id, () => api('GET', '/dci/transactions')),
  'GET /api/v1/dci/transactions/:id': wholeRegistry(pB.id, (id) => api('GET', `/dci/transactions/${id}`)),
  'POST /api/v1/dci/transactions/:id/retry': wholeRegistry(pB.id, (id) => api('POST', `/dci/transactions/${id}/retry`)),
  'POST /api/v1/imports': wholeRegistry(pB.id, () => api('POST', '/imports?type=individuals', { payload: 'given_name,family_name\nX,Y\n', headers: { 'content-type': 'text/csv' } })),
  'GET /api/v1/imports/:id': wholeRegistry(pB.id, (id) => api('GET', `/imports/${id}`)),
  'GET /api/v1/imports/:id/errors': wholeRegistry(pB.id, (id) => api('GET', `/imports/${id}/errors`)),
  'GET /api/v1/registries': { exempt: 'the configured external registries and their health: no records' },
  'POST /api/v1/registries/:name/subscriptions': wholeRegistry(pB.id, () => api('POST', '/registries/none/subscriptions', { payload: {} })),
  'POST /api/v1/registries/:name/pull': wholeRegistry(pB.id, () => api('POST', '/registries/none/pull', { payload: {} })),
  'POST /api/v1/keys/rotate': wholeRegistry(pB.id, () => api('POST', '/keys/rotate')),

  'POST /dci/sr/registry/sync/search': { cases: [{ what: 'an identifier of a person in B', id: 'WALK-B-1', request: (value) => dciSearch('sr', value), status: 200, recorded: true }] },
  'POST /dci/crvs/registry/sync/search': { exempt: 'CRVS records are civil events, searched by the same scoped query as /dci/sr (test/dci/crvs-search.test.ts)' },
  'POST /dci/sr/registry/search': { exempt: 'asynchronous: the same scoped query as the sync search, answered later by callback (test/dci/async.test.ts)' },
  'POST /dci/crvs/registry/search': { exempt: 'asynchronous: the same scoped query as the sync search, answered later by callback' },
  'POST /dci/sr/registry/subscribe': { exempt: 'no record id; notifications are filtered by the partner scope (test/dci/subscriptions.test.ts)' },
  'POST /dci/crvs/registry/subscribe': { exempt: 'no record id; notifications are filtered by the partner scope' },
  'POST /dci/sr/registry/unsubscribe': { exempt: "a partner's own subscription ids only" },
  'POST /dci/crvs/registry/unsubscribe': { exempt: "a partner's own subscription ids only" },
  'POST /dci/sr/registry/txn/status': { exempt: "a partner's own transaction ids only (test/dci/txn-status.test.ts)" },
  'POST /dci/crvs/registry/txn/status': { exempt: "a partner's own transaction ids only" },
  'POST /dci/sr/registry/sync/txn/status': { exempt: "a partner's own transaction ids only" },
  'POST /dci/crvs/registry/sync/txn/status': { exempt: "a partner's own transaction ids only" },
  'POST /dci/callbacks/:registry/registry/*': { exempt: 'answers and notifications from external registries the hub asked, signed by them; no client scope' },
  'POST /dci/callbacks/:gateway/on-disburse': { exempt: 'answers from payment gateways, signed by them; no client scope' },
  'POST /dci/callbacks/:gateway/disburse/txn/on-status': { exempt: 'answers from payment gateways, signed by them; no client scope' },

  'GET /fhir/metadata': { exempt: 'public CapabilityStatement' },
};

/** FHIR: every resource type has the same routes; the table rows are made per type. */
const fhirIds: Record<string, string> = {
  Patient: pB.id,
  Group: hB.id,
  RelatedPerson: relatedB!.id,
  Location: B1.id,
  EpisodeOfCare: benB.id,
};
const fhirBody: Record<string, (id: string) => object> = {
  Patient: (id) => ({ resourceType: 'Patient', id, name: [{ family: 'Hijacked', given: ['X'] }] }),
  Group: (id) => ({ resourceType: 'Group', id, type: 'person', actual: true }),
};
const fhir = (method: InjectOptions['method'], path: string, extra: Omit<InjectOptions, 'method' | 'url'> = {}) =>
  as(method, `/fhir${path}`, { ...extra, headers: { accept: 'application/fhir+json', ...extra.headers } });
for (const [type, id] of Object.entries(fhirIds)) {
  table[`GET /fhir/${type}`] = one(`${type} filtered by _id in B`, id, (x) => fhir('GET', `/${type}?_id=${x}`), emptyList);
  table[`POST /fhir/${type}/_search`] = one(`${type} filtered by _id in B`, id, (x) =>
    fhir('POST', `/${type}/_search`, { payload: `_id=${x}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } }), emptyList);
  table[`GET /fhir/${type}/:id`] = one(`${type} in B`, id, (x) => fhir('GET', `/${type}/${x}`));
  if (type !== 'RelatedPerson') {
    table[`GET /fhir/${type}/:id/_history`] = one(`${type} in B`, id, (x) => fhir('GET', `/${type}/${x}/_history`));
    table[`GET /fhir/${type}/:id/_history/:vid`] = one(`${type} in B`, id, (x) => fhir('GET', `/${type}/${x}/_history/1`));
  }
  const body = fhirBody[type];
  if (body) {
    table[`PUT /fhir/${type}/:id`] = one(`${type} in B`, id, (x) =>
      fhir('PUT', `/${type}/${x}`, { payload: body(x), headers: { 'content-type': 'application/fhir+json' } }));
    table[`POST /fhir/${type}`] = { exempt: 'creates; placing a record outside the scope is refused (test/fhir/geo-scope.test.ts)' };
  }
}
(table['GET /fhir/Patient'] as { cases: Case[] }).cases.push({
  what: 'Patient by the identifier of a person in B',
  id: 'WALK-B-1',
  request: (value) => fhir('GET', `/Patient?identifier=${value}`),
  status: emptyList,
});
table['GET /fhir/Organization'] = { exempt: 'programme operators: national reference data' };
table['POST /fhir/Organization/_search'] = { exempt: 'programme operators: national reference data' };
table['GET /fhir/Organization/:id'] = { exempt: 'programme operators: national reference data' };
table['GET /fhir/Organization/:id/_history'] = { exempt: 'programme operators: national reference data' };
table['GET /fhir/Organization/:id/_history/:vid'] = { exempt: 'programme operators: national reference data' };

/** Every row of every table (and every pg-boss job), as one digest per table. */
async function databaseState(): Promise<Record<string, string>> {
  const tables = await queryRows<{ name: string }>(
    db,
    sql`SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND (table_schema = 'public' OR (table_schema = 'pgboss' AND table_name = 'job'))
        ORDER BY 1`,
  );
  const state: Record<string, string> = {};
  for (const { name } of tables) {
    const [row] = await queryRows<{ digest: string; n: string | number }>(
      db,
      sql.raw(`SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS digest, count(*) AS n FROM ${name} x`),
    );
    state[name] = `${row!.n}:${row!.digest}`;
  }
  return state;
}

/** Rows added per table between two states. */
const rowCounts = (after: Record<string, string>, before: Record<string, string>) =>
  Object.fromEntries(Object.keys(after).map((name) => [name, Number(after[name]!.split(':')[0]) - Number(before[name]!.split(':')[0])]));

/** The answer with the id replaced and what differs per request (request id, message ids, times) left out. */
function normalised(res: LightMyRequestResponse, id: string) {
  const text = res.body.split(id).join('{id}');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: compared as text
  }
  const volatile = new Set(['request_id', 'message_id', 'message_ts', 'timestamp', 'signature', 'transaction_id', 'correlation_id', 'lastUpdated']);
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value && typeof value === 'object') {
      // A Bundle's own id is new for every answer; the ids of records are kept.
      const bundle = (value as { resourceType?: string }).resourceType === 'Bundle';
      return Object.fromEntries(
        Object.entries(value).filter(([k]) => !volatile.has(k) && !(bundle && k === 'id')).map(([k, v]) => [k, strip(v)]),
      );
    }
    return value;
  };
  return { status: res.statusCode, type: res.headers['content-type'], body: strip(body) };
}

t.test('the table names every route of the hub, and only those', async (t) => {
  const routes = new Set(hub.app.routeList.filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS').map((r) => `${r.method} ${r.url}`));
  const missing = [...routes].filter((r) => !(r in table)).sort();
  const stale = Object.keys(table).filter((r) => !routes.has(r)).sort();
  t.same(missing, [], 'routes missing from the table (add a row: cases with an out-of-scope id, or the reason it is exempt)');
  t.same(stale, [], 'rows naming no route');
  const wholeRegistryRoutes = hub.app.routeList.filter((r) => r.config?.wholeRegistry && r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`).sort();
  const refusedRows = Object.entries(table)
    .filter(([, row]) => 'cases' in row && row.cases.every((c) => c.status === 403 && c.what === 'refused to a scoped client'))
    .map(([route]) => route)
    .sort();
  t.same(refusedRows, wholeRegistryRoutes, 'the routes refused to scoped clients are exactly those marked wholeRegistry');
});

t.test('every route answers an out-of-scope id as a nonexistent one, and changes nothing', async (t) => {
  for (const [route, row] of Object.entries(table)) {
    if (!('cases' in row)) continue;
    for (const c of row.cases) {
      const what = `${route}: ${c.what}`;
      const random = c.id.includes('-') && c.id.length === 36 ? randomUUID() : `WALK-NONE-${randomUUID().slice(0, 8)}`;
      const before = await databaseState();
      const outside = await c.request(c.id);
      const afterOutside = await databaseState();
      const nowhere = await c.request(random);
      const afterNowhere = await databaseState();
      t.equal(nowhere.statusCode, c.status ?? 404, `${what}: a random id gets ${c.status ?? 404}`, { body: nowhere.body });
      t.same(normalised(outside, c.id), normalised(nowhere, random), `${what}: answered as a random id`);
      if (c.recorded) {
        t.same(rowCounts(afterOutside, before), rowCounts(afterNowhere, afterOutside), `${what}: recorded as a search for a random id is`);
        continue;
      }
      t.same(afterOutside, before, `${what}: nothing changed (rows, audit log, jobs)`);
      t.same(afterNowhere, afterOutside, `${what}: nothing changed for the random id either`);
    }
  }
});

t.test('lists, totals and cursors hold nothing from outside the area', async (t) => {
  const page = async (url: string) => {
    const res = await hub.request({ method: 'GET', url, token: walker.token });
    t.equal(res.statusCode, 200, url, { body: res.body });
    return res.json();
  };
  const idsOf = async (url: string, key = 'id') => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const body: any = await page(`${url}${url.includes('?') ? '&' : '?'}limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      ids.push(...body.items.map((i: any) => i[key]));
      cursor = body.next_cursor;
    } while (cursor);
    return ids.sort();
  };
  t.same(await idsOf('/api/v1/individuals'), [pA.id], 'individuals: the one person left in A, page by page');
  t.same((await page('/api/v1/individuals?count=true')).total, 1, 'individuals: the total counts A only');
  t.same((await page('/api/v1/groups?count=true')).total, 1, 'groups: the total counts A only');
  t.same((await page(`/api/v1/groups/${hA.id}`)).members.map((m: any) => m.individual_id), [pA.id], 'a household of A shows its members in A only');
  t.same(await idsOf('/api/v1/locations'), [A.id, A1.id].sort(), 'locations');
  t.same(await idsOf('/api/v1/programmes'), [progA.id], 'programmes');
  t.notOk((await idsOf(`/api/v1/programmes/${progA.id}/beneficiaries`)).includes(benMoved.id), 'beneficiaries: not the person now in B');
  t.same((await page(`/api/v1/payment-plans/${planA.id}/cycles`)).items, [], 'cycles paying someone outside the area are not shown');
  t.same(await idsOf('/api/v1/tasks'), [], 'tasks: none about A');
  t.same(await idsOf('/api/v1/duplicates'), [], 'duplicates: none in A');
  t.same(await idsOf('/api/v1/civil-events'), [], 'civil events: none in A');
  t.same(await idsOf('/api/v1/clients', 'client_id'), [walker.clientId, partnerA.clientId].sort(), 'clients of A only');

  const before = await databaseState();
  const generated = await hub.request({ method: 'POST', url: `/api/v1/payment-plans/${planA.id}/cycles`, token: walker.token, payload: { period_start: '2026-02-01' } });
  t.equal(generated.statusCode, 403, 'a cycle of A that would pay a person now in B is not generated by a client of A');
  t.same(await databaseState(), before, 'and nothing is kept of it');

  const bundle = async (url: string) => {
    const res = await hub.request({ method: 'GET', url, token: walker.token, headers: { accept: 'application/fhir+json' } });
    t.equal(res.statusCode, 200, url, { body: res.body });
    return res.json();
  };
  const patients = await bundle('/fhir/Patient?_count=1');
  t.equal(patients.total, 1, 'FHIR Patient: the total counts A only');
  t.notOk(patients.link.some((l: any) => l.relation === 'next'), 'FHIR Patient: no next page beyond A');
  t.equal((await bundle('/fhir/EpisodeOfCare')).total, (await idsOf(`/api/v1/programmes/${progA.id}/beneficiaries`)).length, 'FHIR EpisodeOfCare: the benefits of people in A only');
  const preview = await hub.request({ method: 'POST', url: `/api/v1/programmes/${progA.id}/eligibility/preview`, token: walker.token, payload: { by_level: 1 } });
  t.equal(preview.statusCode, 200, preview.body);
  t.notMatch(preview.body, B.id, 'eligibility preview: no area of B among the counts');
});
