import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import t from 'tap';
import { queryRows } from '../../src/db/query-rows.js';
import type { RowIssue } from '../../src/registry/import/merge.js';
import { runImport } from '../../src/registry/import/run.js';
import { formatOf } from '../../src/registry/import/source.js';
import { systemActor } from '../../src/security/actor.js';
import { tempDir, testHub } from '../helpers/hub.js';
import { create, expectProblem } from '../helpers/registry.js';

/** One hub: civil events imported from a file are recorded as the admin API records them. */
const hub = await testHub(t);
const dir = tempDir(t);
const count = async (table: string, where = 'true') =>
  Number((await queryRows<{ n: string }>(hub.database.db, sql.raw(`SELECT count(*) AS n FROM ${table} WHERE ${where}`)))[0]!.n);
const get = async (url: string) => (await hub.request({ method: 'GET', url: `/api/v1/${url}` })).json();

async function importFile(name: string, content: string, dryRun = false) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  const issues: RowIssue[] = [];
  const summary = await runImport(hub.database, systemActor('system:import'), {
    file,
    type: 'civil-events',
    format: formatOf(file),
    batchSize: 4,
    dryRun,
    onIssue: (i) => issues.push(i),
  });
  return { summary, issues };
}

const CSV = [
  'event_type,registration_number,event_date,registration_date,identifier_type,identifier_value,given_name,family_name,sex,location_code,place_code,mother_identifier_type,mother_identifier_value,add_to_household',
  'death,D-1,2025-03-02,2025-03-05,NIN,N-JON,,,,,north,,,', // 2: Jon dies
  'birth,B-1,2025-05-01,,,,Baby,Civil,female,north,north,NIN,N-MARIA,true', // 3: a newborn joins Maria's household
  'death,D-2,2025-03-02,,NIN,N-NOBODY,,,,,,,,', // 4
  'birth,B-2,2999-01-01,,,,Later,Civil,,,,,,', // 5
  'birth,B-3,2025-01-01,,,,,Civil,,,,,,', // 6
  'death,D-1,2025-03-02,,NIN,N-JON,,,,,,,,', // 7
  'marriage,M-1,2024-01-02,2024-01-01,NIN,N-MARIA,,,,,,,,', // 8: refused by the registry (in its savepoint)
  'wedding,W-1,2024-01-02,,NIN,N-MARIA,,,,,,,,', // 9
  'birth,B-4,2025-02-01,,,N-KID,Kid,Civil,,,,,,', // 10
  'death,D-3,1930-01-01,,NIN,N-MARIA,,,,,nowhere,,,', // 11
  'death,D-4,1930-01-01,,NIN,N-MARIA,,,,,,,,', // 12: before Maria's birth: refused after the event was written
].join('\n');

