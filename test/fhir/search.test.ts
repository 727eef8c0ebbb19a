import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import t, { type Test } from 'tap';
import { testHub } from '../helpers/hub.js';
import { expectOutcome, fhirGet, matchIds, search, seedRegistry, walkPages } from '../helpers/fhir.js';

const hub = await testHub(t);
const reg = await seedRegistry(hub);
const { jean, marie, eric, aline, paul } = reg.people;
const sorted = (ids: string[]) => [...ids].sort();

/** Ids a Patient search finds (the Bundle validated on the way). */
const patients = async (t: Test, query: string) => sorted(matchIds(await search(t, hub, `/fhir/Patient?${query}`)));

t.test('Patient search parameters', async (t) => {
  t.same(await patients(t, ''), sorted([jean, marie, eric, aline, paul]), 'no parameter: everyone');
  t.same(await patients(t, `_id=${jean}`), [jean]);
  t.same(await patients(t, `_id=${jean},${eric}`), sorted([jean, eric]), 'comma is OR');
  t.same(await patients(t, '_id=nope'), []);

  const nin = encodeURIComponent('https://convergence-hub.org/fhir/sid/nin');
  t.same(await patients(t, `identifier=${nin}|N-1`), [jean], 'system|value');
  t.same(await patients(t, 'identifier=N-1'), [jean], 'value alone');
  t.same(await patients(t, `identifier=${nin}|`), [jean], 'system| (any value)');
  t.same(await patients(t, 'identifier=|N-1'), [], '|value: no identifier here lacks a system');
  t.same(await patients(t, `identifier=${encodeURIComponent('https://other.example/nin')}|N-1`), [], 'unknown system');
  t.same(await patients(t, `identifier=${encodeURIComponent('https://convergence-hub.org/fhir/sid/birth-reg-no')}|B-1`), [eric]);

  t.same(await patients(t, 'name=ndayi'), sorted([jean, marie, eric]), 'name: starts with, case-insensitive');
  t.same(await patients(t, 'name=claire'), [marie], 'name includes the middle name');
  t.same(await patients(t, 'given=eric'), [eric], 'accent-insensitive');
  t.same(await patients(t, 'given:exact=Éric'), [eric]);
  t.same(await patients(t, 'given:exact=eric'), [], ':exact is exact');
  t.same(await patients(t, 'family:contains=kizi'), sorted([aline, paul]));
  t.same(await patients(t, 'family=Hakizimana&given=Paul'), [paul], 'parameters AND');

  t.same(await patients(t, 'birthdate=1980'), [jean], 'year precision');
  t.same(await patients(t, 'birthdate=1983-05'), [marie], 'month precision');
  t.same(await patients(t, 'birthdate=2012-09-30'), [eric]);
  t.same(await patients(t, 'birthdate=eq2012-09-29'), []);
  t.same(await patients(t, 'birthdate=lt1983-05-11'), [jean]);
  t.same(await patients(t, 'birthdate=le1983-05-11'), sorted([jean, marie]));
  t.same(await patients(t, 'birthdate=gt2012'), [paul]);
  t.same(await patients(t, 'birthdate=ge2012'), sorted([eric, paul]));
  t.same(await patients(t, 'birthdate=ge1983&birthdate=lt2000'), sorted([marie, aline]), 'a range with two prefixes');
  t.same(await patients(t, 'birthdate=ne1980'), sorted([marie, eric, aline, paul]));

  t.same(await patients(t, 'gender=female'), sorted([marie, aline]));
  t.same(await patients(t, `gender=${encodeURIComponent('http://hl7.org/fhir/administrative-gender|male')}`), sorted([jean, eric, paul]));
  t.same(await patients(t, 'gender=male,female'), sorted([jean, marie, eric, aline, paul]));
  t.same(await patients(t, 'deceased=true'), [aline]);
  t.same(await patients(t, 'deceased=false'), sorted([jean, marie, eric, paul]));
  t.same(await patients(t, 'address=bujumbura'), sorted([jean, marie, eric]), 'address: an area above the person');
  t.same(await patients(t, 'address=Rohero'), sorted([jean, marie, eric]));
  t.same(await patients(t, 'address=gitega'), sorted([aline, paul]));
  t.same(await patients(t, 'address:exact=gitega'), [], ':exact');

  t.same(await patients(t, `_lastUpdated=ge2000-01-01`), sorted([jean, marie, eric, aline, paul]));
  t.same(await patients(t, `_lastUpdated=lt2000-01-01T00:00:00Z`), []);
  t.same(await patients(t, 'name='), sorted([jean, marie, eric, aline, paul]), 'an empty value is ignored');
});

