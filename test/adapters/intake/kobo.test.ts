import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { KoboError, koboSource } from '../../../src/adapters/intake/kobo.js';
import { intakeCommand } from '../../../src/cli/intake.js';
import { loadConfig } from '../../../src/config.js';
import { pullIntake } from '../../../src/registry/import/intake.js';
import { mappingFrom } from '../../../src/registry/import/mapping.js';
import { systemActor } from '../../../src/security/actor.js';
import { freshDatabaseEnv, tempDir, testHub } from '../../helpers/hub.js';

const TOKEN = 'kobo-secret-token';

/** A KoBoToolbox API v2 data endpoint: token auth, `query` on _submission_time ($gt), `sort`, `limit`/`start` pages with `next`. */
async function fakeKobo(t: { teardown(fn: () => unknown): void }, submissions: Record<string, unknown>[]) {
  const seen: URL[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://127.0.0.1');
    seen.push(url);
    if (req.headers.authorization !== `Token ${TOKEN}`) return res.writeHead(401).end('{"detail":"Invalid token."}');
    const match = /^\/api\/v2\/assets\/([^/]+)\/data\/$/.exec(url.pathname);
    if (!match || match[1] !== 'aForm123') return res.writeHead(404).end('{"detail":"Not found."}');
    if (url.searchParams.get('format') !== 'json') return res.writeHead(400).end();
    const query = JSON.parse(url.searchParams.get('query') ?? '{}') as { _submission_time?: { $gt: string } };
    const after = query._submission_time?.$gt;
    const matching = submissions
      .filter((s) => after === undefined || String(s._submission_time) > after)
      .sort((a, b) => String(a._submission_time).localeCompare(String(b._submission_time)));
    const limit = Number(url.searchParams.get('limit') ?? 100);
    const start = Number(url.searchParams.get('start') ?? 0);
    const next = new URL(url);
    next.searchParams.set('start', String(start + limit));
    const port = (server.address() as AddressInfo).port;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        count: matching.length,
        next: start + limit < matching.length ? `http://127.0.0.1:${port}${next.pathname}${next.search}` : null,
        previous: null,
        results: matching.slice(start, start + limit),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const submission = (id: number, time: string, name: string, extra: Record<string, unknown> = {}) => ({
  _id: id,
  _uuid: `uuid-${id}`,
  _submission_time: time,
  'respondent/nin': `KOBO-${id}`,
  'respondent/first_name': name,
  'respondent/last_name': 'Ndayizeye',
  'respondent/sex': 'f',
  'respondent/dob': '1991-04-12',
  'household/rooms': '3',
  ...extra,
});

const MAPPING = {
  columns: {
    'respondent/nin': 'identifier_value',
    'respondent/first_name': 'given_name',
    'respondent/last_name': 'family_name',
    'respondent/sex': { field: 'sex', codes: { f: 'female', m: 'male' } },
    'respondent/dob': 'birth_date',
    'household/rooms': { attribute: 'rooms', type: 'integer' },
  },
  constants: { identifier_type: 'NIN' },
};

t.test('pulls a form\'s submissions through the import pipeline, page by page, then only the new ones', async (t) => {
  const hub = await testHub(t);
  const data = [submission(1, '2026-11-01T08:00:00', 'Aline'), submission(2, '2026-11-01T09:30:00', 'Bella'), submission(3, '2026-11-02T10:00:00', 'Cecile', { 'respondent/dob': '31/31/1990' })];
  const kobo = await fakeKobo(t, data);
  const source = koboSource({ url: kobo.url, token: TOKEN, asset: 'aForm123', pageSize: 2 });
  const options = { type: 'individuals' as const, mapping: mappingFrom(MAPPING, 'individuals') };
  const issues: unknown[] = [];

  const first = await pullIntake(hub.database, systemActor('system:intake'), source, { ...options, onIssue: (i) => issues.push(i) });
  t.match(first, { source: 'kobo:aForm123', read: 3, inserted: 2, rejected: 1, committed: true, cursor: '2026-11-02T10:00:00.000Z' });
  t.match(issues, [{ line: 3, column: 'respondent/dob', reason: /not a date/ }], 'the bad submission is reported, by its position in the pull and its question');
  t.equal(kobo.seen.filter((u) => u.pathname.endsWith('/data/')).length, 2, 'two pages of two');
  t.notOk(kobo.seen[0]!.searchParams.has('query'), 'the first pull asks for everything');
  const aline = (await hub.request({ method: 'GET', url: '/api/v1/individuals?identifier_type=NIN&identifier_value=KOBO-1' })).json().items[0];
  t.match(aline, { given_name: 'Aline', sex: 'female', birth_date: '1991-04-12', attributes: { rooms: 3 } });

  data.push(submission(4, '2026-11-03T07:15:00', 'Diane'));
  kobo.seen.length = 0;
  const second = await pullIntake(hub.database, systemActor('system:intake'), source, options);
  t.same(JSON.parse(kobo.seen[0]!.searchParams.get('query')!), { _submission_time: { $gt: '2026-11-02T10:00:00' } }, 'incremental by submission time');
  t.match(second, { read: 1, inserted: 1, rejected: 0, cursor: '2026-11-03T07:15:00.000Z' });

  const dry = await pullIntake(hub.database, systemActor('system:intake'), source, { ...options, dryRun: true });
  t.match(dry, { read: 0, cursor: '2026-11-03T07:15:00.000Z' }, 'nothing new');
});

t.test('refusals: a wrong token, an unknown form, a next page on another host', async (t) => {
  const hub = await testHub(t);
  const kobo = await fakeKobo(t, [submission(1, '2026-11-01T08:00:00', 'Aline')]);
  const options = { type: 'individuals' as const, mapping: mappingFrom(MAPPING, 'individuals') };
  await t.rejects(pullIntake(hub.database, systemActor('x'), koboSource({ url: kobo.url, token: 'wrong', asset: 'aForm123' }), options), new KoboError('KoBoToolbox refused the token (HTTP 401)'));
  await t.rejects(pullIntake(hub.database, systemActor('x'), koboSource({ url: kobo.url, token: TOKEN, asset: 'nope' }), options), /no form nope/);

  const evil = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ next: 'http://127.0.0.2:9/steal', results: [submission(9, '2026-11-01T08:00:00', 'Eve')] }));
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => evil.close(resolve)));
  const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
  await t.rejects(pullIntake(hub.database, systemActor('x'), koboSource({ url: evilUrl, token: TOKEN, asset: 'aForm123' }), options), /another server/);
  const found = (await hub.request({ method: 'GET', url: '/api/v1/individuals?identifier_type=NIN&identifier_value=KOBO-9' })).json();
  t.same(found.items, [], 'a failed pull imports nothing');
});

