/**
 * FHIR reads at registry scale, each against a bare Fastify route doing the same indexed SELECTs in the same run:
 *   Patient?identifier=system|value          vs  identifier lookup + the person's identifiers
 *   Group?_id={id}&_include=Group:member     vs  the household, its members and their identifiers
 * The ratio is what the facade adds: token, scope and geo checks, search parsing, the total, mapping to FHIR
 * (with the address from the location tree) and serialisation.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:fhir
 *   BENCH_INDIVIDUALS (default 1000000, four per household), BENCH_SECONDS (10), BENCH_CONNECTIONS (20), BENCH_ROUNDS (3)
 */
import Fastify from 'fastify';
import { benchHub, compare, pick, settings, settle } from './support.js';

const NIN_SYSTEM = 'https://convergence-hub.org/fhir/sid/nin';
const { raw, hub, adminToken, close } = await benchHub('hub_bench_fhir');
const individuals = settings.individuals;
const started = Date.now();
await raw`
  INSERT INTO locations (id, code, name, level, path)
  VALUES ('00000000-0000-4000-8000-000000000001', 'P-1', 'Province', 1, '00000000000040008000000000000001')`;
await raw`
  INSERT INTO individuals (given_name, family_name, sex, birth_date, location_id)
  SELECT 'Given' || i, 'Family' || (i % 5000), CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END,
         date '1940-01-01' + (i % 30000), '00000000-0000-4000-8000-000000000001'
  FROM generate_series(1, ${individuals}) AS i`;
await raw`INSERT INTO identifiers (individual_id, type, value) SELECT id, 'NIN', 'NIN-' || id FROM individuals`;
await raw`
  INSERT INTO groups (code, location_id)
  SELECT 'HH-' || g, '00000000-0000-4000-8000-000000000001' FROM generate_series(1, ${Math.ceil(individuals / 4)}) AS g`;
await raw`
  WITH people AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM individuals),
       households AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM groups)
  INSERT INTO group_members (group_id, individual_id, role)
  SELECT h.id, p.id, CASE WHEN p.n % 4 = 0 THEN 'head' ELSE 'child' END
  FROM people p JOIN households h ON h.n = p.n / 4`;
await settle(raw, started, `${individuals} individuals in ${Math.ceil(individuals / 4)} households`);
const nins = (await raw`SELECT value FROM identifiers ORDER BY random() LIMIT 10000`).map((r) => r.value as string);
const groupIds = (await raw`SELECT id FROM groups ORDER BY random() LIMIT 10000`).map((r) => r.id as string);

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
