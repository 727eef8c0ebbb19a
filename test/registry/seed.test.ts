import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import t from 'tap';
import { verifyAuditChain } from '../../src/audit/log.js';
import { queryRows } from '../../src/db/query-rows.js';
import { seedCsv } from '../../src/registry/seed/csv.js';
import { seedDatabase } from '../../src/registry/seed/load.js';
import { systemActor } from '../../src/security/actor.js';
import { testHub, tempDir } from '../helpers/hub.js';

const hub = await testHub(t);
const actor = systemActor('system:seed');
const count = async (table: string) =>
  Number((await queryRows<{ n: string }>(hub.database.db, sql.raw(`SELECT count(*) AS n FROM ${table}`)))[0]!.n);

t.test('seeding the database: exact counts, one head per household, one audit entry per batch', async (t) => {
  const auditBefore = await count('audit_log');
  const summary = await seedDatabase(hub.database, actor, { individuals: 1234, seed: 42, batchSize: 100 });
  t.equal(summary.individuals, 1234);
  t.equal(await count('individuals'), 1234);
  t.equal(await count('identifiers'), 1234, 'every person has one identifier');
  t.equal(await count('group_members'), 1234, 'every person belongs to one household');
  t.equal(await count('groups'), summary.households);
  t.ok(summary.households > 1234 / 10 && summary.households < 1234 / 2, `households of 1–10 (mean ${(1234 / summary.households).toFixed(1)})`);
  t.equal(summary.batches, Math.ceil(summary.households / 100));
  t.equal(await count('audit_log'), auditBefore + 1 + summary.batches, 'one audit entry for the locations and one per batch');
  t.match(await verifyAuditChain(hub.database.db), { ok: true, checked: auditBefore + 1 + summary.batches, head: { seq: Number } });

  const [shape] = await queryRows<{ headless: string; sizes: string; bad_sizes: string }>(
    hub.database.db,
    sql`SELECT
          (SELECT count(*) FROM groups g WHERE NOT EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.role = 'head')) AS headless,
          (SELECT count(DISTINCT n) FROM (SELECT count(*) n FROM group_members GROUP BY group_id) s) AS sizes,
          (SELECT count(*) FROM (SELECT count(*) n FROM group_members GROUP BY group_id) s WHERE n > 10) AS bad_sizes`,
  );
  t.equal(Number(shape!.headless), 0, 'every household has a head');
  t.equal(Number(shape!.bad_sizes), 0, 'no household over 10 people');
  t.ok(Number(shape!.sizes) >= 8, 'household sizes vary');

  const [levels] = await queryRows<{ provinces: string; collines: string; misplaced: string }>(
    hub.database.db,
    sql`SELECT count(*) FILTER (WHERE kind = 'province') AS provinces, count(*) FILTER (WHERE kind = 'colline' AND level = 3) AS collines,
               (SELECT count(*) FROM individuals i JOIN locations l ON l.id = i.location_id WHERE l.kind <> 'colline') AS misplaced
        FROM locations`,
  );
  t.equal(Number(levels!.provinces), 18, 'the 18 provinces');
  t.ok(Number(levels!.collines) > 1000, 'collines at level 3');
  t.equal(Number(levels!.misplaced), 0, 'people live on collines');

  // The seeded records are ordinary registry records: the API reads them, subtree filters find them.
  const page = await hub.request({ method: 'GET', url: '/api/v1/groups?limit=1' });
  t.equal(page.statusCode, 200, page.body);
  const household = page.json().items[0];
  t.ok(household.members.length >= 1);
  t.match(household.attributes, { rooms: Number, roof_material: String, water_source: String, assets: Array });
  const [adults] = await queryRows<{ bad: string }>(
    hub.database.db,
    sql`SELECT count(*) AS bad FROM individuals i JOIN identifiers d ON d.individual_id = i.id
        WHERE (d.type = 'NIN') <> (i.birth_date <= '2009-12-31')`,
  );
  t.equal(Number(adults!.bad), 0, 'people of 16 and over carry a NIN, younger ones a birth registration number');
});

t.test('a second seed into a non-empty registry is refused', async (t) => {
  await t.rejects(seedDatabase(hub.database, actor, { individuals: 10, seed: 42 }), /empty registry/);
});

t.test('CSV output is deterministic by seed and matches the database load', async (t) => {
  const a = tempDir(t);
  const b = tempDir(t);
  const c = tempDir(t);
  await seedCsv(a, { individuals: 500, seed: 7 });
  await seedCsv(b, { individuals: 500, seed: 7 });
  await seedCsv(c, { individuals: 500, seed: 8 });
  for (const file of ['locations.csv', 'households.csv', 'individuals.csv', 'members.csv']) {
    t.equal(fs.readFileSync(path.join(a, file), 'utf8'), fs.readFileSync(path.join(b, file), 'utf8'), `${file}: same seed, same file`);
  }
  t.not(fs.readFileSync(path.join(a, 'individuals.csv'), 'utf8'), fs.readFileSync(path.join(c, 'individuals.csv'), 'utf8'), 'another seed, other people');
  const lines = fs.readFileSync(path.join(a, 'individuals.csv'), 'utf8').trim().split('\n');
  t.equal(lines.length, 501, 'header and 500 people');
  t.equal(lines[0], 'identifier_type,identifier_value,given_name,family_name,sex,birth_date,location_code,phone,attributes');
  t.equal(fs.readFileSync(path.join(a, 'members.csv'), 'utf8').trim().split('\n').length, 501);
});
