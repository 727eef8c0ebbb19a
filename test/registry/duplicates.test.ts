import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import t from 'tap';
import { queryRows } from '../../src/db/query-rows.js';
import type { RowIssue } from '../../src/registry/import/merge.js';
import { runImport } from '../../src/registry/import/run.js';
import { systemActor } from '../../src/security/actor.js';
import { tempDir, testHub } from '../helpers/hub.js';
import { auditActions, expectAuditChainOk, expectProblem } from '../helpers/registry.js';

const hub = await testHub(t);
const db = hub.database.db;
const dir = tempDir(t);
/** Setup outside any subtest makes no assertions: a failed create throws. */
async function make(what: string, payload: object): Promise<any> {
  const res = await hub.request({ method: 'POST', url: `/api/v1/${what}`, payload });
  if (res.statusCode !== 201) throw new Error(`POST ${what}: ${res.statusCode} ${res.body}`);
  return res.json();
}
const provinceA = await make('locations', { code: 'DUP-A', name: 'Province A', kind: 'province' });
const collineA = await make('locations', { code: 'DUP-A1', name: 'Colline A1', kind: 'colline', parent_id: provinceA.id });
const provinceB = await make('locations', { code: 'DUP-B', name: 'Province B', kind: 'province' });
const collineB = await make('locations', { code: 'DUP-B1', name: 'Colline B1', kind: 'colline', parent_id: provinceB.id });

const person = (fields: Record<string, unknown>) =>
  make('individuals', { sex: 'male', location_id: collineA.id, birth_date: '1980-04-02', ...fields });
const list = async (query = 'status=open', token?: string) => {
  const res = await hub.request({ method: 'GET', url: `/api/v1/duplicates?${query}`, ...(token ? { token } : {}) });
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`);
  return res.json() as { items: any[]; next_cursor: string | null };
};
const pairOf = (a: { id: string }, b: { id: string }) => [a.id, b.id].sort();
const importFile = async (name: string, content: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  const issues: RowIssue[] = [];
  const summary = await runImport(hub.database, systemActor('system:import'), { file, type: 'individuals', format: 'csv', onIssue: (i) => issues.push(i) });
  return { summary, issues };
};

t.test('creates and updates flag probable duplicates, with a score and the reasons', async (t) => {
  const jean = await person({ given_name: 'Jean-Marie', family_name: 'Ndayishimiye', identifiers: [{ type: 'NIN', value: 'D-1' }] });
  const twin = await person({ given_name: 'Jean Marie', family_name: 'Ndayishimiye', birth_date: '1980-04-02' });
  const sameYear = await person({ given_name: 'Jean-Marie', family_name: 'Ndayishimiy', birth_date: '1980-11-30' });
  await person({ given_name: 'Jean-Marie', family_name: 'Ndayishimiye', sex: 'female', birth_date: '1980-04-02' });
  await person({ given_name: 'Jean-Marie', family_name: 'Ndayishimiye', birth_date: '1981-04-02' });
  await person({ given_name: 'Jean-Marie', family_name: 'Ndayishimiye', location_id: collineB.id });
  await person({ given_name: 'Pierre', family_name: 'Ciza' });

  const open = (await list()).items;
  t.same(
    open.map((c) => c.individual.id < c.other.id && pairOf(c.individual, c.other)).sort(),
    [pairOf(jean, twin), pairOf(jean, sameYear), pairOf(twin, sameYear)].sort(),
    'exactly the pairs in the same location, born the same year, not of the opposite sex, with similar names',
  );
  const exact = open.find((c) => pairOf(c.individual, c.other).join() === pairOf(jean, twin).join());
  t.match(exact, { kind: 'probable', status: 'open', decided_by: null, incoming: null });
  t.same(exact.reasons.map((r: { rule: string }) => r.rule), ['similar_names', 'same_birth_date', 'same_location']);
  const yearOnly = open.find((c) => pairOf(c.individual, c.other).join() === pairOf(jean, sameYear).join());
  t.same(yearOnly.reasons[1], { rule: 'same_birth_year', birth_dates: jean.id < sameYear.id ? [jean.birth_date, sameYear.birth_date] : [sameYear.birth_date, jean.birth_date] }, 'birth dates of the pair, first record first');
  t.ok(exact.score > yearOnly.score, `the same birth date scores higher (${exact.score} > ${yearOnly.score})`);
  t.same(open.map((c) => c.score), [...open.map((c) => c.score)].sort((a, b) => b - a), 'best score first');

  const later = await person({ given_name: 'Audace', family_name: 'Hakizimana', birth_date: '1990-01-01' });
  await person({ given_name: 'Audace', family_name: 'Hakizimana', birth_date: '1975-01-01' });
  t.equal((await list(`individual_id=${later.id}`)).items.length, 0, 'no candidate while birth years differ');
  const res = await hub.request({ method: 'PATCH', url: `/api/v1/individuals/${later.id}`, payload: { birth_date: '1975-06-01' }, headers: { 'if-match': '"1"' } });
  t.equal(res.statusCode, 200, res.body);
  t.equal((await list(`individual_id=${later.id}`)).items.length, 1, 'an update that makes them alike flags the pair');
  await hub.request({ method: 'PATCH', url: `/api/v1/individuals/${later.id}`, payload: { phone: '+25779000000' }, headers: { 'if-match': '"2"' } });
  t.equal((await list(`individual_id=${later.id}&status=open`)).items.length, 1, 'flagging again stores the pair once');
});

t.test('list: keyset pages, filters, geographic scope', async (t) => {
  const all = (await list('limit=500')).items;
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await list(`limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    seen.push(...page.items.map((c) => c.id));
    cursor = page.next_cursor;
  } while (cursor);
  t.same(seen, all.map((c) => c.id), 'one by one, the same candidates in the same order');
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/duplicates?cursor=bm9wZQ' }), 400, 'a forged cursor');
  expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/duplicates?status=maybe' }), 400, 'an unknown status');

  const inB = await hub.client(['registry:read'], { location_id: provinceB.id });
  t.equal((await list('', inB.token)).items.length, 0, 'a client scoped to province B sees none of the pairs located in A');
  const inA = await hub.client(['registry:read'], { location_id: provinceA.id });
  t.equal((await list('', inA.token)).items.length, all.length, 'a client scoped to province A sees them all');
  const res = await hub.request({ method: 'POST', url: `/api/v1/duplicates/${all[0].id}/dismiss`, token: inA.token });
  t.equal(res.statusCode, 403, 'deciding needs registry:write');
  const outside = await hub.client(['registry:read', 'registry:write'], { location_id: provinceB.id });
  expectProblem(t, await hub.request({ method: 'POST', url: `/api/v1/duplicates/${all[0].id}/dismiss`, token: outside.token }), 404, 'out of scope');
});