t.test('Group and Location search parameters, _include', async (t) => {
  const groups = async (query: string) => sorted(matchIds(await search(t, hub, `/fhir/Group?${query}`)));
  const { hhA, hhB } = reg.groups;
  t.same(await groups(''), sorted([hhA.id, hhB.id]));
  t.same(await groups(`member=Patient/${eric}`), [hhA.id]);
  t.same(await groups(`member=${aline}`), [hhB.id], 'a bare id');
  t.same(await groups(`member=${hub.config.publicUrl}/fhir/Patient/${aline}`), [hhB.id], 'an absolute reference');
  t.same(await groups('code=household'), sorted([hhA.id, hhB.id]));
  t.same(await groups(`code=${encodeURIComponent('https://convergence-hub.org/fhir/CodeSystem/group-kind|household')}`), sorted([hhA.id, hhB.id]));
  t.same(await groups('code=cooperative'), []);
  t.same(await groups('identifier=HH-B'), [hhB.id]);

  const bundle = await search(t, hub, `/fhir/Group?_id=${hhA.id}&_include=Group:member`);
  t.same(matchIds(bundle), [hhA.id]);
  const included = (bundle.entry ?? []).filter((e) => e.search?.mode === 'include');
  t.same(sorted(included.map((e) => e.resource!.id!)), sorted([jean, marie, eric]), 'members included once each');
  t.ok(included.every((e) => e.resource!.resourceType === 'Patient' && e.fullUrl!.endsWith(`/fhir/Patient/${e.resource!.id}`)));
  t.equal(bundle.total, 1, 'total counts matches only');
  const typed = await search(t, hub, `/fhir/Group?_include=Group:member:Patient`);
  t.equal(typed.entry!.filter((e) => e.search?.mode === 'include').length, 5);

  const locations = async (query: string) => sorted(matchIds(await search(t, hub, `/fhir/Location?${query}`)));
  const { bujumbura, mukaza, rohero, gitega } = reg.locations;
  t.same(await locations(''), sorted([bujumbura.id, mukaza.id, rohero.id, gitega.id]));
  t.same(await locations('name=git'), [gitega.id]);
  t.same(await locations(`partof=Location/${bujumbura.id}`), [mukaza.id]);
  t.same(await locations('identifier=Q-RO'), [rohero.id]);
});

t.test('paging: _count, total, keyset next links, _summary=count', async (t) => {
  for (let i = 0; i < 8; i++) {
    const res = await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: `Page${i}`, family_name: 'Walker', sex: 'other' } });
    t.equal(res.statusCode, 201);
  }
  const walked = await walkPages(t, hub, '/fhir/Patient?family=walker&_count=3');
  t.same(walked.sizes, [3, 3, 2]);
  t.equal(new Set(walked.ids).size, 8, 'each person once');
  t.same(walked.totals, [8], 'total is the whole result on every page');
  t.same(walked.ids, sorted(walked.ids), 'pages follow the keyset order');

  const first = await search(t, hub, '/fhir/Patient?family=walker&_count=3');
  const next = first.link!.find((l) => l.relation === 'next')!.url;
  t.match(next, /[?&]family=walker&_count=3&_cursor=[A-Za-z0-9_-]+$/, 'next keeps the parameters and adds _cursor');
  t.notOk(next.includes('_offset'));
  const self = first.link!.find((l) => l.relation === 'self')!.url;
  t.equal(self, `${hub.config.publicUrl}/fhir/Patient?family=walker&_count=3`);
  const second = await search(t, hub, next.slice(next.indexOf('/fhir/')));
  t.equal(second.link!.find((l) => l.relation === 'self')!.url, next, 'a later page links to itself with its cursor');
  const again = await search(t, hub, next.slice(next.indexOf('/fhir/')));
  t.same(matchIds(again), matchIds(second), 'the same page again');

  const count = await search(t, hub, '/fhir/Patient?family=walker&_summary=count');
  t.equal(count.total, 8);
  t.notOk(count.entry, '_summary=count has no entries');
  const zero = await search(t, hub, '/fhir/Patient?_count=0');
  t.equal(zero.total, 13);
  t.notOk(zero.entry);
  const big = await search(t, hub, '/fhir/Patient?_count=100000');
  t.equal(matchIds(big).length, 13, '_count above the maximum is capped, not refused');
});

