import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import t from 'tap';
import { FhirPersonSource } from '../../../src/adapters/registry/fhir.js';
import { IdentifierSystems } from '../../../src/fhir/identifier-systems.js';
import { importExternalPerson, linkExternalPerson } from '../../../src/registry/external-people.js';
import { systemActor } from '../../../src/security/actor.js';
import { configureOutbound } from '../../../src/security/outbound.js';
import { seedRegistry } from '../../helpers/fhir.js';
import { testHub } from '../../helpers/hub.js';

// The fake servers listen on http://127.0.0.1; the first test makes its source before any hub configures the policy.
configureOutbound({ allowHttp: true, allowHosts: ['127.0.0.1'] });

const patient = (id: string, family: string, given: string[], extra: Partial<Patient> = {}): Patient => ({
  resourceType: 'Patient',
  id,
  name: [{ family, given }],
  ...extra,
});

t.test('against a fake FHIR server: search parameters, bearer token, next pages, entries it cannot use', async (t) => {
  const seen: { url: string; authorization?: string }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url!, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
    const page2 = req.url!.includes('page=2');
    const bundle: Bundle = page2
      ? { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: patient('p3', 'Mugisha', ['Claude']), search: { mode: 'match' } }] }
      : {
          resourceType: 'Bundle',
          type: 'searchset',
          link: [{ relation: 'next', url: `${base}/Patient?page=2` }],
          entry: [
            {
              resource: patient('p1', 'Mugisha', ['Anne', 'Marie'], {
                gender: 'female',
                birthDate: '1990-03-04',
                deceasedDateTime: '2021-05-06T10:00:00Z',
                identifier: [{ system: 'https://id.example.gov/nin', value: '77' }, { value: 'no-system' }],
              }),
              search: { mode: 'match' },
            },
            { resource: patient('p2', '', []), search: { mode: 'match' } },
            { resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'warning', code: 'informational' }] }, search: { mode: 'outcome' } },
          ],
        };
    res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(JSON.stringify(bundle));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;

  const source = new FhirPersonSource({ baseUrl, bearerToken: 'secret-token' });
  const people = await source.find({ identifier: { system: 'https://id.example.gov/nin', value: '77' }, family_name: 'Mugisha', birth_date: '1990-03-04', sex: 'female' }, 10);
  t.same(people.map((p) => p.source), [`${baseUrl}/Patient/p1`, `${baseUrl}/Patient/p3`], 'both pages; the nameless Patient and the outcome are skipped');
  t.same(people[0], {
    source: `${baseUrl}/Patient/p1`,
    identifiers: [{ system: 'https://id.example.gov/nin', value: '77' }],
    given_name: 'Anne',
    middle_name: 'Marie',
    family_name: 'Mugisha',
    sex: 'female',
    birth_date: '1990-03-04',
    death_date: '2021-05-06',
  });
  const first = new URL(seen[0]!.url, baseUrl);
  t.equal(first.pathname, '/fhir/Patient');
  t.same(Object.fromEntries(first.searchParams), {
    _count: '10',
    identifier: 'https://id.example.gov/nin|77',
    family: 'Mugisha',
    birthdate: '1990-03-04',
    gender: 'female',
  });
  t.ok(seen.every((r) => r.authorization === 'Bearer secret-token'), 'the bearer token on every request');
  t.equal(seen.length, 2);

  const limited = await new FhirPersonSource({ baseUrl }).find({ family_name: 'Mugisha' }, 1);
  t.equal(limited.length, 1, 'stops at the limit');
  t.equal(seen.length, 3, 'without fetching the next page');
});

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

t.test('end to end against our own /fhir: find by identifier and demographics, import with provenance, link', async (t) => {
  const port = await freePort();
  const source = await testHub(t, { HUB_PUBLIC_URL: `http://127.0.0.1:${port}` });
  const reg = await seedRegistry(source);
  await source.app.listen({ host: '127.0.0.1', port });
  const reader = await source.client(['fhir:read']);
  const remote = new FhirPersonSource({ baseUrl: `http://127.0.0.1:${port}/fhir`, bearerToken: reader.token, pageSize: 2 });

  const nin = 'https://convergence-hub.org/fhir/sid/nin';
  const [jean] = await remote.find({ identifier: { system: nin, value: 'N-1' } }, 5);
  t.match(jean, { source: `http://127.0.0.1:${port}/fhir/Patient/${reg.people.jean}`, given_name: 'Jean', family_name: 'Ndayishimiye', sex: 'male', birth_date: '1980-02-01' });
  const family = await remote.find({ family_name: 'Ndayishimiye' }, 10);
  t.equal(family.length, 3, 'three people over two pages of two');

  const target = await testHub(t);
  const typeOf = (system: string) => new IdentifierSystems({}).typeOf(system);
  const actor = systemActor('fhir-import');
  const imported = await importExternalPerson(target.database.db, actor, jean!, typeOf);
  t.same(imported.identifiers, [{ type: 'NIN', value: 'N-1' }]);
  t.match(imported.attributes, { source_records: [{ url: jean!.source }] });

  const marie = family.find((p) => p.given_name === 'Marie')!;
  const local = await importExternalPerson(target.database.db, actor, { ...marie, identifiers: [] }, typeOf);
  const linked = await linkExternalPerson(target.database.db, actor, local.id, local.version, { ...marie, identifiers: [{ system: nin, value: 'N-9' }, { system: 'https://elsewhere.example/x', value: '1' }] }, typeOf);
  t.same(linked.identifiers, [{ type: 'NIN', value: 'N-9' }], 'identifiers of known systems are added');
  t.equal((linked.attributes.source_records as unknown[]).length, 1, 'the same source is recorded once');
  t.equal(linked.version, 2);
});
