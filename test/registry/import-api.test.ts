import { sql } from 'drizzle-orm';
import t from 'tap';
import { queryRows } from '../../src/db/query-rows.js';
import { testHub, type TestHub } from '../helpers/hub.js';
import { expectProblem } from '../helpers/registry.js';

const hub = await testHub(t);

const CSV = [
  'identifier_type,identifier_value,given_name,family_name,sex,birth_date',
  'NIN,API-1,Alice,Nkurunziza,female,1990-01-02',
  'NIN,API-2,Bosco,Hakizimana,male,not-a-date',
  'NIN,API-3,,Irakoze,female,1985-07-07',
  'NIN,API-4,Claude,Ndikumana,male,1979-03-30',
  'NIN,API-1,Alice,Again,female,1990-01-02',
].join('\n');

async function finished(hub: TestHub, id: string) {
  for (let i = 0; i < 600; i++) {
    const res = await hub.request({ method: 'GET', url: `/api/v1/imports/${id}` });
    const body = res.json();
    if (body.status === 'succeeded' || body.status === 'failed') return body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`import ${id} never finished`);
}

const upload = (url: string, payload: string | Buffer, contentType = 'text/csv', token?: string) =>
  hub.request({ method: 'POST', url, payload, headers: { 'content-type': contentType }, ...(token ? { token } : {}) });

function multipart(fields: Record<string, string>, file: { name: string; type: string; content: string }) {
  const boundary = '----hubtest' + Math.random().toString(16).slice(2);
  const parts = Object.entries(fields).map(([k, v]) => `--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  parts.push(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${file.name}"\r\ncontent-type: ${file.type}\r\n\r\n${file.content}\r\n`);
  return { payload: parts.join('') + `--${boundary}--\r\n`, contentType: `multipart/form-data; boundary=${boundary}` };
}

t.test('a streamed CSV is acknowledged with 202, imported in the background, and its bad rows reported by line', async (t) => {
  const res = await upload('/api/v1/imports?type=individuals&file_name=people.csv', CSV);
  t.equal(res.statusCode, 202, res.body);
  const accepted = res.json();
  t.equal(res.headers.location, `/api/v1/imports/${accepted.id}`);
  t.match(accepted, { type: 'individuals', format: 'csv', file_name: 'people.csv', status: 'queued', bytes: Buffer.byteLength(CSV) });

  const done = await finished(hub, accepted.id);
  t.match(done, { status: 'succeeded', rows_read: 5, accepted: 2, inserted: 2, rejected: 3, committed: true, error: null });
  const report = await hub.request({ method: 'GET', url: done.errors_url });
  t.equal(report.statusCode, 200);
  t.match(report.headers['content-type'], /^text\/csv/);
  const lines = report.body.trim().split('\n');
  t.equal(lines[0], 'line,column,reason');
  t.same(lines.slice(1).map((l) => l.split(',').slice(0, 2).join(',')), ['3,birth_date', '4,given_name', '6,identifier_value'], 'every refused row, by line and column');

  const people = (await hub.request({ method: 'GET', url: '/api/v1/individuals?identifier_type=NIN&identifier_value=API-4' })).json();
  t.equal(people.items[0].given_name, 'Claude', 'the good rows are in the registry');
  const [uploads] = await queryRows<{ n: number }>(hub.database.db, sql`SELECT count(*)::int AS n FROM import_uploads`);
  t.equal(uploads!.n, 0, 'the stored upload is dropped once imported');

  t.test('the same file again changes nothing', async (t) => {
    const again = await finished(hub, (await upload('/api/v1/imports?type=individuals', CSV)).json().id);
    t.match(again, { status: 'succeeded', inserted: 0, updated: 0, unchanged: 2, rejected: 3 });
  });
});

