/**
 * Every DCI query shape the hub accepts, EXPLAINed (ANALYZE) on a seeded registry: the plan's node types (no
 * Seq Scan on the big tables expected) and its time; then sync searches whose expression is an $or of 10 and of 50
 * identifiers (issue #14: 7.8 s and > 20 s before), timed end to end over HTTP.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:dci-explain
 *   BENCH_INDIVIDUALS (default 1000000); BENCH_KEEP=1 keeps the seeded database and reuses it on the next run
 */
import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { crvsRegistry } from '../src/dci/crvs-registry.js';
import type { DciRegistry } from '../src/dci/registry.js';
import { withRegistryAttributes } from '../src/dci/criteria/vocabulary.js';
import { compileCriteria, parseWithinLimits, searchCondition, type SearchCriteria } from '../src/dci/search.js';
import { socialRegistry } from '../src/dci/social-registry.js';
import { seedDatabase } from '../src/registry/seed/load.js';
import { systemActor } from '../src/security/actor.js';
import { benchHub, dciPartner, say, settings, settle } from './support.js';

const BIG = new Set(['individuals', 'groups', 'identifiers', 'group_members', 'civil_events']);
const bench = await benchHub('hub_bench_dci_explain', {}, process.env.BENCH_KEEP === '1');
const { raw, hub, database, config, close } = bench;
const actor = systemActor('bench');

