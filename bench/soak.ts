/**
 * Soak: steady mixed load on a hub over PostgreSQL for a long run, watching its memory. The hub runs in a child
 * process (bench/soak-hub.ts) and reports its memory after a full GC every sample; the load is autocannon with one
 * request mix: admin reads (list and one person), admin writes (a new person with a unique identifier), FHIR reads
 * and signed DCI sync searches. Prints memory, throughput, latency and errors over time, and a verdict: the slope of
 * the live heap after warm-up.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:soak
 *   BENCH_SOAK_SECONDS (default 600), BENCH_SAMPLE_SECONDS (10), BENCH_WARMUP_SECONDS (60),
 *   BENCH_INDIVIDUALS (default 100000 here), BENCH_CONNECTIONS (20)
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { BENCH_LIMITS, benchDatabase, partnerSigner, pick, say, settings, signedSearch } from './support.js';

const seconds = Number(process.env.BENCH_SOAK_SECONDS ?? 600);
const sampleSeconds = Number(process.env.BENCH_SAMPLE_SECONDS ?? 10);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 60);
const individuals = Number(process.env.BENCH_INDIVIDUALS ?? 100_000);

const { url, drop } = await benchDatabase('hub_bench_soak');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-soak-'));

interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}
const child = fork(path.join(import.meta.dirname, 'soak-hub.ts'), [], {
  execArgv: ['--import', 'tsx', '--expose-gc'],
  env: { ...process.env, ...BENCH_LIMITS, DATABASE_URL: url, HUB_DATA_DIR: dataDir, LOG_LEVEL: 'warn', DCI_CLOCK_SKEW: '3600' },
});
const nextMessage = <T>(kind: string) => new Promise<T>((resolve) => {
  const on = (m: { kind: string }) => {
    if (m.kind !== kind) return;
    child.off('message', on);
    resolve(m as T);
  };
  child.on('message', on);
});
const { origin } = await nextMessage<{ origin: string }>('ready');

const raw = postgres(url, { max: 4, onnotice: () => {} });
const started = Date.now();
await raw`
  INSERT INTO individuals (given_name, family_name, sex, birth_date)
  SELECT 'Given' || i, 'Family' || (i % 5000), CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END, date '1940-01-01' + (i % 30000)
  FROM generate_series(1, ${individuals}) AS i`;
await raw`INSERT INTO identifiers (individual_id, type, value) SELECT id, 'UIN', 'UIN-' || id FROM individuals`;
await raw`VACUUM (ANALYZE)`;
say(`seeded ${individuals} individuals in ${((Date.now() - started) / 1000).toFixed(1)} s`);
const people = (await raw`SELECT i.individual_id AS id, i.value FROM identifiers i ORDER BY random() LIMIT 10000`).map((r) => ({ id: r.id as string, uin: r.value as string }));

const post = async (route: string, body: string, headers: Record<string, string>) => {
  const res = await fetch(`${origin}${route}`, { method: 'POST', headers, body });
  if (!res.ok) throw new Error(`${route}: HTTP ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, string>>;
};
const token = async (client_id: string, client_secret: string) =>
  (await post('/oauth2/client/token', new URLSearchParams({ grant_type: 'client_credentials', client_id, client_secret }).toString(), { 'content-type': 'application/x-www-form-urlencoded' })).access_token!;
const bootstrap = JSON.parse(fs.readFileSync(path.join(dataDir, 'bootstrap-client.json'), 'utf8'));
const adminToken = await token(bootstrap.client_id, bootstrap.client_secret);
const signer = await partnerSigner();
const partner = await post(
  '/api/v1/clients',
  JSON.stringify({ name: 'soak partner', scopes: ['dci:search'], jwks: { keys: [signer.jwk] }, dci: { sender_id: 'soak-spmis' } }),
  { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
);
const partnerToken = await token(partner.client_id!, partner.client_secret!);

// Signed messages are used once each (replays are refused): a pool made ahead and refilled in the background.
const messages: string[] = [];
const refill = async () => {
  while (messages.length < 5000) messages.push(await signedSearch(signer, 'soak-spmis', pick(people).uin));
};
await refill();
const refilling = setInterval(() => void refill(), 500);

const json = { 'content-type': 'application/json' };
const asAdmin = { authorization: `Bearer ${adminToken}` };
let written = 0;
let dciSkipped = 0;
const mix: [number, () => { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string }][] = [
  [15, () => ({ method: 'GET', path: '/api/v1/individuals?limit=20', headers: asAdmin })],
  [20, () => ({ method: 'GET', path: `/api/v1/individuals/${pick(people).id}`, headers: asAdmin })],
  [15, () => ({ method: 'POST', path: '/api/v1/individuals', headers: { ...asAdmin, ...json }, body: JSON.stringify({ given_name: 'Soak', family_name: `Writer ${written}`, identifiers: [{ type: 'NIN', value: `SOAK-${written++}` }] }) })],
  [25, () => ({ method: 'GET', path: `/fhir/Patient/${pick(people).id}`, headers: { ...asAdmin, accept: 'application/fhir+json' } })],
  [25, () => {
    const body = messages.shift();
    if (body === undefined) {
      dciSkipped++;
      return { method: 'GET', path: `/fhir/Patient/${pick(people).id}`, headers: { ...asAdmin, accept: 'application/fhir+json' } };
    }
    return { method: 'POST', path: '/dci/sr/registry/sync/search', headers: { authorization: `Bearer ${partnerToken}`, ...json }, body };
  }],
];
const totalWeight = mix.reduce((sum, [w]) => sum + w, 0);
const nextRequest = () => {
  let r = Math.random() * totalWeight;
  for (const [weight, make] of mix) if ((r -= weight) < 0) return make();
  return mix[0]![1]();
};

interface Sample extends Memory {
  at: number;
  requests: number;
  failures: number;
  p50: number;
  p99: number;
}
const samples: Sample[] = [];
let window: { latencies: number[]; failures: number } = { latencies: [], failures: 0 };
const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0);
const statusCounts = new Map<number, number>();

say(`soak: ${seconds} s, ${settings.connections} connections, a sample every ${sampleSeconds} s (memory after a full GC), warm-up ${warmupSeconds} s`);
const loadStarted = Date.now();
const instance = autocannon(
  {
    url: origin,
    connections: settings.connections,
    duration: seconds,
    requests: [{ setupRequest: (req) => ({ ...req, ...nextRequest() }) }],
  },
  () => {},
);
instance.on('response', (_client, statusCode, _bytes, responseTime) => {
  window.latencies.push(responseTime);
  statusCounts.set(statusCode, (statusCounts.get(statusCode) ?? 0) + 1);
  if (statusCode < 200 || statusCode > 299) window.failures++;
});
const sampler = setInterval(async () => {
  const done = window;
  window = { latencies: [], failures: 0 };
  child.send('sample');
  const memory = await nextMessage<Memory>('memory');
  const sorted = done.latencies.sort((a, b) => a - b);
  samples.push({ at: (Date.now() - loadStarted) / 1000, rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external, requests: done.latencies.length, failures: done.failures, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) });
}, sampleSeconds * 1000);
const result = await new Promise<autocannon.Result>((resolve) => instance.on('done', resolve));
clearInterval(sampler);
clearInterval(refilling);

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
say('\n   t (s)   rss MB  heap MB  heapTotal  external   req/s   p50 ms   p99 ms  non-2xx');
for (const s of samples) {
  say(`${s.at.toFixed(0).padStart(8)} ${mb(s.rss).padStart(8)} ${mb(s.heapUsed).padStart(8)} ${mb(s.heapTotal).padStart(10)} ${mb(s.external).padStart(9)} ${(s.requests / sampleSeconds).toFixed(0).padStart(7)} ${s.p50.toFixed(0).padStart(8)} ${s.p99.toFixed(0).padStart(8)} ${String(s.failures).padStart(8)}`);
}

/** Least-squares slope of y over x, per minute. */
function slopePerMinute(points: { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 60;
}
const steady = samples.filter((s) => s.at >= warmupSeconds);
say(`\n${result.requests.total} requests in ${result.duration} s: ${result.requests.average.toFixed(0)} req/s on average; latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`);
say(`answers by status: ${[...statusCounts].sort(([a], [b]) => a - b).map(([code, n]) => `${code}: ${n}`).join(', ')}; socket errors ${result.errors}, timeouts ${result.timeouts}`);
say(`people written: ${written}; DCI searches replaced by FHIR reads for want of a signed message: ${dciSkipped}`);
if (steady.length < 3) {
  say('verdict: too few samples after warm-up to judge (raise BENCH_SOAK_SECONDS)');
} else {
  const heapSlope = slopePerMinute(steady.map((s) => ({ x: s.at, y: s.heapUsed / 2 ** 20 })));
  const rssSlope = slopePerMinute(steady.map((s) => ({ x: s.at, y: s.rss / 2 ** 20 })));
  const span = (steady.at(-1)!.at - steady[0]!.at) / 60;
  const meanHeap = steady.reduce((sum, s) => sum + s.heapUsed, 0) / steady.length / 2 ** 20;
  // Flat: the fitted line grows by less than 5% of the live heap (and under 5 MB) over the measured span.
  const growth = heapSlope * span;
  const flat = growth < Math.max(5, 0.05 * meanHeap);
  say(`after warm-up (${steady.length} samples over ${span.toFixed(1)} min): live heap ${heapSlope.toFixed(3)} MB/min (${growth.toFixed(1)} MB over the span, mean ${meanHeap.toFixed(1)} MB), rss ${rssSlope.toFixed(3)} MB/min`);
  say(`verdict: ${flat ? 'memory flat' : 'memory GROWING: look for a leak'}`);
}

child.send('stop');
await new Promise((resolve) => child.once('exit', resolve));
await raw.end();
await drop();
fs.rmSync(dataDir, { recursive: true, force: true });
