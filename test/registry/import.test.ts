import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import t from 'tap';
import { queryRows } from '../../src/db/query-rows.js';
import { mappingFrom } from '../../src/registry/import/mapping.js';
import type { RowIssue } from '../../src/registry/import/merge.js';
import { runImport, type ImportOptions } from '../../src/registry/import/run.js';
import { formatOf } from '../../src/registry/import/source.js';
import { seedCsv } from '../../src/registry/seed/csv.js';
import { dropSearchIndexes } from '../../src/registry/import/search-indexes.js';
import { systemActor } from '../../src/security/actor.js';
import { prepareDatabase } from '../../src/setup.js';
import { tempDir, testHub } from '../helpers/hub.js';

const hub = await testHub(t);
const actor = systemActor('system:import');
const dir = tempDir(t);
const one = async <T>(query: string) => (await queryRows<T>(hub.database.db, sql.raw(query)))[0]!;
const count = async (table: string, where = 'true') => Number((await one<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE ${where}`)).n);

async function importFile(file: string, type: ImportOptions['type'], extra: Partial<ImportOptions> = {}) {
  const issues: RowIssue[] = [];
  const summary = await runImport(hub.database, actor, { file, type, format: formatOf(file), batchSize: 300, onIssue: (i) => issues.push(i), ...extra });
  return { summary, issues };
}

function write(name: string, content: string | Buffer) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

const seeded = path.join(dir, 'seed');
await seedCsv(seeded, { individuals: 1500, seed: 3 });
const seedFile = (name: string) => path.join(seeded, `${name}.csv`);

/** Every index and foreign key, as defined (a foreign key not validated says so). */
const indexDefinitions = () =>
  queryRows<{ name: string; definition: string }>(
    hub.database.db,
    sql`SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE schemaname = current_schema()
        UNION ALL
        SELECT conname, pg_get_constraintdef(oid) || CASE WHEN convalidated THEN '' ELSE ' NOT VALID' END
        FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace
        ORDER BY 1`,
  );

t.test('the seed CSV files import in order and a second run changes nothing', async (t) => {
  const expected: Record<string, number> = {};
  const indexesBefore = await indexDefinitions();
  for (const type of ['locations', 'households', 'individuals', 'members'] as const) {
    expected[type] = fs.readFileSync(seedFile(type), 'utf8').trim().split('\n').length - 1;
    const { summary, issues } = await importFile(seedFile(type), type);
    t.same(issues, [], `${type}: no refused rows`);
    t.match(summary, { read: expected[type], inserted: expected[type], updated: 0, unchanged: 0, rejected: 0, committed: true }, `${type} inserted`);
    t.equal(summary.bulk, type !== 'locations', `${type}: into an empty registry, a bulk load`);
  }
  t.same(await indexDefinitions(), indexesBefore, 'the search indexes and foreign keys dropped for the bulk loads are back, exactly as defined');
  t.equal(await count('deferred_indexes'), 0, 'none left to rebuild');
  t.equal(await count('pg_tables', "tablename LIKE 'import_keys_%'"), 0, 'the key tables are gone');
  t.equal(
    await count('pg_class', "relname IN ('individuals', 'identifiers', 'groups', 'group_members') AND relkind = 'r' AND relallvisible = 0"),
    0,
    'the tables a bulk load filled are vacuumed (their pages all-visible, for index-only scans)',
  );
  t.equal(await count('search_names'), await count('(SELECT DISTINCT search_name FROM individuals) n'), 'every imported name is in search_names');
  t.equal(await count('individuals'), 1500);
  t.equal(await count('identifiers'), 1500);
  t.equal(await count('group_members'), 1500);
  t.equal(await count('groups'), expected.households!);
  t.equal(await count('group_members m JOIN groups g ON g.id = m.group_id JOIN individuals i ON i.id = m.individual_id', 'i.location_id = g.location_id'), 1500, 'members live where their household is');
  const [{ n: levels }] = [await one<{ n: string }>(`SELECT count(DISTINCT level) AS n FROM locations`)];
  t.equal(Number(levels), 3, 'the location tree has its three levels');

  const audit = await count('audit_log');
  const versions = await one<{ s: string }>(`SELECT sum(version) AS s FROM individuals`);
  for (const type of ['locations', 'households', 'individuals', 'members'] as const) {
    const { summary } = await importFile(seedFile(type), type);
    t.match(summary, { inserted: 0, updated: 0, unchanged: expected[type], rejected: 0 }, `${type}: re-run is a no-op`);
  }
  t.equal(await count('audit_log'), audit, 'a no-op re-run writes no audit entries');
  t.same(await one(`SELECT sum(version) AS s FROM individuals`), versions, 'no version moved');
  t.equal(await count('individuals'), 1500);
});

t.test('a file with broken rows: good rows kept, every bad row reported with line, column and reason', async (t) => {
  const latin1 = Buffer.from('NIN,BAD-ENC,Andr\xe9,Nkurunziza,male,1990-01-01\n', 'latin1');
  const file = write(
    'broken.csv',
    Buffer.concat([
      Buffer.from(
        'identifier_type,identifier_value,given_name,family_name,sex,birth_date\n' +
          'NIN,OK-1,Aline,Irakoze,female,1991-03-04\n' + // line 2: good
          'NIN,BAD-DATE,Eric,Ciza,male,1990-02-31\n' + // line 3: no 31 February
          'NIN,NO-NAME,,Ciza,male,1990-02-01\n' + // line 4: missing given name
          'NIN,OK-1,Aline,Other,female,1991-03-04\n' + // line 5: duplicate of line 2
          'NIN,BAD-SEX,Jean,Ciza,M,1990-02-01\n' + // line 6: not a sex code
          'NIN,FUTURE,Jean,Ciza,male,2999-01-01\n', // line 7: born in the future
      ),
      latin1, // line 8: wrong encoding
      Buffer.from('NIN,OK-2,Espérance,Nduwimana,female,1980-05-05\n' + 'NIN,TRUNC,Pierre'), // line 9 good, line 10 truncated
    ]),
  );
  const { summary, issues } = await importFile(file, 'individuals');
  t.match(summary, { read: 9, inserted: 2, rejected: 7 });
  const byLine = new Map(issues.map((i) => [i.line, i]));
  t.match(byLine.get(3), { column: 'birth_date', reason: /not a date/ });
  t.match(byLine.get(4), { column: 'given_name', reason: /required/ });
  t.match(byLine.get(5), { column: 'identifier_value', reason: 'duplicate of line 2' });
  t.match(byLine.get(6), { column: 'sex', reason: /not one of/ });
  t.match(byLine.get(7), { column: 'birth_date', reason: /future/ });
  t.match(byLine.get(8), { column: 'given_name', reason: /UTF-8/ });
  t.match(byLine.get(10), { reason: /3 fields, the header has 6/ });
  t.same([...byLine.keys()].sort((a, b) => a - b), [3, 4, 5, 6, 7, 8, 10], 'exactly the bad lines');
  t.equal(await count('individuals i JOIN identifiers d ON d.individual_id = i.id', "d.value IN ('OK-1', 'OK-2')"), 2, 'good rows were kept');
  const accented = await one<{ given_name: string }>(`SELECT given_name FROM individuals i JOIN identifiers d ON d.individual_id = i.id WHERE d.value = 'OK-2'`);
  t.equal(accented.given_name, 'Espérance', 'UTF-8 text kept as it is');

  const unclosed = write('unclosed.csv', 'identifier_type,identifier_value,given_name,family_name\nNIN,Q-1,Ange,Ciza\nNIN,Q-2,"Ange,Ciza\n');
  const quoted = await importFile(unclosed, 'individuals');
  t.match(quoted.summary, { inserted: 1, rejected: 1 });
  t.match(quoted.issues, [{ line: 3, reason: /unreadable CSV: .*quote/i }], 'an unclosed quote on the last line is reported on its line');
});

t.test('--all-or-nothing and --dry-run write nothing', async (t) => {
  const file = write('mixed.csv', 'identifier_type,identifier_value,given_name,family_name\nNIN,AON-1,A,B\nNIN,AON-2,,B\n');
  const all = await importFile(file, 'individuals', { allOrNothing: true });
  t.match(all.summary, { inserted: 1, rejected: 1, committed: false });
  t.equal(await count('identifiers', "value LIKE 'AON-%'"), 0, 'the good row was rolled back with the bad one');

  const good = write('good.csv', 'identifier_type,identifier_value,given_name,family_name\nNIN,DRY-1,A,B\nNIN,DRY-2,C,D\n');
  const auditBefore = await count('audit_log');
  const dry = await importFile(good, 'individuals', { dryRun: true });
  t.match(dry.summary, { inserted: 2, rejected: 0, committed: false }, 'a dry run counts what would happen');
  t.equal(await count('identifiers', "value LIKE 'DRY-%'"), 0, 'and writes nothing');
  t.equal(await count('audit_log'), auditBefore);
  const real = await importFile(good, 'individuals', { allOrNothing: true });
  t.match(real.summary, { inserted: 2, committed: true }, 'all-or-nothing commits a clean file');
});

t.test('updates: only changed rows, only the fields the file has; attributes merge', async (t) => {
  const base = write('base.csv', 'identifier_type,identifier_value,given_name,family_name,phone,attributes\nNIN,UP-1,Jean,Ciza,+25761000000,"{""rooms"":2}"\nNIN,UP-2,Marie,Ciza,,{}\n');
  await importFile(base, 'individuals');
  const partial = write('partial.csv', 'identifier_type,identifier_value,given_name,family_name,sex\nNIN,UP-1,Jean,Ciza,male\nNIN,UP-2,Marie,Ciza,\n');
  const { summary } = await importFile(partial, 'individuals');
  t.match(summary, { inserted: 0, updated: 1, unchanged: 1 });
  const row = await one<{ sex: string; phone: string; version: number; attributes: unknown }>(
    `SELECT sex, phone, version, attributes FROM individuals i JOIN identifiers d ON d.individual_id = i.id WHERE d.value = 'UP-1'`,
  );
  t.match(row, { sex: 'male', phone: '+25761000000', version: 2 }, 'sex set, phone kept (not in the file), version moved');
  const attrs = write('attrs.csv', 'id,first,last,chambres\nUP-1,Jean,Ciza,4\n');
  const mapping = mappingFrom(
    { columns: { id: 'identifier_value', first: 'given_name', last: 'family_name', chambres: { attribute: 'members_rooms', type: 'integer' } }, constants: { identifier_type: 'NIN' } },
    'individuals',
  );
  await importFile(attrs, 'individuals', { mapping });
  const merged = await one<{ attributes: Record<string, unknown> }>(`SELECT attributes FROM individuals i JOIN identifiers d ON d.individual_id = i.id WHERE d.value = 'UP-1'`);
  t.same(merged.attributes, { rooms: 2, members_rooms: 4 }, 'attributes merged key by key');
});

t.test('a mapping: renamed columns, date formats, code lists, typed attributes, ignored columns', async (t) => {
  const file = write(
    'kobo.csv',
    'NationalID,Prenom,Nom,Sexe,DateNaissance,Colline,Chambres,Handicap,Commentaire\n' +
      'K-1,Désiré,Ndayishimiye,M,05/11/1984,BI-01-01-001,3,oui,rien\n' +
      'K-2,Béatrice,Ndayishimiye,F,31/11/1986,BI-01-01-001,2,non,\n' +
      'K-3,Claude,Ndayishimiye,X,01/01/2001,NOWHERE,deux,peut-être,\n',
  );
  const mapping = mappingFrom(
    {
      columns: {
        NationalID: 'identifier_value',
        Prenom: 'given_name',
        Nom: 'family_name',
        Sexe: { field: 'sex', codes: { M: 'male', F: 'female' } },
        DateNaissance: { field: 'birth_date', format: 'DD/MM/YYYY' },
        Colline: 'location_code',
        Chambres: { attribute: 'rooms', type: 'integer' },
        Handicap: { attribute: 'disability', type: 'boolean', codes: { oui: true, non: false } },
      },
      constants: { identifier_type: 'NIN' },
    },
    'individuals',
  );
  const { summary, issues } = await importFile(file, 'individuals', { mapping });
  t.match(summary, { inserted: 1, rejected: 2 });
  t.match(issues.filter((i) => i.line === 3), [{ column: 'DateNaissance', reason: /DD\/MM\/YYYY/ }], 'the source column is named');
  t.same(issues.filter((i) => i.line === 4).map((i) => i.column).sort(), ['Chambres', 'Handicap', 'Sexe'], 'every problem of a row at once');
  const person = await one<Record<string, unknown>>(
    `SELECT given_name, sex, birth_date::text AS birth_date, attributes, l.code FROM individuals i JOIN identifiers d ON d.individual_id = i.id
     JOIN locations l ON l.id = i.location_id WHERE d.value = 'K-1'`,
  );
  t.same(person, { given_name: 'Désiré', sex: 'male', birth_date: '1984-11-05', attributes: { rooms: 3, disability: true }, code: 'BI-01-01-001' });

  const unknownLocation = write('nowhere.csv', 'identifier_type,identifier_value,given_name,family_name,location_code\nNIN,L-1,A,B,NOWHERE\n');
  t.match((await importFile(unknownLocation, 'individuals')).issues, [{ line: 2, column: 'location_code', reason: 'no location with code NOWHERE' }]);

  t.throws(() => mappingFrom({ columns: { a: 'nickname' } }, 'individuals'), /unknown field "nickname"/, 'an unknown field fails before reading');
  t.throws(() => mappingFrom({ columns: { a: { field: 'sex', attribute: 'sex' } } }, 'individuals'), /exactly one of field or attribute/);
  t.throws(() => mappingFrom({ columns: { a: { field: 'birth_date', format: 'DD/MM' } } }, 'individuals'), /YYYY, MM and DD/);
  await t.rejects(importFile(write('odd.csv', 'identifier_type,identifier_value,given_name,family_name,nickname\nNIN,O-1,A,B,C\n'), 'individuals'), /"nickname" is not a individuals field/);
});

t.test('NDJSON, households and members with their own refusals', async (t) => {
  const people = write(
    'people.ndjson',
    '{"identifier_type":"NIN","identifier_value":"ND-1","given_name":"Aimé","family_name":"Ciza","attributes":{"education":"primary"}}\n' +
      '{"identifier_type":"NIN","identifier_value":"ND-2","given_name":"Agnès","family_name":"Ciza"}\n' +
      '{"identifier_type":"NIN","identifier_value":"ND-3","given_name":"Odette","family_na',
  );
  const ndjson = await importFile(people, 'individuals');
  t.match(ndjson.summary, { inserted: 2, rejected: 1 });
  t.match(ndjson.issues, [{ line: 3, reason: /not a JSON object/ }], 'a truncated last line');

  const households = write('hh.csv', 'household_code,location_code,attributes\nND-HH,BI-01-01-001,"{""rooms"":2}"\nND-GONE,NOWHERE,{}\n');
  t.match((await importFile(households, 'households')).summary, { inserted: 1, rejected: 1 });
  const members = write(
    'members.csv',
    'household_code,identifier_type,identifier_value,role\nND-HH,NIN,ND-1,head\nND-HH,NIN,ND-2,head\nND-HH,NIN,ND-9,child\nNO-HH,NIN,ND-2,child\n',
  );
  const m = await importFile(members, 'members');
  t.match(m.summary, { inserted: 1, rejected: 3 });
  t.same(m.issues.map((i) => [i.line, i.column]).sort(), [[3, 'role'], [4, 'identifier_value'], [5, 'household_code']]);
  const second = write('members2.csv', 'household_code,identifier_type,identifier_value,role\nND-HH,NIN,ND-1,head\nND-HH,NIN,ND-2,spouse\n');
  t.match((await importFile(second, 'members')).summary, { inserted: 1, unchanged: 1, rejected: 0 });
  const third = write('members3.csv', 'household_code,identifier_type,identifier_value,role\nND-HH,NIN,ND-2,head\n');
  const again = await importFile(third, 'members');
  t.match(again.issues, [{ line: 2, column: 'role', reason: /already has another head/ }], 'a head already in the registry');
  const res = await hub.request({ method: 'GET', url: '/api/v1/groups?code=ND-HH' });
  const group = res.json().items[0];
  t.same(group.attributes, { rooms: 2 }, 'the API reads imported records');
  t.same(group.members.map((m: { role: string; given_name: string }) => `${m.role} ${m.given_name}`).sort(), ['head Aimé', 'spouse Agnès']);
});

t.test('a death recorded by an import suspends active benefits, once, with the death as the reason', async (t) => {
  const admin = (options: Parameters<typeof hub.request>[0]) => hub.request(options);
  t.equal((await admin({ method: 'POST', url: '/api/v1/attribute-definitions', payload: { subject: 'individual', name: 'pension_test', type: 'boolean' } })).statusCode, 201);
  const people = write('pensioners.csv', 'identifier_type,identifier_value,given_name,family_name,attributes\nNIN,PEN-1,Old,Timer,"{""pension_test"":true}"\nNIN,PEN-2,Also,Old,"{""pension_test"":true}"\n');
  t.same((await importFile(people, 'individuals')).issues, []);
  const programme = await admin({
    method: 'POST',
    url: '/api/v1/programmes',
    payload: { code: 'IMPORT-PENSION', subject: 'individual', status: 'active', eligibility: 'pension_test' },
  });
  const enrolled = await admin({ method: 'POST', url: `/api/v1/programmes/${programme.json().id}/enrolment`, payload: { activate: true } });
  t.equal(enrolled.json().enrolled, 2);

  const deaths = write('deaths.csv', 'identifier_type,identifier_value,given_name,family_name,death_date\nNIN,PEN-1,Old,Timer,2026-03-01\n');
  t.same((await importFile(deaths, 'individuals')).issues, []);
  const list = (await admin({ method: 'GET', url: `/api/v1/programmes/${programme.json().id}/beneficiaries` })).json().items;
  const statuses = Object.fromEntries(
    await Promise.all(
      list.map(async (b: { id: string; subject_id: string; status: string; reason: string }) => {
        const person = (await admin({ method: 'GET', url: `/api/v1/individuals/${b.subject_id}` })).json();
        return [person.identifiers[0].value, [b.status, b.reason]];
      }),
    ),
  );
  t.same(statuses['PEN-1'], ['SUSPENDED', 'deceased on 2026-03-01'], 'the person the import recorded as dead');
  t.equal(statuses['PEN-2']![0], 'ACTIVE', 'the living one keeps the benefit');

  const historyBefore = await count('beneficiary_events');
  await importFile(deaths, 'individuals');
  t.equal(await count('beneficiary_events'), historyBefore, 're-running the import changes nothing');
});

t.test('search indexes left dropped by a killed bulk load are rebuilt by the next import or hub start', async (t) => {
  const before = await indexDefinitions();
  await dropSearchIndexes(hub.database, 'individuals');
  t.ok((await indexDefinitions()).length < before.length, 'dropped, as a load that never finished leaves them');
  t.ok(await count('deferred_indexes') > 0, 'and recorded');
  await prepareDatabase(hub.config, hub.database);
  t.same(await indexDefinitions(), before, 'a hub start rebuilds them');
  await dropSearchIndexes(hub.database, 'members');
  const { summary } = await importFile(write('after-kill.csv', 'identifier_type,identifier_value,given_name,family_name\nNIN,KILL-1,A,B\n'), 'individuals', { dryRun: true });
  t.equal(summary.bulk, false, 'a dry run is never a bulk load');
  t.same(await indexDefinitions(), before, 'the next import (even a dry run) rebuilds them first');
});

t.test('a foreign key that rows written during a bulk load break comes back NOT VALID, and the hub says so once', async (t) => {
  const before = await indexDefinitions();
  await dropSearchIndexes(hub.database, 'individuals');
  const orphan = await one<{ id: string }>(
    `INSERT INTO individuals (given_name, family_name, location_id) VALUES ('Orphan', 'Row', '00000000-0000-4000-8000-000000000000') RETURNING id`,
  );
  await t.rejects(prepareDatabase(hub.config, hub.database), /individuals_location_id_locations_id_fk/, 'the start names the broken key');
  const broken = (await indexDefinitions()).find((d) => d.name === 'individuals_location_id_locations_id_fk');
  t.match(broken?.definition, /NOT VALID$/, 'the key is back, enforced for new rows but not validated');
  t.equal(await count('deferred_indexes'), 0, 'nothing is left to rebuild');
  await prepareDatabase(hub.config, hub.database);
  t.pass('the next start goes through');
  await hub.database.db.execute(sql`DELETE FROM individuals WHERE id = ${orphan.id}`);
  await hub.database.db.execute(sql`ALTER TABLE individuals VALIDATE CONSTRAINT individuals_location_id_locations_id_fk`);
  t.same(await indexDefinitions(), before, 'validated once the row is gone');
});
