import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import PgBoss from 'pg-boss';
import pino from 'pino';
import postgres from 'postgres';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { prepareDatabase } from '../../src/setup.js';
import { TEST_OUTBOUND, tempDir } from '../helpers/hub.js';
import { ownPostgres } from '../helpers/own-postgres.js';

/** A guard against a hung request, not a speed check: any answer at all must come well before it. */
const REQUEST_TIMEOUT_MS = 30_000;
const WORKERS = 4;

interface Outcome {
  kind: 'write' | 'read' | 'fhir';
  status: number;
  contentType: string;
  retryAfter: string | null;
  body: string;
  identifier?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, probe: () => Promise<boolean> | boolean, attempts = 600): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await probe()) return;
    await sleep(100);
  }
  throw new Error(`gave up waiting for ${what}`);
}

t.test('PostgreSQL restarted under load: /ready follows it, requests fail cleanly, the hub reconnects, no acknowledged write is lost', async (t) => {
  const pg = await ownPostgres(t);
  const logLines: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
  );
  const database = await openDatabase({ url: pg.url });
  // The callback receiver is on 127.0.0.1; one token sends the whole load, so the request limits are off.
  const config = loadConfig({ HUB_DATA_DIR: tempDir(t), DCI_NOTIFY_INTERVAL: '200', HUB_RATE_LIMIT: '0', HUB_RATE_LIMIT_ADDRESS: '0', ...TEST_OUTBOUND });
  const { bootstrapFile } = await prepareDatabase(config, database);
  const app = await buildApp({ config, database, logger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
    await database.close();
  };
  t.teardown(close);

  const call = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', retryAfter: res.headers.get('retry-after'), body: await res.text() };
  };
  const { client_id, client_secret } = JSON.parse(fs.readFileSync(bootstrapFile!, 'utf8'));
  const tokenRes = await call('/oauth2/client/token', { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id, client_secret }) });
  const auth = { authorization: `Bearer ${JSON.parse(tokenRes.body).access_token}` };

  // Steady load: each worker writes a person with a unique identifier, then reads the admin list or FHIR.
  const outcomes: Outcome[] = [];
  let running = true;
  let sequence = 0;
  const worker = async (n: number) => {
    while (running) {
      const identifier = `RESTART-${n}-${sequence++}`;
      const payload = JSON.stringify({ given_name: 'Load', family_name: `Writer ${n}`, identifiers: [{ type: 'NIN', value: identifier }] });
      const write = await call('/api/v1/individuals', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: payload });
      outcomes.push({ kind: 'write', identifier, ...write });
      const read = sequence % 2 === 0
        ? { kind: 'read' as const, ...(await call('/api/v1/individuals?limit=5', { headers: auth })) }
        : { kind: 'fhir' as const, ...(await call('/fhir/Patient?_count=5', { headers: { ...auth, accept: 'application/fhir+json' } })) };
      outcomes.push(read);
      await sleep(20);
    }
  };
  const load = Promise.all(Array.from({ length: WORKERS }, (_, n) => worker(n)));
  const acknowledged = () => outcomes.filter((o) => o.kind === 'write' && o.status === 201).length;
  const ready = async () => (await call('/ready')).status;

  for (const mode of ['fast', 'immediate'] as const) {
    await t.test(`pg_ctl stop -m ${mode}, then start`, async (t) => {
      const before = acknowledged();
      await until('writes before the outage', () => acknowledged() >= before + 10);
      await pg.stop(mode);
      const outageStart = outcomes.length;
      await until('/ready to answer 503', async () => (await ready()) === 503);
      const ready503 = await call('/ready');
      t.equal(ready503.status, 503, '/ready answers 503 while the database is down');
      t.match(JSON.parse(ready503.body), { status: 'database unreachable' });

      // Each surface answers the outage in its own dialect, with Retry-After. A request whose statement waited for a
      // connection longer than its surface's statement timeout (FHIR and DCI: 5 s) is a timeout, also a 503.
      const admin = await call('/api/v1/individuals?limit=1', { headers: auth });
      t.equal(admin.status, 503, 'admin API: 503');
      t.match(admin.contentType, /^application\/problem\+json/);
      t.match(JSON.parse(admin.body), { status: 503, type: 'urn:convergence-hub:problem:unavailable' });
      t.ok(Number(admin.retryAfter) > 0, 'admin API: Retry-After');
      const fhir = await call('/fhir/Patient?_count=1', { headers: { ...auth, accept: 'application/fhir+json' } });
      t.equal(fhir.status, 503, 'FHIR: 503');
      t.match(JSON.parse(fhir.body), { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: /^(transient|timeout)$/ }] });
      t.ok(Number(fhir.retryAfter) > 0, 'FHIR: Retry-After');
      const envelope = {
        signature: 'x',
        header: { version: '1.0.0', message_id: crypto.randomUUID(), message_ts: new Date().toISOString(), action: 'search', sender_id: 'someone', total_count: 1 },
        message: { transaction_id: crypto.randomUUID(), search_request: [] },
      };
      const dci = await call('/dci/sr/registry/sync/search', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(envelope) });
      t.equal(dci.status, 503, 'DCI: 503');
      t.match(JSON.parse(dci.body), { errors: [{ code: /^err\.(service\.unavailable|request\.timeout)$/ }] });
      t.ok(Number(dci.retryAfter) > 0, 'DCI: Retry-After');

      await until('writes to fail during the outage', () => outcomes.slice(outageStart).filter((o) => o.kind === 'write' && o.status === 503).length >= WORKERS);
      await pg.start();
      await until('/ready to answer 200 again', async () => (await ready()) === 200);
      const after = acknowledged();
      await until('writes to succeed again, without restarting the hub', () => acknowledged() >= after + 10);
    });
  }
  running = false;
  await load;

  // The hub's job workers came back too: a callback job enqueued now (by another pg-boss, as a second instance
  // would) is worked and posted by this hub.
  const posted: string[] = [];
  const receiver = http.createServer((req, res) => {
    posted.push(req.url ?? '');
    res.writeHead(200).end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => receiver.close(resolve)));
  const boss = new PgBoss({ connectionString: pg.url, schema: 'pgboss', supervise: false, schedule: false });
  await boss.start();
  const callback = { transaction: null, url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/after-restart`, header: { action: 'on-search' } };
  await boss.send('dci-callback', callback);
  await boss.stop({ graceful: false, wait: true });
  await until('the callback job to be worked', () => posted.length > 0);
  t.same(posted, ['/after-restart'], 'the job queue works again after the restarts');
  // So did the notify dispatcher: every change recorded by the writes is consumed.
  await until('the change outbox to drain', async () => ((await database.executeSql('SELECT count(*)::int AS n FROM registry_changes')).rows as { n: number }[])[0]!.n === 0);
  t.pass('the notify dispatcher drained the change outbox');

  const failed = outcomes.filter((o) => o.status < 200 || o.status > 299);
  t.ok(failed.length > 0, `the outages were seen by the load (${failed.length} of ${outcomes.length} requests refused)`);
  t.same(failed.filter((o) => o.status !== 503).map((o) => `${o.kind} ${o.status} ${o.body.slice(0, 200)}`), [], 'every refusal is a 503, never a 500');
  t.same(
    failed.filter((o) => !o.retryAfter || !(o.kind === 'fhir' ? /^application\/fhir\+json/ : /^application\/problem\+json/).test(o.contentType)).map((o) => `${o.kind} ${o.contentType}`),
    [],
    'each 503 is in the dialect of its surface, with Retry-After',
  );
  t.same(logLines.filter((l) => /"msg":"(request failed|FHIR request failed)"/.test(l)), [], 'no request was logged as an unexpected failure');

  const written = outcomes.filter((o) => o.kind === 'write' && o.status === 201).map((o) => o.identifier!);
  await close();
  const check = postgres(pg.url, { max: 1, onnotice: () => {} });
  try {
    const rows = await check<{ value: string }[]>`SELECT value FROM identifiers WHERE type = 'NIN' AND value LIKE 'RESTART-%'`;
    const stored = new Set(rows.map((r) => r.value));
    t.same(written.filter((id) => !stored.has(id)), [], `every acknowledged write (${written.length}) is in the database`);
  } finally {
    await check.end();
  }
});
