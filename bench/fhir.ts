/**
 * FHIR reads at registry scale, each against a bare Fastify route doing the same indexed SELECTs in the same run:
 *   Patient?identifier=system|value          vs  identifier lookup + the person's identifiers
 *   Group?_id={id}&_include=Group:member     vs  the household, its members and their identifiers
 * The ratio is what the facade adds: token, scope and geo checks, search parsing, the total, mapping to FHIR
 * (with the address from the location tree) and serialisation.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:fhir
 *   BENCH_INDIVIDUALS (default 1000000, four per household), BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 20)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import postgres from 'postgres';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { prepareDatabase } from '../src/setup.js';

const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const individuals = Number(process.env.BENCH_INDIVIDUALS ?? 1_000_000);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
const say = (line: string) => process.stdout.write(`${line}\n`);
const NIN_SYSTEM = 'https://convergence-hub.org/fhir/sid/nin';

const dbName = 'hub_bench_fhir';
const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.unsafe(`CREATE DATABASE ${dbName}`);
const url = new URL(serverUrl);
url.pathname = `/${dbName}`;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-bench-'));
const config = loadConfig({ HUB_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
const database = await openDatabase({ url: url.toString() });
const { bootstrapFile } = await prepareDatabase(config, database);

const raw = postgres(url.toString(), { max: 10, onnotice: () => {} });
let started = Date.now();
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
await raw`ANALYZE`;
say(`seeded ${individuals} individuals in ${Math.ceil(individuals / 4)} households in ${((Date.now() - started) / 1000).toFixed(1)} s`);
const nins = (await raw`SELECT value FROM identifiers ORDER BY random() LIMIT 10000`).map((r) => r.value as string);
const groupIds = (await raw`SELECT id FROM groups ORDER BY random() LIMIT 10000`).map((r) => r.id as string);

const hub = await buildApp({ config, database });
await hub.listen({ host: '127.0.0.1', port: 0 });
const { client_id, client_secret } = JSON.parse(fs.readFileSync(bootstrapFile!, 'utf8'));
const tokenRes = await hub.inject({
  method: 'POST',
  url: '/oauth2/client/token',
  payload: new URLSearchParams({ grant_type: 'client_credentials', client_id, client_secret, scope: 'fhir:read' }).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});
const token = tokenRes.json().access_token as string;

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

async function measure(label: string, origin: string, pathOf: () => string, headers: Record<string, string> = {}) {
  const result = await autocannon({
    url: origin,
    connections,
    duration: seconds,
    headers,
    requests: [{ setupRequest: (req) => ({ ...req, path: pathOf() }) }],
  });
  if (result.non2xx > 0 || result.errors > 0) {
    const probe = await fetch(`${origin}${pathOf()}`, { headers });
    say(`${label}: ${probe.status} ${(await probe.text()).slice(0, 300)}`);
    throw new Error(`${label}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  }
  return { label, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
const auth = { authorization: `Bearer ${token}` };
const pairs = [
  [
    await measure('bare: person by NIN', bare.listeningOrigin, () => `/bare/patient/${pick(nins)}`),
    await measure('hub: Patient?identifier=', hub.listeningOrigin, () => `/fhir/Patient?identifier=${encodeURIComponent(`${NIN_SYSTEM}|${pick(nins)}`)}`, auth),
  ],
  [
    await measure('bare: household + members', bare.listeningOrigin, () => `/bare/group/${pick(groupIds)}`),
    await measure('hub: Group?_id&_include=Group:member', hub.listeningOrigin, () => `/fhir/Group?_id=${pick(groupIds)}&_include=Group:member`, auth),
  ],
];
say(`\n${individuals} individuals, ${connections} connections, ${seconds} s each`);
for (const [baseline, measured] of pairs) {
  for (const row of [baseline!, measured!]) {
    say(`${row.label.padEnd(40)} ${row.rps.toFixed(0).padStart(7)} req/s   p50 ${row.p50} ms   p99 ${row.p99} ms`);
  }
  say(`ratio hub/baseline: throughput ${(measured!.rps / baseline!.rps).toFixed(2)}, p99 ${(measured!.p99 / Math.max(baseline!.p99, 1)).toFixed(2)}\n`);
}

await hub.close();
await bare.close();
await raw.end();
await database.close();
await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.end();
fs.rmSync(dataDir, { recursive: true, force: true });