t.test('civil events by bulk import', async (t) => {
  const north = await create(t, hub, 'locations', { code: 'north', name: 'North' });
  const person = (given: string, nin: string, birth: string) => ({ given_name: given, family_name: 'Civil', sex: 'female', birth_date: birth, location_id: north.id, identifiers: [{ type: 'NIN', value: nin }] });
  const household = await create(t, hub, 'groups', {
    code: 'HH-IMP',
    location_id: north.id,
    members: [
      { role: 'head', individual: person('Maria', 'N-MARIA', '1990-01-01') },
      { role: 'parent', individual: person('Jon', 'N-JON', '1940-01-01') },
      { role: 'other_relative', individual: person('Ann', 'N-ANN', '1950-01-01') },
    ],
  });
  const idOf = (given: string) => household.members.find((m: { given_name: string }) => m.given_name === given).individual_id as string;
  const pension = await create(t, hub, 'programmes', { code: 'PENSION', subject: 'individual', status: 'active', eligibility: 'age >= 60' });
  const checked = await create(t, hub, 'programmes', { code: 'PENSION-CHECKED', subject: 'individual', status: 'active', eligibility: 'age >= 60', approvals: { death_suspension: 1 } });
  for (const programme of [pension, checked]) {
    const enrolled = await hub.request({ method: 'POST', url: `/api/v1/programmes/${programme.id}/enrolment`, payload: { activate: true } });
    t.equal(enrolled.json().enrolled, 2, `${programme.code}: Jon and Ann`);
  }
  const benefit = async (programmeId: string, subjectId: string) =>
    (await get(`programmes/${programmeId}/beneficiaries?limit=100`)).items.find((b: { subject_id: string }) => b.subject_id === subjectId);

  t.test('a CSV of births and deaths: recorded as through the API, every bad row reported, a re-run changes nothing', async (t) => {
    const { summary, issues } = await importFile('events.csv', CSV);
    t.match(summary, { type: 'civil-events', read: 11, inserted: 2, updated: 0, unchanged: 0, rejected: 9, committed: true, bulk: false });
    t.match(
      issues.sort((a, b) => a.line - b.line),
      [
        { line: 4, column: 'identifier_value', reason: 'no individual with NIN N-NOBODY' },
        { line: 5, column: 'event_date', reason: /in the future/ },
        { line: 6, column: 'given_name', reason: 'given_name is required for a newborn not in the registry' },
        { line: 7, column: 'registration_number', reason: 'duplicate of line 2' },
        { line: 8, column: 'registration_date', reason: 'registration_date is before event_date' },
        { line: 9, column: 'event_type', reason: /not one of birth, death/ },
        { line: 10, column: 'identifier_type', reason: 'identifier_type is required with identifier_value' },
        { line: 11, column: 'place_code', reason: 'no location with code nowhere' },
        { line: 12, column: 'event_date', reason: /death_date/ },
      ],
    );
    t.equal(issues.length, 9);

    const jon = await get(`individuals/${idOf('Jon')}`);
    t.equal(jon.death_date, '2025-03-02');
    const reason = 'death registered (D-1) on 2025-03-02';
    t.match(await benefit(pension.id, idOf('Jon')), { status: 'SUSPENDED' });
    t.equal((await get(`programmes/${pension.id}/beneficiaries/${(await benefit(pension.id, idOf('Jon'))).id}`)).reason, reason, 'the registration is the reason');
    t.equal((await benefit(checked.id, idOf('Jon'))).status, 'ACTIVE', 'death_suspension needs an approval: waits');
    const tasks = (await get(`tasks?status=pending&programme_id=${checked.id}`)).items;
    t.match(tasks, [{ kind: 'death_suspension', change: { to: 'SUSPENDED', reason } }], 'through the workflow hook, as an API death');

    const [birth] = (await get('civil-events?registration_number=B-1')).items;
    const baby = await get(`individuals/${birth.subject_id}`);
    t.match(baby, { given_name: 'Baby', birth_date: '2025-05-01', location_id: north.id });
    t.match(birth, { event_type: 'birth', source: 'local', place_id: north.id, parties: [{ role: 'mother', individual_id: idOf('Maria') }] });
    const members = (await get(`groups/${household.id}`)).members;
    t.ok(members.some((m: { individual_id: string; role: string }) => m.individual_id === birth.subject_id && m.role === 'child'), 'the newborn joined the mother’s household');

    t.equal(await count('civil_events'), 2, 'refused rows left nothing behind');
    t.equal((await get(`individuals/${idOf('Maria')}`)).death_date, null, 'the death refused after it was written was rolled back');

    const audit = await count('audit_log');
    const again = await importFile('events.csv', CSV);
    t.match(again.summary, { inserted: 0, updated: 0, unchanged: 2, rejected: 9 }, 'a re-run records nothing twice');
    t.equal(await count('audit_log'), audit, 'and writes nothing');
    t.equal(await count('tasks'), 1);
    t.equal(await count('group_members', `individual_id = '${birth.subject_id}'`), 1);
  });

  t.test('NDJSON through the import API with a mapping: codes, date format, constants, another source', async (t) => {
    const ndjson = [
      { Kind: 'D', Number: 'CD-1', Date: '04/04/2025', NIN: 'N-ANN' },
      { Kind: 'B', Number: 'CB-1', Date: '01/06/2025', NIN: 'N-TOM', First: 'Tom', Last: 'Civil', Mother: 'N-MARIA', Join: true },
      { Kind: 'X', Number: 'CX-1', Date: '01/06/2025', NIN: 'N-ANN' },
    ].map((r) => JSON.stringify(r)).join('\n');
    const mapping = {
      columns: {
        Kind: { field: 'event_type', codes: { D: 'death', B: 'birth' } },
        Number: 'registration_number',
        Date: { field: 'event_date', format: 'DD/MM/YYYY' },
        NIN: 'identifier_value',
        First: 'given_name',
        Last: 'family_name',
        Mother: 'mother_identifier_value',
        Join: 'add_to_household',
      },
      constants: { identifier_type: 'NIN', mother_identifier_type: 'NIN', source: 'census-crvs' },
    };
    const url = `/api/v1/imports?type=civil-events&file_name=events.ndjson&mapping=${encodeURIComponent(JSON.stringify(mapping))}`;
    const writer = await hub.client(['registry:write']);
    expectProblem(t, await hub.request({ method: 'POST', url, payload: ndjson, headers: { 'content-type': 'application/x-ndjson' }, token: writer.token }), 403, 'civil events need crvs:write too');

    const res = await hub.request({ method: 'POST', url, payload: ndjson, headers: { 'content-type': 'application/x-ndjson' } });
    t.equal(res.statusCode, 202, res.body);
    let status = res.json();
    for (let i = 0; i < 1200 && !['succeeded', 'failed'].includes(status.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = await get(`imports/${status.id}`);
    }
    t.match(status, { status: 'succeeded', type: 'civil-events', rows_read: 3, inserted: 2, rejected: 1 });
    const report = await hub.request({ method: 'GET', url: `/api/v1/imports/${status.id}/errors` });
    t.match(report.body, /^line,column,reason\n3,Kind,"not in the code list \(B, D\): ""X"""\n/, 'the unknown code, on its line and column');

    t.equal((await get(`individuals/${idOf('Ann')}`)).death_date, '2025-04-04');
    const annBenefit = await benefit(pension.id, idOf('Ann'));
    t.equal((await get(`programmes/${pension.id}/beneficiaries/${annBenefit.id}`)).reason, 'death registered by census-crvs (CD-1) on 2025-04-04');
    const [tom] = (await get('civil-events?source=census-crvs&event_type=birth')).items;
    t.match(await get(`individuals/${tom.subject_id}`), { given_name: 'Tom', identifiers: [{ type: 'NIN', value: 'N-TOM' }] });
    t.ok((await get(`groups/${household.id}`)).members.some((m: { individual_id: string }) => m.individual_id === tom.subject_id));
  });

  t.test('a dry run checks every row and writes nothing', async (t) => {
    const { summary, issues } = await importFile('dry.csv', 'event_type,registration_number,event_date,identifier_type,identifier_value\ndeath,D-9,2025-01-01,NIN,N-MARIA\n', true);
    t.same(issues, []);
    t.match(summary, { inserted: 1, committed: false });
    t.equal((await get(`individuals/${idOf('Maria')}`)).death_date, null);
    t.equal(await count('civil_events', "registration_number = 'D-9'"), 0);
  });
});
