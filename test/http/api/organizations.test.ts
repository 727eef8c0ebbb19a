import t from 'tap';
import { testHub } from '../../helpers/hub.js';
import { auditActions, create, expectProblem, walk } from '../../helpers/registry.js';

const hub = await testHub(t);
const TAX = 'https://tax.example.gov/tin';

t.test('create, read, list by type, update with If-Match, delete', async (t) => {
  const ministry = await create(t, hub, 'organizations', {
    type: 'government',
    name: 'Ministry of Solidarity',
    identifiers: [{ system: TAX, value: 'T-100' }],
    contact: { name: 'Registry desk', phone: '+25722000000', email: 'desk@solidarity.example.gov' },
  });
  t.match(ministry, { type: 'government', name: 'Ministry of Solidarity', active: true, version: 1, identifiers: [{ system: TAX, value: 'T-100' }] });
  const bank = await create(t, hub, 'organizations', { type: 'payment-provider', name: 'Mobile Money SA' });
  t.same(bank.identifiers, []);
  t.same(bank.contact, {});

  const read = await hub.request({ method: 'GET', url: `/api/v1/organizations/${ministry.id}` });
  t.equal(read.statusCode, 200);
  t.equal(read.headers.etag, '"1"');
  t.same(read.json(), ministry);

  const { ids } = await walk(hub, '/api/v1/organizations', 1);
  t.same(ids, [ministry.id, bank.id].sort(), 'pages hold every organisation once');
  const providers = await hub.request({ method: 'GET', url: '/api/v1/organizations?type=payment-provider' });
  t.same(providers.json().items.map((o: { id: string }) => o.id), [bank.id]);

  expectProblem(t, await hub.request({ method: 'PATCH', url: `/api/v1/organizations/${bank.id}`, payload: { active: false } }), 428);
  const stale = await hub.request({ method: 'PATCH', url: `/api/v1/organizations/${bank.id}`, headers: { 'if-match': '"7"' }, payload: { active: false } });
  expectProblem(t, stale, 412);
  const patched = await hub.request({ method: 'PATCH', url: `/api/v1/organizations/${bank.id}`, headers: { 'if-match': '"1"' }, payload: { active: false, contact: { email: 'ops@momo.example' } } });
  t.equal(patched.statusCode, 200, patched.body);
  t.match(patched.json(), { active: false, version: 2, contact: { email: 'ops@momo.example' } });

  const deleted = await hub.request({ method: 'DELETE', url: `/api/v1/organizations/${bank.id}` });
  t.equal(deleted.statusCode, 204);
  expectProblem(t, await hub.request({ method: 'GET', url: `/api/v1/organizations/${bank.id}` }), 410);
  t.same((await hub.request({ method: 'GET', url: '/api/v1/organizations' })).json().items.map((o: { id: string }) => o.id), [ministry.id]);
  t.same(await auditActions(t, hub, bank.id), ['organization.create', 'organization.update', 'organization.delete']);
});

t.test('bad input is refused', async (t) => {
  expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/organizations', payload: { type: 'bank', name: 'X' } }), 400);
  expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/organizations', payload: { type: 'government', name: 'X', identifiers: [{ system: 'not a uri', value: '1' }] } }), 400);
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/organizations/00000000-0000-4000-8000-000000000000' }), 404);
});

t.test('a programme names its operator; an operator in use cannot be deleted', async (t) => {
  const agency = await create(t, hub, 'organizations', { type: 'programme-operator', name: 'Cash Transfer Agency' });
  const provider = await create(t, hub, 'organizations', { type: 'payment-provider', name: 'Bank' });
  const refused = await hub.request({ method: 'POST', url: '/api/v1/programmes', payload: { code: 'P-X', subject: 'individual', operator_id: provider.id } });
  t.match(expectProblem(t, refused, 422).detail, /payment provider/);
  const missing = await hub.request({ method: 'POST', url: '/api/v1/programmes', payload: { code: 'P-Y', subject: 'individual', operator_id: '00000000-0000-4000-8000-000000000000' } });
  expectProblem(t, missing, 422);
  const programme = await create(t, hub, 'programmes', { code: 'P-CT', subject: 'individual', operator_id: agency.id });
  t.equal(programme.operator_id, agency.id);
  const bare = await create(t, hub, 'programmes', { code: 'P-NONE', subject: 'group' });
  t.equal(bare.operator_id, null);
  expectProblem(t, await hub.request({ method: 'DELETE', url: `/api/v1/organizations/${agency.id}` }), 409);
});

t.test('scopes: programmes:read reads, programmes:write writes', async (t) => {
  const reader = await hub.client(['programmes:read']);
  t.equal((await hub.request({ method: 'GET', url: '/api/v1/organizations', token: reader.token })).statusCode, 200);
  expectProblem(t, await hub.request({ method: 'POST', url: '/api/v1/organizations', token: reader.token, payload: { type: 'government', name: 'X' } }), 403);
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/organizations', token: null }), 401);
});