t.test('dismiss closes a candidate once, audited', async (t) => {
  const [first] = (await list()).items;
  const res = await hub.request({ method: 'POST', url: `/api/v1/duplicates/${first.id}/dismiss` });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), { id: first.id, status: 'dismissed', decided_by: /\S/, decided_at: /\S/ });
  expectProblem(t, await hub.request({ method: 'POST', url: `/api/v1/duplicates/${first.id}/dismiss` }), 409, 'a second decision');
  t.ok((await list('status=dismissed')).items.some((c) => c.id === first.id), 'listed as dismissed');
  t.notOk((await list()).items.some((c) => c.id === first.id), 'no longer open');
  t.same(await auditActions(t, hub, first.id), ['duplicate.dismiss']);
});

t.test('merge keeps the survivor, moves identifiers and memberships, keeps history', async (t) => {
  const keep = await person({ given_name: 'Gédéon', family_name: 'Bigirimana', birth_date: '1970-02-02', identifiers: [{ type: 'NIN', value: 'M-KEEP' }] });
  const gone = await person({
    given_name: 'Gedeon',
    family_name: 'Bigirimana',
    birth_date: '1970-02-02',
    phone: '+25761111111',
    attributes: { disability: true },
    identifiers: [{ type: 'NIN', value: 'M-GONE' }, { type: 'BRN', value: 'M-BRN' }],
  });
  const spouse = await person({ given_name: 'Aline', family_name: 'Irakoze', sex: 'female', birth_date: '1972-03-03' });
  const own = await make('groups', { code: 'HH-KEEP', location_id: collineA.id, members: [{ role: 'head', individual_id: keep.id }] });
  const theirs = await make('groups', {
    code: 'HH-GONE',
    location_id: collineA.id,
    members: [{ role: 'head', individual_id: gone.id }, { role: 'spouse', individual_id: spouse.id }],
  });
  const shared = await make('groups', {
    code: 'HH-BOTH',
    location_id: collineA.id,
    members: [{ role: 'head', individual_id: spouse.id }, { role: 'child', individual_id: keep.id }, { role: 'other_relative', individual_id: gone.id }],
  });
  const [candidate] = (await list(`individual_id=${gone.id}`)).items;
  t.ok(candidate, 'the pair was flagged');

  expectProblem(
    t,
    await hub.request({ method: 'POST', url: `/api/v1/duplicates/${candidate.id}/merge`, payload: { survivor_id: spouse.id } }),
    422,
    'a survivor outside the pair',
  );
  const res = await hub.request({ method: 'POST', url: `/api/v1/duplicates/${candidate.id}/merge`, payload: { survivor_id: keep.id } });
  t.equal(res.statusCode, 200, res.body);
  const { candidate: decided, survivor } = res.json();
  t.match(decided, { status: 'merged', decided_by: /\S/ });
  t.same(survivor.identifiers, [{ type: 'BRN', value: 'M-BRN' }, { type: 'NIN', value: 'M-GONE' }, { type: 'NIN', value: 'M-KEEP' }], 'every identifier');
  t.match(survivor, { given_name: 'Gédéon', phone: '+25761111111', attributes: { disability: true }, version: 2 }, 'own values kept, gaps filled');

  const read = expectProblem(t, await hub.request({ method: 'GET', url: `/api/v1/individuals/${gone.id}` }), 410, 'the merged record');
  t.match(read.detail, `merged into ${keep.id}`);
  const byNin = await hub.request({ method: 'GET', url: '/api/v1/individuals?identifier_value=M-GONE' });
  t.same(byNin.json().items.map((i: { id: string }) => i.id), [keep.id], 'its identifier now finds the survivor');

  const members = async (group: { id: string }) =>
    (await hub.request({ method: 'GET', url: `/api/v1/groups/${group.id}` })).json().members.map((m: any) => `${m.role}:${m.individual_id}`).sort();
  t.same(await members(own), [`head:${keep.id}`]);
  t.same(await members(theirs), [`head:${keep.id}`, `spouse:${spouse.id}`].sort(), 'a membership moves to the survivor');
  t.same(await members(shared), [`child:${keep.id}`, `head:${spouse.id}`].sort(), 'where both were members, the survivor stays once');
  const ended = await queryRows<{ role: string; end_date: string | null }>(
    db,
    sql`SELECT role, end_date::text FROM group_members WHERE individual_id = ${gone.id}`,
  );
  t.match(ended, [{ role: 'other_relative', end_date: /^\d{4}-/ }], 'the duplicate membership ended, kept as history');
  t.equal((await hub.request({ method: 'GET', url: `/api/v1/groups/${theirs.id}` })).json().version, 2, 'households changed get a new version');

  t.same((await auditActions(t, hub, keep.id)).slice(-1), ['individual.merge']);
  t.same((await auditActions(t, hub, gone.id)).slice(-1), ['individual.merged']);
  t.same((await auditActions(t, hub, candidate.id)), ['duplicate.merge']);
  const versions = await queryRows<{ entity_id: string; version: number; deleted: boolean }>(
    db,
    sql`SELECT entity_id, version, deleted_at IS NOT NULL AS deleted FROM record_versions WHERE entity_id IN (${keep.id}, ${gone.id}) ORDER BY entity_id, version`,
  );
  t.same(
    versions.filter((v) => v.version === 2).map((v) => [v.entity_id, v.deleted]).sort(),
    [[keep.id, false], [gone.id, true]].sort(),
    'both records got a version (the merged one as a delete)',
  );
  expectProblem(t, await hub.request({ method: 'POST', url: `/api/v1/duplicates/${candidate.id}/merge`, payload: {} }), 409, 'merging twice');
  await expectAuditChainOk(t, hub);
});

