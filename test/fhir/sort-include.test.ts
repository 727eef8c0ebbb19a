import type { Bundle, Group, OperationOutcome } from '@medplum/fhirtypes';
import t, { type Test } from 'tap';
import { testHub } from '../helpers/hub.js';
import { expectFhir, expectOutcome, fhirGet, matchIds, search, seedRegistry, walkPages } from '../helpers/fhir.js';

const hub = await testHub(t);
const reg = await seedRegistry(hub);
const { jean, marie, eric, aline, paul } = reg.people;
const sorted = (ids: string[]) => [...ids].sort();

async function person(payload: object): Promise<string> {
  const res = await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { sex: 'other', ...payload } });
  if (res.statusCode !== 201) throw new Error(res.body);
  return res.json().id;
}

// Two share a birth date (the id breaks the tie), two have none (they come last), names with accents and case.
const twinA = await person({ given_name: 'Twin', family_name: 'ébert', birth_date: '1983-05-11' });
const twinB = await person({ given_name: 'Twin', family_name: 'Ebert', birth_date: '1983-05-11' });
const noDateA = await person({ given_name: 'Zed', family_name: 'Dupont' });
const noDateB = await person({ given_name: 'Ann', family_name: 'fabre' });

const births: [string, string | null][] = [
  [jean, '1980-02-01'], [marie, '1983-05-11'], [eric, '2012-09-30'], [aline, '1990-07-15'], [paul, '2015-01-01'],
  [twinA, '1983-05-11'], [twinB, '1983-05-11'], [noDateA, null], [noDateB, null],
];
const byKey = (rows: [string, string | null][], descending: boolean) => {
  const sign = descending ? -1 : 1;
  return [...rows]
    .sort(([ia, a], [ib, b]) => {
      if (a === null || b === null) return a === b ? sign * ia.localeCompare(ib) : a === null ? 1 : -1;
      return a === b ? sign * ia.localeCompare(ib) : sign * a.localeCompare(b);
    })
    .map(([id]) => id);
};

/** Every id in the order the pages give them, walking next links two at a time. */
const walk = async (t: Test, query: string) => {
  const { ids, sizes } = await walkPages(t, hub, `/fhir/Patient?${query}&_count=2`);
  t.equal(sizes.length, Math.ceil(ids.length / 2), 'full pages until the last');
  t.equal(new Set(ids).size, ids.length, 'no one twice');
  return ids;
};

t.test('_sort=birthdate and -birthdate page in order, people without a date last, ties by id', async (t) => {
  t.same(await walk(t, '_sort=birthdate'), byKey(births, false));
  t.same(await walk(t, '_sort=-birthdate'), byKey(births, true));
  t.same(await walk(t, 'gender=other&_sort=birthdate'), byKey(births.filter(([id]) => [twinA, twinB, noDateA, noDateB].includes(id)), false), 'with a filter');
});

t.test('_sort=family is case- and accent-insensitive; _id and -_id; _lastUpdated follows changes', async (t) => {
  const families: [string, string][] = [
    [jean, 'ndayishimiye'], [marie, 'ndayishimiye'], [eric, 'ndayishimiye'], [aline, 'hakizimana'], [paul, 'hakizimana'],
    [twinA, 'ebert'], [twinB, 'ebert'], [noDateA, 'dupont'], [noDateB, 'fabre'],
  ];
  t.same(await walk(t, '_sort=family'), byKey(families, false));
  t.same(await walk(t, '_sort=-family'), byKey(families, true));
  const all = births.map(([id]) => id);
  t.same(await walk(t, '_sort=_id'), sorted(all));
  t.same(await walk(t, '_sort=-_id'), sorted(all).reverse());

  const res = await hub.request({ method: 'PATCH', url: `/api/v1/individuals/${eric}`, headers: { 'if-match': '"1"' }, payload: { phone: '+25779000009' } });
  t.equal(res.statusCode, 200, res.body);
  const newest = await walk(t, '_sort=-_lastUpdated');
  t.equal(newest[0], eric, 'the person changed last comes first');
  t.same((await walk(t, '_sort=_lastUpdated')).reverse(), newest, 'ascending is the reverse');
});

t.test('a cursor belongs to its sort; unsupported sorts are refused (strict) or ignored with a warning', async (t) => {
  const first = await search(t, hub, '/fhir/Patient?_sort=birthdate&_count=2');
  const next = first.link!.find((l) => l.relation === 'next')!.url;
  t.match(next, /_sort=birthdate&_count=2&_cursor=/);
  const cursor = new URL(next).searchParams.get('_cursor')!;
  const moved = await fhirGet(hub, `/fhir/Patient?_sort=family&_count=2&_cursor=${cursor}`);
  t.match(expectOutcome(t, moved, 400, 'invalid', 'a cursor under another sort'), /issued for _sort=birthdate/);

  const strict = { headers: { prefer: 'handling=strict' } };
  expectOutcome(t, await fhirGet(hub, '/fhir/Patient?_sort=family,given', strict), 400, 'not-supported', 'two sort keys');
  expectOutcome(t, await fhirGet(hub, '/fhir/Patient?_sort=gender', strict), 400, 'not-supported', 'a parameter without a sort');
  expectOutcome(t, await fhirGet(hub, '/fhir/Group?_sort=birthdate', strict), 400, 'not-supported', 'another type’s parameter');
  const lenient = await search(t, hub, '/fhir/Patient?_sort=gender');
  t.same(matchIds(lenient), sorted(births.map(([id]) => id)), 'ignored: id order');
  const warning = lenient.entry!.find((e) => e.search?.mode === 'outcome')!.resource as OperationOutcome;
  t.match(warning.issue[0]!.diagnostics, /_sort=gender/);
  t.equal(lenient.link!.find((l) => l.relation === 'self')!.url, `${hub.config.publicUrl}/fhir/Patient`, 'self omits the ignored sort');
});