t.test('multipart: option fields, then an NDJSON file with a mapping; all-or-nothing refuses the whole file', async (t) => {
  const mapping = JSON.stringify({ columns: { nin: 'identifier_value', first: 'given_name', last: 'family_name', born: { field: 'birth_date', format: 'DD/MM/YYYY' } }, constants: { identifier_type: 'NIN' } });
  const good = ['{"nin":"MP-1","first":"Divine","last":"Uwimana","born":"05/06/2001"}', '{"nin":"MP-2","first":"Eric","last":"Niyonzima","born":"31/12/1999"}'].join('\n');
  const form = multipart({ type: 'individuals', mapping }, { name: 'people.ndjson', type: 'application/x-ndjson', content: good });
  const res = await upload('/api/v1/imports', form.payload, form.contentType);
  t.equal(res.statusCode, 202, res.body);
  t.match(await finished(hub, res.json().id), { format: 'ndjson', status: 'succeeded', inserted: 2, rejected: 0 });
  const eric = (await hub.request({ method: 'GET', url: '/api/v1/individuals?identifier_type=NIN&identifier_value=MP-2' })).json().items[0];
  t.equal(eric.birth_date, '1999-12-31', 'the mapping\'s date format applied');

  const bad = `${good.replace(/MP-/g, 'MQ-')}\n{"nin":"MQ-3","first":"","last":"X","born":"01/01/2000"}`;
  const strict = multipart({ type: 'individuals', mapping, all_or_nothing: 'true' }, { name: 'more.ndjson', type: 'application/x-ndjson', content: bad });
  const refused = await finished(hub, (await upload('/api/v1/imports', strict.payload, strict.contentType)).json().id);
  t.match(refused, { status: 'succeeded', committed: false, rejected: 1 });
  const none = (await hub.request({ method: 'GET', url: '/api/v1/individuals?identifier_type=NIN&identifier_value=MQ-1' })).json();
  t.same(none.items, [], 'nothing of the refused file was kept');
});

t.test('refusals before anything is stored: bad options and mappings, restricted clients, oversized files', async (t) => {
  expectProblem(t, await upload('/api/v1/imports?type=people', CSV), 400, 'unknown type');
  expectProblem(t, await upload('/api/v1/imports?type=individuals&colour=red', CSV), 400, 'unknown option');
  const badMapping = await upload(`/api/v1/imports?type=individuals&mapping=${encodeURIComponent('{"columns":{"x":"shoe_size"}}')}`, CSV);
  const problem = expectProblem(t, badMapping, 422, 'mapping to an unknown field');
  t.match(problem.detail, /shoe_size/);
  expectProblem(t, await upload('/api/v1/imports?type=individuals', ''), 400, 'empty file');

  const { locations } = { locations: (await hub.request({ method: 'POST', url: '/api/v1/locations', payload: { code: 'AREA-1', name: 'Area' } })).json() };
  const restricted = await hub.client(['registry:read', 'registry:write'], { location_id: locations.id });
  expectProblem(t, await upload('/api/v1/imports?type=individuals', CSV, 'text/csv', restricted.token), 403, 'geographically restricted client');
  const reader = await hub.client(['registry:read']);
  expectProblem(t, await upload('/api/v1/imports?type=individuals', CSV, 'text/csv', reader.token), 403, 'no registry:write');

  const small = await testHub(t, { HUB_IMPORT_MAX_BYTES: '1024' });
  const big = `${CSV}\n${'NIN,BIG,Long,Name,female,1990-01-01\n'.repeat(100)}`;
  expectProblem(t, await small.request({ method: 'POST', url: '/api/v1/imports?type=individuals', payload: big, headers: { 'content-type': 'text/csv' } }), 413, 'over HUB_IMPORT_MAX_BYTES');
  const form = multipart({ type: 'individuals' }, { name: 'big.csv', type: 'text/csv', content: big });
  expectProblem(t, await small.request({ method: 'POST', url: '/api/v1/imports', payload: form.payload, headers: { 'content-type': form.contentType } }), 413, 'multipart over the limit');
  const [rows] = await queryRows<{ n: number }>(small.database.db, sql`SELECT (SELECT count(*) FROM imports) + (SELECT count(*) FROM import_uploads) AS n`);
  t.equal(Number(rows!.n), 0, 'nothing stored');

  const other = await hub.client(['registry:write']);
  const mine = (await upload('/api/v1/imports?type=individuals', CSV)).json();
  expectProblem(t, await hub.request({ method: 'GET', url: `/api/v1/imports/${mine.id}`, token: other.token }), 404, 'another client\'s import');
});

t.test('a mapping that does not fit the file fails the import with the reason, without retries', async (t) => {
  const res = await upload('/api/v1/imports?type=individuals', 'surname,forename\nA,B\n');
  const done = await finished(hub, res.json().id);
  t.match(done, { status: 'failed', error: /surname/ });
});
