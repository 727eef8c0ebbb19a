import { and, count, sql } from 'drizzle-orm';
import t, { type Test } from 'tap';
import type { Db } from '../../src/db/client.js';
import { queryRows } from '../../src/db/query-rows.js';
import { groups, individuals, searchNames } from '../../src/db/schema/index.js';
import { inLocations, subtreeOf } from '../../src/db/location-tree.js';
import { groupSearchQuery, resolveGroupFilters } from '../../src/registry/groups.js';
import { resolveIndividualFilters, searchQuery, type IndividualFilters } from '../../src/registry/individuals.js';
import { birthDatesForAge, FUZZY_CANDIDATES } from '../../src/registry/search.js';
import { seedDatabase } from '../../src/registry/seed/load.js';
import { systemActor } from '../../src/security/actor.js';
import { testHub } from '../helpers/hub.js';
import { expectProblem, walk } from '../helpers/registry.js';

const hub = await testHub(t);
const db = hub.database.db;
await seedDatabase(hub.database, systemActor('system:seed'), { individuals: 3000, seed: 11 });

interface Person {
  id: string;
  given_name: string;
  family_name: string;
  sex: string;
  birth_date: string;
  location_id: string;
  path: string;
  attributes: Record<string, unknown>;
  identifiers: { type: string; value: string }[];
  group_id: string;
}

/** Every person with what the filters look at, for brute-force answers computed here, not by the search code. */
const people = await queryRows<Person>(
  db,
  sql`SELECT i.id, i.given_name, i.family_name, i.sex, i.birth_date::text AS birth_date, i.location_id, l.path::text AS path, i.attributes,
             json_agg(json_build_object('type', d.type, 'value', d.value)) AS identifiers, min(m.group_id::text) AS group_id
      FROM individuals i JOIN locations l ON l.id = i.location_id JOIN identifiers d ON d.individual_id = i.id
      JOIN group_members m ON m.individual_id = i.id GROUP BY i.id, l.path`,
);
const households = await queryRows<{ id: string; attributes: Record<string, unknown>; path: string }>(
  db,
  sql`SELECT g.id, g.attributes, l.path::text AS path FROM groups g JOIN locations l ON l.id = g.location_id`,
);
const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
const ids = (list: { id: string }[]) => list.map((p) => p.id).sort();

async function search(url: string, expected: { id: string }[], what: string, t: Test) {
  const { ids: found } = await walk(hub, url, 500);
  t.same([...found].sort(), ids(expected), `${what}: ${expected.length} matches, as brute force finds`);
  t.same(found, [...found].sort(), `${what}: in id order across pages`);
  const counted = await hub.request({ method: 'GET', url: `${url}${url.includes('?') ? '&' : '?'}count=true&limit=1` });
  t.equal(counted.json().total, expected.length, `${what}: count=true gives the total`);
  t.equal(counted.json().total_capped, false, `${what}: below the cap, the total is exact`);
}

t.test('individual searches agree with a brute-force answer', async (t) => {
  const someone = people[1234]!;
  const province = someone.path.split('.')[0]!;
  const [provinceRow] = await queryRows<{ id: string }>(db, sql`SELECT id FROM locations WHERE path = ${province}::ltree`);
  const nin = someone.identifiers[0]!;
  const ages = birthDatesForAge(30, 40);

  await search(`/api/v1/individuals?identifier_value=${encodeURIComponent(nin.value)}`, [someone], 'any identifier by value', t);
  await search(
    `/api/v1/individuals?location_id=${provinceRow!.id}&sex=female`,
    people.filter((p) => p.path.startsWith(`${province}.`) && p.sex === 'female'),
    'location subtree and sex',
    t,
  );
  await search(
    `/api/v1/individuals?age_min=30&age_max=40`,
    people.filter((p) => p.birth_date >= ages.from! && p.birth_date <= ages.to!),
    'age range',
    t,
  );
  await search(
    `/api/v1/individuals?given_name=${encodeURIComponent('HELENE')}`,
    people.filter((p) => fold(p.given_name) === 'helene'),
    'given name ignoring case and accents',
    t,
  );
  // Fuzzy: every Jérôme Ndayishimiye is found, and every hit shares the given or the family name (not a brute-force
  // equality: trigram similarity is the definition of the match).
  const full = await walk(hub, `/api/v1/individuals?name=${encodeURIComponent('jerome ndayishimiye')}`, 500);
  const jerome = people.filter((p) => fold(p.given_name) === 'jerome' && p.family_name === 'Ndayishimiye');
  t.ok(jerome.length > 0 && ids(jerome).every((id) => full.ids.includes(id)), `full name without accents finds all ${jerome.length}`);
  const byId = new Map(people.map((p) => [p.id, p]));
  t.ok(
    full.ids.every((id) => fold(byId.get(id)!.given_name) === 'jerome' || byId.get(id)!.family_name === 'Ndayishimiye'),
    `each of the ${full.ids.length} hits shares a name with the query`,
  );
  const fuzzy = await walk(hub, `/api/v1/individuals?name=${encodeURIComponent('Nkurunzisa')}`, 500);
  const nkurunziza = people.filter((p) => p.family_name === 'Nkurunziza');
  t.ok(nkurunziza.length > 0 && ids(nkurunziza).every((id) => fuzzy.ids.includes(id)), 'a misspelt family name still finds every holder');
  for (const query of ['Nkurunzisa', 'jerome ndayishimiy', 'Marie Niyonzim']) {
    // Brute force over the people themselves (not through search_names): everyone whose name the query is similar to.
    const similar = await queryRows<{ id: string }>(
      db,
      sql`SELECT id FROM individuals WHERE word_similarity(hub_normalise(${query}), search_name) >= 0.6 AND deleted_at IS NULL`,
    );
    await search(`/api/v1/individuals?name=${encodeURIComponent(query)}`, similar, `fuzzy "${query}"`, t);
  }
  await search(`/api/v1/individuals?group_id=${someone.group_id}`, people.filter((p) => p.group_id === someone.group_id), 'household', t);
  await search(
    `/api/v1/individuals?attr=disability:eq:true&attr=education:ne:none`,
    people.filter((p) => p.attributes.disability === true && p.attributes.education !== 'none'),
    'attribute equality and inequality',
    t,
  );
});

