import t from 'tap';
import { sql } from 'drizzle-orm';
import { crvsRegistry } from '../../src/dci/crvs-registry.js';
import type { DciRegistry } from '../../src/dci/registry.js';
import { withRegistryAttributes } from '../../src/dci/criteria/vocabulary.js';
import { compileCriteria, parseWithinLimits, searchCondition, type SearchCriteria } from '../../src/dci/search.js';
import { socialRegistry } from '../../src/dci/social-registry.js';
import { systemActor } from '../../src/security/actor.js';
import { header, registerPartner, searchItem, searchMessage, send } from '../helpers/dci.js';
import { seedCivilRegistry } from '../helpers/dci-crvs.js';
import { namesOf, seedRegistry } from '../helpers/dci-registry.js';
import { testHub } from '../helpers/hub.js';

const expression = (query: unknown, extra: Record<string, unknown> = {}) => ({ query_type: 'expression', query: { value: { expression: { query } } }, ...extra }) as SearchCriteria;
const uins = (n: number) => Array.from({ length: n }, (_, i) => ({ UIN: `TEST-${String(i + 1).padStart(3, '0')}` }));

/** Query shapes a partner may send, each one an index can serve (with the registry it goes to). */
const ACCEPTED: [string, DciRegistry, SearchCriteria][] = [
  ['idtype-value UIN', socialRegistry, { query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' } }],
  ['idtype-value MOBILE (identifier or phone)', socialRegistry, { query_type: 'idtype-value', query: { type: 'MOBILE', value: '+25770000001' } }],
  ['idtype-value MOBILE, households', socialRegistry, { query_type: 'idtype-value', query: { type: 'MOBILE', value: '+25770000001' }, response_entity: 'Group' }],
  ['phone_number', socialRegistry, expression({ phone_number: '+25770000001' })],
  ['idtype-value HOUSEHOLD_ID, members', socialRegistry, { query_type: 'idtype-value', query: { type: 'HOUSEHOLD_ID', value: 'HH-C1' } }],
  ['idtype-value UIN, households', socialRegistry, { query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' }, response_entity: 'Group' }],
  ['UIN eq', socialRegistry, expression({ UIN: 'TEST-001' })],
  ['UIN $in', socialRegistry, expression({ UIN: { $in: ['TEST-001', 'TEST-003'] } })],
  ['$or of 10 UINs', socialRegistry, expression({ $or: uins(10) })],
  ['$or of 50 UINs', socialRegistry, expression({ $or: uins(50) })],
  ['$or of UIN and NIN', socialRegistry, expression({ $or: [{ UIN: 'TEST-002' }, { NIN: 'N-1' }] })],
  ['UIN and sex', socialRegistry, expression({ UIN: 'TEST-001', sex: 'female' })],
  ['$or of UIN and age', socialRegistry, expression({ $or: [{ UIN: 'TEST-002' }, { age: { $gte: 50 } }] })],
  ['$or of (UIN and sex) and location', socialRegistry, expression({ $or: [{ $and: [{ UIN: 'TEST-001' }, { sex: 'female' }] }, { location: 'north_region' }] })],
  ['household_id', socialRegistry, expression({ household_id: 'HH-C2' })],
  ['location eq', socialRegistry, expression({ location: 'central_region' })],
  ['location $in', socialRegistry, expression({ location: { $in: ['village_a', 'north_region'] } })],
  ['birth_date range', socialRegistry, expression({ birth_date: { $gte: '2010-01-01', $lt: '2020-01-01' } })],
  ['age range and sex', socialRegistry, expression({ age: { $gte: 18, $lte: 60 }, sex: 'female' })],
  ['given_name and family_name', socialRegistry, expression({ given_name: 'Amina', family_name: 'Test' })],
  ['predicate: age or UIN', socialRegistry, { query_type: 'predicate', query: [{ expression1: { attribute_name: 'age', operator: 'lt', attribute_value: 5 }, condition: 'or', expression2: { attribute_name: 'UIN', operator: 'eq', attribute_value: 'TEST-003' } }] } as SearchCriteria],
  ['Group household_id', socialRegistry, expression({ household_id: 'HH-N1' }, { response_entity: 'Group' })],
  ['Group location and poverty_score range', socialRegistry, expression({ location: 'central_region', poverty_score: { $lt: 5 } }, { response_entity: 'Group' })],
  ['Group poverty_score eq', socialRegistry, expression({ poverty_score: 7 }, { response_entity: 'Group' })],
  ['CRVS idtype-value BRN', crvsRegistry, { query_type: 'idtype-value', query: { type: 'BRN', value: 'B-1' } }],
  ['CRVS BIRTH_REG_NO $or', crvsRegistry, expression({ $or: [{ BIRTH_REG_NO: 'B-1' }, { BIRTH_REG_NO: 'B-2' }] })],
  ['CRVS birth registrations by date', crvsRegistry, { ...expression({ registration_date: { $gte: '2024-01-01' } }), reg_event_type: 'live_birth' } as SearchCriteria],
  ['CRVS birth_place', crvsRegistry, expression({ birth_place: 'north' })],
];

/** Shapes no index serves on their own: each would read every record. */
const REFUSED: [string, Record<string, unknown>][] = [
  ['sex alone', { sex: 'female' }],
  ['UIN $ne', { UIN: { $ne: 'TEST-001' } }],
  ['$not of an identifier', { $not: { UIN: 'TEST-001' } }],
  ['$or with one unindexed alternative', { $or: [{ UIN: 'TEST-001' }, { sex: 'male' }] }],
  ['phone_number $ne', { phone_number: { $ne: '+25770000001' } }],
  ['location $ne', { location: { $ne: 'north_region' } }],
];

t.test('DCI query limits and index-or-refuse', async (t) => {
  const hub = await testHub(t);
  await seedRegistry(hub);
  await seedCivilRegistry(hub);
  const partner = await registerPartner(hub);
  const search = async (criteria: object, path = '/registry/sync/search') => {
    const content = { header: header(partner), message: searchMessage([searchItem(criteria as Record<string, unknown>)]) };
    const res = await send(hub, partner, path, content);
    t.equal(res.statusCode, 200, { body: res.body });
    return res.json().message.search_response[0];
  };

  t.test('an $or of identifiers within the limits is answered; beyond them refused before any SQL', async (t) => {
    const ten = await search(expression({ $or: [...uins(10), { NIN: 'N-1' }] }));
    t.equal(ten.status, 'succ');
    t.same(namesOf(ten.data.reg_records).sort(), ['Amina', 'Ben', 'Fay'], 'the three people holding one of the identifiers');
    for (const [what, query, limit] of [
      ['51 alternatives', { $or: uins(51) }, /\$or of 51 alternatives/],
      ['7 levels', [1, 2, 3, 4, 5, 6].reduce<Record<string, unknown>>((q) => ({ $and: [q] }), { $not: { UIN: 'x' } }), /nested more than 6/],
      ['1001 $in values', { UIN: { $in: Array.from({ length: 1001 }, (_, i) => `U-${i}`) } }, /\$in with 1001 values/],
      ['51 comparisons', Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`ID_${i}`, 'x'])), /more than 50 comparisons/],
    ] as const) {
      const item = await search(expression(query));
      t.equal(item.status, 'rjct', what);
      t.equal(item.status_reason_code, 'rjct.search_criteria.invalid', what);
      t.match(item.status_reason_message, limit, what);
    }
  });

  t.test('every accepted shape answers; shapes no index serves are refused with rjct.search_criteria.invalid', async (t) => {
    for (const [what, registry, criteria] of ACCEPTED) {
      const item = await search(criteria, `/dci/${registry.name}/registry/sync/search`);
      t.equal(item.status, 'succ', what, { item });
    }
    for (const [what, query] of REFUSED) {
      const item = await search(expression(query));
      t.equal(item.status, 'rjct', what);
      t.equal(item.status_reason_code, 'rjct.search_criteria.invalid', what);
      t.match(item.status_reason_message, /no index serves this query/, what);
    }
  });

  t.test(
    'EXPLAIN: with sequential scans priced out, no accepted shape scans a big table',
    { skip: process.env.TEST_DATABASE_URL ? false : 'the plans that matter are PostgreSQL’s' },
    async (t) => {
      const BIG = new Set(['individuals', 'groups', 'identifiers', 'group_members', 'civil_events']);
      const actor = systemActor('explain');
      for (const [what, registry, criteria] of ACCEPTED) {
        // As runSearch compiles them: location codes resolved to their subtrees' ids first.
        const vocabulary = await withRegistryAttributes(hub.database.db, hub.config.dci, parseWithinLimits(criteria, hub.config.dci.queryLimits).criterion);
        const { kind, where } = compileCriteria(registry, criteria, vocabulary);
        const query = sql`SELECT count(*) FROM ${kind.table} WHERE ${searchCondition(actor, kind, where)}`;
        // A handful of rows makes a scan the cheapest plan: with it priced out, a plan that still scans has no index to use.
        const plan = await hub.database.db.transaction(async (tx) => {
          await tx.execute(sql`SET LOCAL enable_seqscan = off`);
          const rows = await tx.execute(sql`EXPLAIN (FORMAT JSON) ${query}`);
          return (rows as unknown as { 'QUERY PLAN': unknown[] }[])[0]!['QUERY PLAN'];
        });
        const scans: string[] = [];
        const read = new Set<string>();
        const walk = (node: Record<string, unknown>) => {
          if (node['Node Type'] === 'Seq Scan' && BIG.has(node['Relation Name'] as string)) scans.push(node['Relation Name'] as string);
          if (node['Relation Name']) read.add(node['Relation Name'] as string);
          for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
        };
        walk((plan[0] as { Plan: Record<string, unknown> }).Plan);
        t.same(scans, [], `${what}: no Seq Scan on ${[...BIG].join(', ')}`);
        // A subtree behind a subquery hides from the planner how many records it holds (at 1M it then scans, or
        // walks the primary key): the search carries the subtree's ids as values instead.
        if (registry === socialRegistry && what.includes('location')) t.notOk(read.has('locations'), `${what}: the location codes resolved before the search`);
      }
    },
  );
});