t.test('import: a row describing someone else under a known identifier is held back and flagged', async (t) => {
  const header = 'identifier_type,identifier_value,given_name,family_name,sex,birth_date,location_code\n';
  const first = await importFile('first.csv', `${header}NIN,IMP-1,Claudine,Niyonzima,female,1985-05-05,DUP-B1\n`);
  t.match(first.summary, { inserted: 1, flagged: 0 });
  const conflicting = `${header}NIN,IMP-1,Egide,Nshimirimana,male,1999-09-09,DUP-B1\nNIN,IMP-2,Cloudine,Niyonzima,female,1985-01-01,DUP-B1\n`;
  const second = await importFile('second.csv', conflicting);
  t.match(second.summary, { inserted: 1, rejected: 1, flagged: 2 }, 'one row held, one probable duplicate');
  t.match(second.issues, [{ line: 2, column: 'identifier_value', reason: /belongs to individual .* held for review/ }]);
  const held = (await list('kind=identifier')).items;
  t.equal(held.length, 1);
  t.match(held[0], { score: 100, other: null, incoming: { given_name: 'Egide', family_name: 'Nshimirimana', birth_date: '1999-09-09' }, individual: { given_name: 'Claudine' } });
  t.equal((await list('kind=probable&status=open')).items.filter((c) => c.individual.family_name === 'Niyonzima').length, 1);

  const again = await importFile('second.csv', conflicting);
  t.match(again.summary, { inserted: 0, rejected: 1, flagged: 0, unchanged: 1 }, 'a re-run flags nothing twice');
  expectProblem(t, await hub.request({ method: 'POST', url: `/api/v1/duplicates/${held[0].id}/merge`, payload: {} }), 409, 'a held row is not a pair to merge');
  t.equal((await hub.request({ method: 'POST', url: `/api/v1/duplicates/${held[0].id}/dismiss` })).statusCode, 200);
  const applied = await importFile('second.csv', conflicting);
  t.match(applied.summary, { updated: 1, rejected: 0, flagged: 0 }, 'once dismissed, the import applies the row');
  const [row] = await queryRows<{ given_name: string }>(db, sql`SELECT i.given_name FROM individuals i JOIN identifiers d ON d.individual_id = i.id WHERE d.value = 'IMP-1'`);
  t.equal(row!.given_name, 'Egide');
  const correction = await importFile('third.csv', `${header}NIN,IMP-2,Claudine,Niyonzima,female,1985-01-01,DUP-B1\n`);
  t.match(correction.summary, { updated: 1, rejected: 0 }, 'a spelling correction is no conflict');
});