const [{ people }] = (await raw`SELECT count(*)::int AS people FROM individuals`) as unknown as [{ people: number }];
if (people === 0) {
  const started = Date.now();
  await seedDatabase(database, actor, { individuals: settings.individuals, seed: 14 });
  await settle(raw, started, `${settings.individuals} individuals`);
} else say(`reusing hub_bench_dci_explain: ${people} individuals`);
// The seed records no civil events: register the birth of everyone holding a birth registration number, so that the
// CRVS shapes are planned against a table of a realistic size.
const [{ events }] = (await raw`SELECT count(*)::int AS events FROM civil_events`) as unknown as [{ events: number }];
if (events === 0) {
  const started = Date.now();
  const inserted = await raw`INSERT INTO civil_events (event_type, registration_number, event_date, registration_date, place_id, subject_id, recorded_by)
    SELECT 'birth', i.value, p.birth_date, p.birth_date + 30, p.location_id, p.id, 'bench'
    FROM identifiers i JOIN individuals p ON p.id = i.individual_id WHERE i.type = 'BIRTH_REG_NO' AND p.birth_date IS NOT NULL`;
  await raw`VACUUM (ANALYZE) civil_events`;
  say(`registered ${inserted.count} births in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const values = async (query: Promise<{ v: string }[]>) => (await query).map((r) => r.v);
const nins = await values(raw`SELECT value AS v FROM identifiers WHERE type = 'NIN' ORDER BY random() LIMIT 50`);
const brns = await values(raw`SELECT value AS v FROM identifiers WHERE type = 'BIRTH_REG_NO' ORDER BY random() LIMIT 2`);
const [household] = await values(raw`SELECT code AS v FROM groups ORDER BY random() LIMIT 1`);
const districts = await values(raw`SELECT code AS v FROM locations WHERE nlevel(path) = 2 ORDER BY random() LIMIT 2`);
const [phone] = await values(raw`SELECT phone AS v FROM individuals WHERE phone IS NOT NULL ORDER BY random() LIMIT 1`);
const [village] = await values(raw`SELECT code AS v FROM locations ORDER BY nlevel(path) DESC, random() LIMIT 1`);
const [name] = (await raw`SELECT given_name, family_name FROM individuals ORDER BY random() LIMIT 1`) as unknown as { given_name: string; family_name: string }[];

const expression = (query: unknown, extra: Record<string, unknown> = {}) => ({ query_type: 'expression', query: { value: { expression: { query } } }, ...extra }) as SearchCriteria;
const ninTerms = (n: number) => nins.slice(0, n).map((v) => ({ NIN: v }));
const SHAPES: [string, DciRegistry, SearchCriteria][] = [
  ['idtype-value NIN', socialRegistry, { query_type: 'idtype-value', query: { type: 'NIN', value: nins[0] } }],
  ['idtype-value MOBILE (identifier or phone)', socialRegistry, { query_type: 'idtype-value', query: { type: 'MOBILE', value: phone } }],
  ['idtype-value MOBILE (households)', socialRegistry, { query_type: 'idtype-value', query: { type: 'MOBILE', value: phone }, response_entity: 'Group' }],
  ['idtype-value HOUSEHOLD_ID (members)', socialRegistry, { query_type: 'idtype-value', query: { type: 'HOUSEHOLD_ID', value: household } }],
  ['idtype-value NIN (households)', socialRegistry, { query_type: 'idtype-value', query: { type: 'NIN', value: nins[0] }, response_entity: 'Group' }],
  ['NIN $in 10', socialRegistry, expression({ NIN: { $in: nins.slice(0, 10) } })],
  ['$or of 10 NINs', socialRegistry, expression({ $or: ninTerms(10) })],
  ['$or of 50 NINs', socialRegistry, expression({ $or: ninTerms(50) })],
  ['$or of NIN and BIRTH_REG_NO', socialRegistry, expression({ $or: [{ NIN: nins[0] }, { BIRTH_REG_NO: brns[0] }] })],
  ['NIN and sex', socialRegistry, expression({ NIN: nins[0], sex: 'female' })],
  ['phone_number', socialRegistry, expression({ phone_number: phone })],
  ['household_id', socialRegistry, expression({ household_id: household })],
  ['location (a village)', socialRegistry, expression({ location: village })],
  ['location and age range (under 5)', socialRegistry, expression({ location: village, age: { $lt: 5 } })],
  ['birth_date range (one week)', socialRegistry, expression({ birth_date: { $gte: '2001-01-01', $lt: '2001-01-08' } })],
  ['age = 100', socialRegistry, expression({ age: 100 })],
  ['given_name and family_name', socialRegistry, expression({ given_name: name!.given_name, family_name: name!.family_name })],
  ['$or of (NIN) and (location and age)', socialRegistry, expression({ $or: [{ NIN: nins[1] }, { $and: [{ location: village }, { age: { $gte: 90 } }] }] })],
  ['Group household_id', socialRegistry, expression({ household_id: household }, { response_entity: 'Group' })],
  ['Group location $in (two districts)', socialRegistry, expression({ location: { $in: districts } }, { response_entity: 'Group' })],
  ['CRVS BIRTH_REG_NO', crvsRegistry, expression({ BIRTH_REG_NO: brns[0] })],
  ['CRVS idtype-value BIRTH_REG_NO', crvsRegistry, { query_type: 'idtype-value', query: { type: 'BIRTH_REG_NO', value: brns[1] } }],
];

/** EXPLAIN ANALYZE of `query`: its plan's nodes, the big tables it scans, its execution time. */
async function explained(query: SQL) {
  const rows = await database.db.execute(sql`EXPLAIN (ANALYZE, FORMAT JSON) ${query}`);
  const [plan] = (rows as unknown as { 'QUERY PLAN': { Plan: Record<string, unknown>; 'Execution Time': number }[] }[])[0]!['QUERY PLAN'];
  const nodes = new Set<string>();
  const scans: string[] = [];
  const walk = (node: Record<string, unknown>) => {
    const relation = node['Relation Name'] as string | undefined;
    nodes.add(`${node['Node Type']}${node['Index Name'] ? `(${node['Index Name']})` : relation ? `(${relation})` : ''}`);
    if (node['Node Type'] === 'Seq Scan' && relation && BIG.has(relation)) scans.push(relation);
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  walk(plan!.Plan);
  return `${[...nodes].join(', ')} | ${scans.join(', ') || 'none'} | ${plan!['Execution Time'].toFixed(1)}`;
}

// A search runs two statements: the count, then a page in id order (a page of 10 tempts the planner most to walk the
// primary key in order, filtering, instead of finding the few matches first).
say('\nshape | statement | plan nodes | Seq Scan on a big table | execution ms');
for (const [what, registry, criteria] of SHAPES) {
  // As runSearch compiles them: with the registry's attributes and the subtrees of the location codes named.
  const vocabulary = await withRegistryAttributes(database.db, config.dci, parseWithinLimits(criteria, config.dci.queryLimits).criterion);
  const { kind, where } = compileCriteria(registry, criteria, vocabulary);
  const condition = searchCondition(actor, kind, where);
  say(`${what} | count | ${await explained(sql`SELECT count(*) FROM ${kind.table} WHERE ${condition}`)}`);
  say(`${what} | page of 10 | ${await explained(sql`SELECT ${kind.table.id} FROM ${kind.table} WHERE ${condition} ORDER BY ${kind.table.id} LIMIT 10`)}`);
}

const sender = `bench-explain-${process.pid}`; // a kept database still holds the partners of earlier runs
const partner = await dciPartner(bench, sender);
say('\nsync search over HTTP (one request each, after one warm-up)');
for (const n of [10, 50]) {
  for (const round of ['warm-up', 'timed']) {
    const content = {
      header: { version: '1.0.0', message_id: randomUUID(), message_ts: new Date().toISOString(), action: 'search', sender_id: sender, total_count: 1 },
      message: { transaction_id: randomUUID(), search_request: [{ reference_id: randomUUID(), timestamp: new Date().toISOString(), search_criteria: expression({ $or: ninTerms(n) }) }] },
    };
    const body = await partner.sign(content);
    const t0 = performance.now();
    const res = await fetch(`${hub.listeningOrigin}/dci/sr/registry/sync/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${partner.token}` },
      body,
    });
    const answer = (await res.json()) as { message?: { search_response?: { status: string; data?: { reg_records: unknown[] } }[] } };
    const ms = performance.now() - t0;
    const item = answer.message?.search_response?.[0];
    if (round === 'timed') say(`$or of ${n} NINs (${body.length} bytes): HTTP ${res.status}, ${item?.status}, ${item?.data?.reg_records.length ?? 0} records, ${ms.toFixed(0)} ms`);
  }
}
await close();
