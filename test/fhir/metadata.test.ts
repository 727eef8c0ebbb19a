import type { CapabilityStatement } from '@medplum/fhirtypes';
import fs from 'node:fs';
import t from 'tap';
import { testHub } from '../helpers/hub.js';
import { expectFhir, expectOutcome, fhirGet } from '../helpers/fhir.js';

const hub = await testHub(t);

t.test('the CapabilityStatement is public, valid R4 and states what is implemented', async (t) => {
  const res = await fhirGet(hub, '/fhir/metadata', { token: null });
  const cs = expectFhir<CapabilityStatement>(t, res, 200, 'metadata');
  t.match(cs, { resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1' });
  t.ok(cs.format?.includes('application/fhir+json'));
  const rest = cs.rest![0]!;
  t.equal(rest.mode, 'server');
  t.equal(rest.security?.service?.[0]?.coding?.[0]?.code, 'OAuth');
  const uris = rest.security?.extension?.find((e) => e.url.endsWith('/oauth-uris'));
  t.equal(uris?.extension?.find((e) => e.url === 'token')?.valueUri, `${hub.config.publicUrl}/oauth2/client/token`);

  const byType = Object.fromEntries(rest.resource!.map((r) => [r.type, r]));
  t.same(Object.keys(byType).sort(), ['EpisodeOfCare', 'Group', 'Location', 'Organization', 'Patient', 'RelatedPerson']);
  const params = (type: string) => byType[type]!.searchParam!.map((p) => p.name).sort();
  t.same(params('Patient'), ['_id', '_lastUpdated', 'address', 'birthdate', 'deceased', 'family', 'gender', 'given', 'identifier', 'name'].sort());
  t.same(params('Group'), ['_id', '_lastUpdated', 'characteristic-value', 'code', 'identifier', 'member'].sort());
  t.same(params('Organization'), ['_id', '_lastUpdated', 'active', 'identifier', 'name', 'type'].sort());
  t.same(params('EpisodeOfCare'), ['_id', '_lastUpdated', 'beneficiary', 'organization', 'patient', 'status', 'type'].sort());
  t.equal(byType.Group!.searchParam!.find((p) => p.name === 'characteristic-value')?.type, 'composite');
  t.equal(
    byType.EpisodeOfCare!.searchParam!.find((p) => p.name === 'beneficiary')?.definition,
    'https://convergence-hub.org/fhir/SearchParameter/EpisodeOfCare-beneficiary',
    'a parameter of our own names our definition',
  );
  t.same(params('Location'), ['_id', '_lastUpdated', 'identifier', 'name', 'partof'].sort());
  t.same(params('RelatedPerson'), ['_id', '_lastUpdated', 'patient']);
  t.same(byType.Group!.searchInclude, ['Group:member', 'Group:member:Patient']);
  t.same(byType.Patient!.searchRevInclude, ['Group:member', 'RelatedPerson:patient', 'EpisodeOfCare:patient', 'EpisodeOfCare:beneficiary']);
  t.same(byType.Group!.searchRevInclude, ['EpisodeOfCare:beneficiary']);
  t.same(byType.Organization!.searchRevInclude, ['EpisodeOfCare:organization']);
  t.same(byType.Location!.searchRevInclude, ['Location:partof']);
  t.notOk(byType.EpisodeOfCare!.searchRevInclude);
  t.same(byType.EpisodeOfCare!.searchInclude, ['EpisodeOfCare:patient', 'EpisodeOfCare:beneficiary', 'EpisodeOfCare:organization']);
  t.match(byType.Patient!.documentation, /_sort by one of _id, _lastUpdated, family, given, birthdate/);
  t.match(byType.Organization!.documentation, /_sort by one of _id, _lastUpdated, name /);
  t.match(byType.EpisodeOfCare!.documentation, /_sort by one of _id, _lastUpdated \(/);
  const interactions = (type: string) => byType[type]!.interaction!.map((i) => i.code).sort();
  t.same(interactions('Location'), ['history-instance', 'read', 'search-type', 'vread']);
  t.equal(byType.Location!.readHistory, true);
  t.same(interactions('Organization'), ['history-instance', 'read', 'search-type', 'vread']);
  t.same(interactions('RelatedPerson'), ['read', 'search-type']);
  t.same(interactions('EpisodeOfCare'), ['history-instance', 'read', 'search-type', 'vread']);
  t.equal(byType.EpisodeOfCare!.readHistory, true);
  t.notOk(byType.EpisodeOfCare!.conditionalCreate, 'read-only');
  for (const type of ['Patient', 'Group']) {
    t.same(interactions(type), ['create', 'history-instance', 'read', 'search-type', 'update', 'vread'], `${type} interactions`);
    t.equal(byType[type]!.conditionalCreate, true);
    t.equal(byType[type]!.readHistory, true);
  }
  for (const r of rest.resource!) {
    t.match(r.profile, /^https:\/\/convergence-hub\.org\/fhir\/StructureDefinition\//, `${r.type} names its profile`);
  }
});

t.test('_format and Accept: JSON only', async (t) => {
  for (const format of ['json', 'application/fhir+json', 'application/json']) {
    const res = await fhirGet(hub, `/fhir/metadata?_format=${encodeURIComponent(format)}`, { token: null });
    t.equal(res.statusCode, 200, `_format=${format}`);
  }
  expectOutcome(t, await fhirGet(hub, '/fhir/metadata?_format=xml', { token: null }), 406, 'not-supported', '_format=xml');
  expectOutcome(
    t,
    await fhirGet(hub, '/fhir/metadata', { token: null, headers: { accept: 'application/fhir+xml' } }),
    406,
    'not-supported',
    'Accept: XML only',
  );
  const either = await fhirGet(hub, '/fhir/metadata', { token: null, headers: { accept: 'application/fhir+xml;q=0.9, application/fhir+json' } });
  t.equal(either.statusCode, 200, 'Accept naming JSON among others');
  const pretty = await fhirGet(hub, '/fhir/metadata?_pretty=true', { token: null });
  t.match(pretty.body, /^\{\n {2}"resourceType"/, '_pretty=true indents');
});

t.test('FHIR routes stay out of the admin OpenAPI document; docs/security.md lists /fhir/metadata as public', async (t) => {
  const doc = (await fhirGet(hub, '/openapi.json', { token: null })).json() as { paths: Record<string, unknown> };
  t.same(Object.keys(doc.paths).filter((p) => p.startsWith('/fhir')), []);
  const security = fs.readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8');
  t.match(security, /`\/fhir\/metadata`/);
});

t.test('unknown FHIR paths are a 404 OperationOutcome', async (t) => {
  expectOutcome(t, await fhirGet(hub, '/fhir/Observation'), 404, 'not-supported');
  expectOutcome(t, await hub.request({ method: 'DELETE', url: '/fhir/metadata' }), 404, 'not-supported');
});