t.test('group searches by attribute comparisons agree with a brute-force answer', async (t) => {
  await search(`/api/v1/groups?attr=rooms:gte:4`, households.filter((h) => (h.attributes.rooms as number) >= 4), 'rooms >= 4', t);
  await search(
    `/api/v1/groups?attr=rooms:lt:3&attr=roof_material:eq:thatch`,
    households.filter((h) => (h.attributes.rooms as number) < 3 && h.attributes.roof_material === 'thatch'),
    'rooms < 3 and thatch roof',
    t,
  );
  await search(
    `/api/v1/groups?attr=land_hectares:gt:1.5&attr=electricity:eq:false`,
    households.filter((h) => (h.attributes.land_hectares as number) > 1.5 && h.attributes.electricity === false),
    'decimal comparison and a boolean',
    t,
  );
  const bad = expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/groups?attr=rooms:between:3' }), 400);
  t.ok(bad.errors?.some((e) => /attr/.test(e.parameter ?? '')), 'an unknown operator is a 400 naming attr');
  expectProblem(t, await hub.request({ method: 'GET', url: `/api/v1/groups?attr=${encodeURIComponent("x');drop table groups;--:eq:1")}` }), 400, 'an attribute name outside the pattern');
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/individuals?age_min=-1' }), 400, 'a negative age');
});

/**
 * Plan of a query with sequential scans (and reading a whole index in key order, which small tables favour) priced
 * out: shows which index can serve each filter.
 */
async function plan(db: Db, query: { toSQL(): { sql: string; params: unknown[] } }): Promise<string> {
  const { sql: text, params } = query.toSQL();
  return hub.database.bulk(async (tx) => {
    await tx.db.execute(sql`SET LOCAL enable_seqscan = off`);
    await tx.db.execute(sql`SET LOCAL enable_indexonlyscan = off`);
    const rows = await queryRows<Record<string, string>>(tx.db, sql.raw(`EXPLAIN ${inline(text, params)}`));
    return rows.map((r) => Object.values(r)[0]).join('\n');
  });
}

/** EXPLAIN cannot take bind parameters on both drivers alike: parameters become quoted literals (test data only). */
const inline = (text: string, params: unknown[]) =>
  text.replace(/\$(\d+)/g, (_, n: string) => {
    const value = params[Number(n) - 1];
    return typeof value === 'number' ? String(value) : `'${String(value).replaceAll("'", "''")}'`;
  });