t.test('hub intake kobo: token from KOBO_TOKEN, mapping file, summary line', async (t) => {
  const kobo = await fakeKobo(t, [submission(1, '2026-11-01T08:00:00', 'Aline')]);
  const dir = tempDir(t);
  const mappingFile = path.join(dir, 'mapping.json');
  fs.writeFileSync(mappingFile, JSON.stringify(MAPPING));
  const config = loadConfig(await freshDatabaseEnv(t));
  const args = ['kobo', '--url', kobo.url, '--asset', 'aForm123', '--type', 'individuals', '--mapping', mappingFile, '--json'];
  await t.rejects(intakeCommand(config, args, {}), /KOBO_TOKEN/);
  const internal = args.map((a) => (a === kobo.url ? 'http://169.254.169.254/' : a));
  await t.rejects(intakeCommand(config, internal, { KOBO_TOKEN: TOKEN }), /--url: 169\.254\.169\.254 \(link-local\) is not an address the hub calls/);
  await t.rejects(intakeCommand(config, args.filter((a) => a !== '--mapping' && a !== mappingFile), { KOBO_TOKEN: TOKEN }), /--mapping/);
  const written: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => written.push(String(chunk)) > 0) as unknown as typeof process.stdout.write;
  let code: number;
  try {
    code = await intakeCommand(config, args, { KOBO_TOKEN: TOKEN });
  } finally {
    process.stdout.write = write;
  }
  t.equal(code, 0);
  t.match(JSON.parse(written.find((w) => w.includes('"source":"kobo:'))!), { source: 'kobo:aForm123', read: 1, inserted: 1, cursor: '2026-11-01T08:00:00.000Z' });
});
