/**
 * Admin API read-by-id at registry scale, against a bare Fastify route doing the same indexed SELECTs in the same
 * run. The ratio is the cost of everything the hub adds: token verification, scope and geo checks, validation,
 * serialisation, problem mapping.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench
 *   BENCH_INDIVIDUALS (default 1000000), BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 20), BENCH_ROUNDS (3)
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

const dbName = 'hub_bench_api_read';
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
const started = Date.now();
await raw`
  INSERT INTO individuals (given_name, family_name, sex, birth_date, attributes)
  SELECT 'Given' || i, 'Family' || (i % 5000), CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END,
         date '1940-01-01' + (i % 30000), jsonb_build_object('rooms', i % 6)
  FROM generate_series(1, ${individuals}) AS i`;
await raw`INSERT INTO identifiers (individual_id, type, value) SELECT id, 'NIN', 'NIN-' || id FROM individuals`;
// Vacuumed now so that autovacuum does not wake up in the middle of a measurement.
await raw`VACUUM (ANALYZE)`;
say(`seeded ${individuals} individuals with identifiers in ${((Date.now() - started) / 1000).toFixed(1)} s`);
const ids = (await raw`SELECT id FROM individuals TABLESAMPLE SYSTEM (1) LIMIT 10000`).map((r) => r.id as string);

const hub = await buildApp({ config, database });
await hub.listen({ host: '127.0.0.1', port: 0 });
const { client_id, client_secret } = JSON.parse(fs.readFileSync(bootstrapFile!, 'utf8'));
const tokenRes = await hub.inject({
  method: 'POST',
  url: '/oauth2/client/token',
  payload: new URLSearchParams({ grant_type: 'client_credentials', client_id, client_secret, scope: 'registry:read' }).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});
const token = tokenRes.json().access_token as string;

const bare = Fastify();
bare.get<{ Params: { id: string } }>('/bare/:id', async (request) => {
  const [person] = await raw`SELECT * FROM individuals WHERE id = ${request.params.id} AND deleted_at IS NULL`;
  const identifiers = await raw`SELECT type, value FROM identifiers WHERE individual_id = ${request.params.id}`;
  return { ...person, identifiers };
});
await bare.listen({ host: '127.0.0.1', port: 0 });

async function measure(label: string, base: string, headers: Record<string, string>) {
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    headers,
    requests: [{ setupRequest: (req) => ({ ...req, path: `${req.path}${ids[Math.floor(Math.random() * ids.length)]}` }) }],
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${label}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { label, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

// Alternating rounds, so that a change in machine load hits both sides alike; the median round counts.
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const pairs: { baseline: Awaited<ReturnType<typeof measure>>; measured: Awaited<ReturnType<typeof measure>> }[] = [];
for (let round = 0; round < rounds; round++) {
  const baseline = await measure('bare Fastify + same SELECTs', `${bare.listeningOrigin}/bare/`, {});
  const measured = await measure('hub GET /api/v1/individuals/:id', `${hub.listeningOrigin}/api/v1/individuals/`, {
    authorization: `Bearer ${token}`,
  });
  pairs.push({ baseline, measured });
}
const median = <T>(values: T[], key: (v: T) => number) => [...values].sort((a, b) => key(a) - key(b))[Math.floor(values.length / 2)]!;
say(`\n${individuals} individuals, ${connections} connections, ${seconds} s per run, ${rounds} alternating rounds`);
for (const [i, { baseline, measured }] of pairs.entries()) {
  for (const row of [baseline, measured]) {
    say(`round ${i + 1}  ${row.label.padEnd(34)} ${row.rps.toFixed(0).padStart(7)} req/s   p50 ${row.p50} ms   p99 ${row.p99} ms`);
  }
}
const ratio = median(pairs, (p) => p.measured.rps / p.baseline.rps);
say(
  `median ratio hub/baseline: throughput ${(ratio.measured.rps / ratio.baseline.rps).toFixed(2)}, ` +
    `p99 ${(ratio.measured.p99 / Math.max(ratio.baseline.p99, 1)).toFixed(2)}`,
);

await hub.close();
await bare.close();
await raw.end();
await database.close();
await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.end();
fs.rmSync(dataDir, { recursive: true, force: true });
