/**
 * FHIR reads at registry scale (a registry made by `hub seed`), each against a bare Fastify route doing the same
 * indexed SELECTs in the same run:
 *   Patient?identifier=system|value          vs  identifier lookup + the person's identifiers
 *   Group?_id={id}&_include=Group:member     vs  the household, its members and their identifiers
 * The ratio is what the facade adds: token, scope and geo checks, search parsing, the total, mapping to FHIR
 * (with the address from the location tree) and serialisation.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:fhir
 *   BENCH_INDIVIDUALS (default 1000000), BENCH_SECONDS (10), BENCH_CONNECTIONS (20), BENCH_ROUNDS (3)
 */
import Fastify from 'fastify';
import { seedDatabase } from '../src/registry/seed/load.js';
import { systemActor } from '../src/security/actor.js';
import { benchHub, compare, pick, say, settings } from './support.js';

const NIN_SYSTEM = 'https://convergence-hub.org/fhir/sid/nin';
const { raw, database, hub, adminToken, close } = await benchHub('hub_bench_fhir');
// The registry `hub seed` makes: households of 1-10 on collines of a three-level area tree, a NIN from 16 on,
// PMT attributes (Group characteristics).
const started = Date.now();
const seeded = await seedDatabase(database, systemActor('system:bench'), { individuals: settings.individuals, seed: 1 });
await raw`VACUUM (ANALYZE)`;
say(`seeded ${seeded.individuals} individuals in ${seeded.households} households (hub seed) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
const nins = (await raw`SELECT value FROM identifiers TABLESAMPLE SYSTEM (2) WHERE type = 'NIN' LIMIT 10000`).map((r) => r.value as string);
const groupIds = (await raw`SELECT id FROM groups TABLESAMPLE SYSTEM (5) LIMIT 10000`).map((r) => r.id as string);

const bare = Fastify();
bare.get<{ Params: { nin: string } }>('/bare/patient/:nin', async (request) => {
  const people = await raw`
    SELECT i.* FROM individuals i JOIN identifiers x ON x.individual_id = i.id
    WHERE x.type = 'NIN' AND x.value = ${request.params.nin} AND i.deleted_at IS NULL`;
  const identifiers = await raw`SELECT type, value FROM identifiers WHERE individual_id = ${people[0]!.id}`;
  return { ...people[0], identifiers };
});
bare.get<{ Params: { id: string } }>('/bare/group/:id', async (request) => {
  const [group] = await raw`SELECT * FROM groups WHERE id = ${request.params.id} AND deleted_at IS NULL`;
  const members = await raw`
    SELECT m.role, m.start_date, i.* FROM group_members m JOIN individuals i ON i.id = m.individual_id
    WHERE m.group_id = ${request.params.id} AND m.end_date IS NULL`;
  const identifiers = await raw`SELECT individual_id, type, value FROM identifiers WHERE individual_id IN ${raw(members.map((m) => m.id as string))}`;
  return { ...group, members, identifiers };
});
await bare.listen({ host: '127.0.0.1', port: 0 });

const headers = { authorization: `Bearer ${await adminToken('fhir:read')}` };
await compare(
  { label: 'bare: person by NIN', origin: bare.listeningOrigin, path: () => `/bare/patient/${pick(nins)}` },
  {
    label: 'hub: Patient?identifier=',
    origin: hub.listeningOrigin,
    path: () => `/fhir/Patient?identifier=${encodeURIComponent(`${NIN_SYSTEM}|${pick(nins)}`)}`,
    headers,
  },
);
await compare(
  { label: 'bare: household + members', origin: bare.listeningOrigin, path: () => `/bare/group/${pick(groupIds)}` },
  {
    label: 'hub: Group?_id&_include=Group:member',
    origin: hub.listeningOrigin,
    path: () => `/fhir/Group?_id=${pick(groupIds)}&_include=Group:member`,
    headers,
  },
);
await bare.close();
await close();