t.test('unknown parameters: lenient by default, refused with Prefer: handling=strict', async (t) => {
  const lenient = await search(t, hub, '/fhir/Patient?family=Hakizimana&colour=blue');
  t.same(sorted(matchIds(lenient)), sorted([aline, paul]));
  t.equal(lenient.link!.find((l) => l.relation === 'self')!.url, `${hub.config.publicUrl}/fhir/Patient?family=Hakizimana`, 'self omits it');
  const warning = lenient.entry!.find((e) => e.search?.mode === 'outcome')!.resource as OperationOutcome;
  t.match(warning.issue[0], { severity: 'warning', code: 'not-supported' });
  t.match(warning.issue[0]!.diagnostics, /colour/);
  const explicit = await fhirGet(hub, '/fhir/Patient?colour=blue', { headers: { prefer: 'handling=lenient' } });
  t.equal(explicit.statusCode, 200);

  const strict = await fhirGet(hub, '/fhir/Patient?family=Hakizimana&colour=blue', { headers: { prefer: 'handling=strict' } });
  t.match(expectOutcome(t, strict, 400, 'not-supported', 'strict'), /colour/);
  const strictOk = await fhirGet(hub, '/fhir/Patient?family=Hakizimana', { headers: { prefer: 'handling=strict' } });
  t.equal(strictOk.statusCode, 200, 'strict with known parameters');
  const sort = await fhirGet(hub, '/fhir/Patient?_sort=address', { headers: { prefer: 'handling=strict' } });
  t.match(expectOutcome(t, sort, 400, 'not-supported', 'an unsupported _sort'), /_sort=address is not supported: sort by one of _id, _lastUpdated, family, given, birthdate/);
});

t.test('bad values and modifiers are 400 OperationOutcomes', async (t) => {
  const bad = async (query: string, code = 'invalid', type = 'Patient') =>
    expectOutcome(t, await fhirGet(hub, `/fhir/${type}?${query}`), 400, code, query);
  await bad('birthdate=1980-13-01');
  await bad('birthdate=1980-02-30');
  await bad('birthdate=yesterday');
  await bad('birthdate=xx1980');
  await bad('_lastUpdated=2020-01-01T10:00');
  await bad('gender=robot');
  await bad('deceased=maybe');
  await bad('name:sounds=jean');
  await bad('gender:text=male');
  await bad('_count=-1');
  await bad('_count=ten');
  await bad('_cursor=forged');
  await bad('_summary=true', 'not-supported');
  await bad('_include=Patient:organization', 'not-supported');
  await bad('_include=Group:managing-entity', 'not-supported', 'Group');
  await bad('member=Location/abc', 'invalid', 'Group');
});

t.test('POST _search takes the parameters as a form', async (t) => {
  const res = await hub.request({
    method: 'POST',
    url: '/fhir/Patient/_search?_count=1',
    payload: 'family=Hakizimana&gender=female',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.equal(res.statusCode, 200, res.body);
  const bundle = res.json() as Bundle;
  t.same(matchIds(bundle), [aline]);
  t.equal(bundle.total, 1);
});