/** Ids of the `include` entries of a Bundle, sorted. */
const includedIds = (bundle: Bundle, type: string) =>
  sorted((bundle.entry ?? []).filter((e) => e.search?.mode === 'include' && e.resource!.resourceType === type).map((e) => e.resource!.id!));

t.test('_revinclude: households of the people found, their relations, sub-areas', async (t) => {
  const { hhA, hhB } = reg.groups;
  const withGroups = await search(t, hub, `/fhir/Patient?_id=${jean},${paul}&_revinclude=Group:member`);
  t.same(sorted(matchIds(withGroups)), sorted([jean, paul]));
  t.same(includedIds(withGroups, 'Group'), sorted([hhA.id, hhB.id]));
  t.equal(withGroups.total, 2, 'total counts matches only');
  t.match(withGroups.link!.find((l) => l.relation === 'self')!.url, /_revinclude=Group%3Amember/);

  const relations = await search(t, hub, `/fhir/Patient?_id=${jean}&_revinclude=RelatedPerson:patient&_revinclude=Group:member`);
  t.equal(includedIds(relations, 'RelatedPerson').length, 2, "the head's spouse and child");
  t.same(includedIds(relations, 'Group'), [hhA.id]);

  const none = await search(t, hub, `/fhir/Patient?_id=${twinA}&_revinclude=Group:member`);
  t.same(includedIds(none, 'Group'), [], 'someone in no household');

  const { bujumbura, mukaza, rohero } = reg.locations;
  const areas = await search(t, hub, `/fhir/Location?_id=${bujumbura.id},${mukaza.id}&_revinclude=Location:partof`);
  t.same(includedIds(areas, 'Location'), [rohero.id], 'Mukaza is a match, so only Rohero is added: each resource appears once');

  expectOutcome(t, await fhirGet(hub, '/fhir/Patient?_revinclude=Observation:patient'), 400, 'not-supported');
  expectOutcome(t, await fhirGet(hub, '/fhir/Group?_revinclude=Group:member'), 400, 'not-supported');
});

t.test('household attributes are Group characteristics, searchable with characteristic-value', async (t) => {
  const created = await hub.request({
    method: 'POST',
    url: '/api/v1/groups',
    payload: {
      code: 'HH-ATTR',
      attributes: { rooms: 3, water_source: 'borehole', electricity: true, assets: ['radio', 'bicycle'], notes: { any: 'object' } },
      members: [{ role: 'head', individual_id: twinA }],
    },
  });
  t.equal(created.statusCode, 201, created.body);
  const id = created.json().id as string;
  const group = expectFhir<Group>(t, await fhirGet(hub, `/fhir/Group/${id}`), 200);
  const system = 'https://convergence-hub.org/fhir/CodeSystem/group-attribute';
  t.same(group.characteristic, [
    { code: { coding: [{ system, code: 'assets' }] }, valueCodeableConcept: { coding: [{ code: 'radio' }], text: 'radio' }, exclude: false },
    { code: { coding: [{ system, code: 'assets' }] }, valueCodeableConcept: { coding: [{ code: 'bicycle' }], text: 'bicycle' }, exclude: false },
    { code: { coding: [{ system, code: 'electricity' }] }, valueBoolean: true, exclude: false },
    { code: { coding: [{ system, code: 'rooms' }] }, valueQuantity: { value: 3 }, exclude: false },
    { code: { coding: [{ system, code: 'water_source' }] }, valueCodeableConcept: { coding: [{ code: 'borehole' }], text: 'borehole' }, exclude: false },
  ], 'one per value, by name; the nested object has no characteristic form');

  const groups = async (query: string) => matchIds(await search(t, hub, `/fhir/Group?${query}`));
  const cv = (value: string) => `characteristic-value=${encodeURIComponent(value)}`;
  t.same(await groups(cv('water_source$borehole')), [id]);
  t.same(await groups(cv(`${system}|water_source$borehole`)), [id], 'with the characteristic system');
  t.same(await groups(cv('https://other.example/cs|water_source$borehole')), [], 'another system');
  t.same(await groups(cv('electricity$true')), [id]);
  t.same(await groups(cv('electricity$false')), []);
  t.same(await groups(cv('rooms$3')), [id]);
  t.same(await groups(cv('rooms$4')), []);
  t.same(await groups(cv('assets$bicycle')), [id], 'an item of a list');
  t.same(await groups(cv('water_source$well,rooms$3')), [id], 'comma is OR');
  t.same(await groups(`${cv('rooms$3')}&${cv('electricity$false')}`), [], 'repeats AND');
  t.same(await groups(cv('bad-name$1')), []);
  expectOutcome(t, await fhirGet(hub, `/fhir/Group?${cv('rooms')}`), 400, 'invalid', 'no $');

  // A FHIR update leaves the attributes alone: characteristics are read-only here.
  const { meta: _meta, ...body } = group;
  const put = await hub.request({
    method: 'PUT',
    url: `/fhir/Group/${id}`,
    headers: { 'content-type': 'application/fhir+json', 'if-match': 'W/"1"' },
    payload: { ...body, name: 'Renamed', characteristic: [] },
  });
  const updated = expectFhir<Group>(t, put, 200, 'PUT');
  t.equal(updated.name, 'Renamed');
  t.same(updated.characteristic, group.characteristic, 'attributes unchanged');
});
