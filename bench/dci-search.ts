/**
 * DCI sync search by identifier at registry scale, against a bare Fastify route doing the same indexed SELECTs in the
 * same run. The ratio is the cost of the DCI layer: token, envelope and header checks, signature verification
 * (ES256 compact JWS), replay protection and the transaction record, the audit entry, record mapping and our signature.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:dci
 *   BENCH_INDIVIDUALS (default 1000000), BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 20)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { calculateJwkThumbprint, CompactSign, exportJWK, generateKeyPair } from 'jose';
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

const dbName = 'hub_bench_dci_search';
const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.unsafe(`CREATE DATABASE ${dbName}`);
const url = new URL(serverUrl);
url.pathname = `/${dbName}`;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-bench-'));
// Messages are signed before the run, so the clock window must cover the whole run.
const config = loadConfig({ HUB_DATA_DIR: dataDir, LOG_LEVEL: 'silent', DCI_CLOCK_SKEW: '3600' });
const database = await openDatabase({ url: url.toString() });
const { bootstrapFile } = await prepareDatabase(config, database);

const raw = postgres(url.toString(), { max: 10, onnotice: () => {} });
let started = Date.now();
await raw`
  INSERT INTO individuals (given_name, family_name, sex, birth_date, attributes)
  SELECT 'Given' || i, 'Family' || (i % 5000), CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END,
         date '1940-01-01' + (i % 30000), jsonb_build_object('rooms', i % 6)
  FROM generate_series(1, ${individuals}) AS i`;
await raw`INSERT INTO identifiers (individual_id, type, value) SELECT id, 'UIN', 'UIN-' || id FROM individuals`;
await raw`ANALYZE`;
say(`seeded ${individuals} individuals with identifiers in ${((Date.now() - started) / 1000).toFixed(1)} s`);
const uins = (await raw`SELECT value FROM identifiers TABLESAMPLE SYSTEM (1) LIMIT 10000`).map((r) => r.value as string);

const hub = await buildApp({ config, database });
await hub.listen({ host: '127.0.0.1', port: 0 });
const { client_id, client_secret } = JSON.parse(fs.readFileSync(bootstrapFile!, 'utf8'));
const tokenOf = async (id: string, secret: string) =>
  (
    await hub.inject({
      method: 'POST',
      url: '/oauth2/client/token',
      payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
  ).json().access_token as string;

const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = await exportJWK(publicKey);
const kid = await calculateJwkThumbprint(jwk);
const created = await hub.inject({
  method: 'POST',
  url: '/api/v1/clients',
  headers: { authorization: `Bearer ${await tokenOf(client_id, client_secret)}` },
  payload: { name: 'bench partner', scopes: ['dci:search'], jwks: { keys: [{ ...jwk, kid, alg: 'ES256' }] }, dci: { sender_id: 'bench-spmis' } },
});
const partner = created.json();
const token = await tokenOf(partner.client_id, partner.client_secret);

// Every message needs its own message_id (replays are refused), so enough signed bodies are made up front.
const bodyCount = Number(process.env.BENCH_MESSAGES ?? 60_000);
started = Date.now();
const bodies: string[] = [];
for (let i = 0; i < bodyCount; i++) {
  const content = {
    header: { version: '1.0.0', message_id: randomUUID(), message_ts: new Date().toISOString(), action: 'search', sender_id: 'bench-spmis', total_count: 1 },
    message: {
      transaction_id: randomUUID(),
      search_request: [
        { reference_id: randomUUID(), timestamp: new Date().toISOString(), search_criteria: { query_type: 'idtype-value', query: { type: 'UIN', value: uins[i % uins.length] } } },
      ],
    },
  };
  const signature = await new CompactSign(new TextEncoder().encode(JSON.stringify(content))).setProtectedHeader({ alg: 'ES256', kid }).sign(privateKey);
  bodies.push(JSON.stringify({ signature, ...content }));
}
say(`signed ${bodyCount} messages in ${((Date.now() - started) / 1000).toFixed(1)} s`);

const bare = Fastify();
bare.post<{ Body: { value: string } }>('/bare', async (request) => {
  const people = await raw`SELECT p.* FROM individuals p JOIN identifiers i ON i.individual_id = p.id
    WHERE i.type = 'UIN' AND i.value = ${request.body.value} AND p.deleted_at IS NULL`;
  const identifiers = people.length ? await raw`SELECT type, value FROM identifiers WHERE individual_id = ${people[0]!.id}` : [];
  return { records: people.map((p) => ({ ...p, identifiers })) };
});
await bare.listen({ host: '127.0.0.1', port: 0 });

let next = 0;
async function measure(label: string, target: string, headers: Record<string, string>, body: () => string) {
  const result = await autocannon({
    url: target,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', ...headers },
    requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${label}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { label, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, total: result.requests.total };
}

const baseline = await measure('bare Fastify + same SELECTs', `${bare.listeningOrigin}/bare`, {}, () =>
  JSON.stringify({ value: uins[Math.floor(Math.random() * uins.length)] }),
);
const measured = await measure('hub DCI sync search (UIN)', `${hub.listeningOrigin}/dci/sr/registry/sync/search`, { authorization: `Bearer ${token}` }, () => bodies[next++ % bodyCount]!);
if (measured.total > bodyCount) say(`note: ${measured.total - bodyCount} requests reused a message_id and were answered rjct.message_id.duplicate; raise BENCH_MESSAGES`);
say(`\n${individuals} individuals, ${connections} connections, ${seconds} s each`);
for (const row of [baseline, measured]) {
  say(`${row.label.padEnd(36)} ${row.rps.toFixed(0).padStart(7)} req/s   p50 ${row.p50} ms   p99 ${row.p99} ms`);
}
say(`ratio hub/baseline: throughput ${(measured.rps / baseline.rps).toFixed(2)}, p99 ${(measured.p99 / Math.max(baseline.p99, 1)).toFixed(2)}`);

await hub.close();
await bare.close();
await raw.end();
await database.close();
await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.end();
fs.rmSync(dataDir, { recursive: true, force: true });