t.test('every search filter can be served by an index (EXPLAIN)', async (t) => {
  await db.execute(sql`ANALYZE`);
  const someone = people[10]!;
  const [province] = await queryRows<{ id: string }>(db, sql`SELECT id FROM locations WHERE level = 1 LIMIT 1`);
  const cases: [string, string, ReturnType<typeof sql>, string][] = [
    ['identifier value', 'individuals', sql`id IN (SELECT individual_id FROM identifiers WHERE value = ${someone.identifiers[0]!.value})`, 'identifiers_value_idx'],
    ['exact given name', 'individuals', sql`hub_normalise(given_name) = hub_normalise(${'Hélène'})`, 'individuals_given_idx'],
    ['exact family name', 'individuals', sql`hub_normalise(family_name) = hub_normalise(${'ciza'})`, 'individuals_family_given_idx'],
    ['fuzzy name (names)', 'search_names', sql`name %> hub_normalise(${'nkurunzisa'})`, 'search_names_trgm'],
    ['fuzzy name (people of a name)', 'individuals', sql`search_name = ${'jean nkurunziza'} AND deleted_at IS NULL`, 'individuals_search_name_idx'],
    ['birth date range', 'individuals', sql`birth_date BETWEEN '1980-01-01' AND '1985-12-31'`, 'individuals_birth_date_idx'],
    ['location subtree (resolved to ids)', 'individuals', inLocations(individuals.locationId, await subtreeOf(db, province!.id)), 'individuals_location_birth_idx'],
    ['household', 'individuals', sql`id IN (SELECT individual_id FROM group_members WHERE group_id = ${someone.group_id} AND end_date IS NULL)`, 'group_members_current_key'],
    ['person attribute equality', 'individuals', sql`attributes @> '{"disability":true}'::jsonb`, 'individuals_attributes_gin'],
    ['household attribute equality', 'groups', sql`attributes @> '{"roof_material":"thatch"}'::jsonb`, 'groups_attributes_gin'],
    ['household location subtree (resolved to ids)', 'groups', inLocations(groups.locationId, await subtreeOf(db, province!.id)), 'groups_location_idx'],
  ];
  for (const [what, table, condition, index] of cases) {
    const target = { individuals, groups, search_names: searchNames }[table]!;
    const text = await plan(db, db.select({ n: count() }).from(target).where(and(condition)));
    t.match(text, new RegExp(`Index.* on ${index}|Index.*using ${index}`), `${what}: ${index}`, { plan: text });
  }
});

/** A plan walks the primary key when it scans individuals_pkey (or groups_pkey) for order, not to look ids up. */
const walksPrimaryKey = (text: string) => {
  const lines = text.split('\n');
  return lines.some((line, i) => /Index (Only )?Scan using (individuals|groups)_pkey/.test(line) && !/Index Cond: \(id = /.test(lines[i + 1] ?? ''));
};

t.test('the searches that missed at a million rows run on their own index, not a walk of the primary key', async (t) => {
  await db.execute(sql`ANALYZE`);
  const someone = people[20]!;
  const actor = systemActor('system:test');
  const cases: [string, IndividualFilters, string][] = [
    ['fuzzy name', { name: 'jean ndayishimiy' }, 'individuals_search_name_idx'],
    ['colline + sex + age', { location_id: someone.location_id, sex: 'female', age_min: 18, age_max: 60 }, 'individuals_location_birth_idx'],
    ['colline + attribute', { location_id: someone.location_id, attr: ['disability:eq:true'] }, 'individuals_location_birth_idx'],
  ];
  for (const [what, filters, index] of cases) {
    const text = await plan(db, searchQuery(db, actor, await resolveIndividualFilters(db, filters), 50, undefined));
    t.match(text, new RegExp(`Index.* on ${index}|Index.*using ${index}`), `${what}: ${index}`, { plan: text });
    t.notOk(walksPrimaryKey(text), `${what}: no walk of the primary key`, { plan: text });
  }
  const [commune] = await queryRows<{ id: string }>(db, sql`SELECT id FROM locations WHERE level = 2 LIMIT 1`);
  const groupsPlan = await plan(db, groupSearchQuery(db, actor, await resolveGroupFilters(db, { location_id: commune!.id, attr: ['rooms:gte:3'] }), 50, undefined));
  t.match(groupsPlan, /groups_location_idx/, 'households by commune: groups_location_idx', { plan: groupsPlan });
  t.notOk(walksPrimaryKey(groupsPlan), 'households by commune: no walk of the primary key', { plan: groupsPlan });
});

t.test('a fuzzy search answers the most similar people, at most FUZZY_CANDIDATES', async (t) => {
  const broad = await walk(hub, `/api/v1/individuals?name=${encodeURIComponent('jean')}`, 500);
  const jeans = people.filter((p) => fold(`${p.given_name} ${p.family_name}`).split(/[ -]/).includes('jean'));
  t.ok(jeans.length > 0 && ids(jeans).every((id) => broad.ids.includes(id)), `every one of the ${jeans.length} Jeans`);
  t.ok(broad.ids.length <= FUZZY_CANDIDATES, `${broad.ids.length} answers, within the bound`);
  const counted = await hub.request({ method: 'GET', url: `/api/v1/individuals?name=jean&count=true&limit=1` });
  t.equal(counted.json().total, broad.ids.length, 'the count is the size of the bounded set');
});
