/**
 * Programmes at registry scale on real PostgreSQL: seeds BENCH_INDIVIDUALS people (default 1,000,000, about
 * 190,000 households) with the `hub seed` machinery, then times a proxy-means-test eligibility preview, enrolment of
 * BENCH_BENEFICIARIES households (default 120,000) and the generation of one payment cycle for them, each against a
 * baseline measured in the same run on the same rows: a plain count over the households and their memberships for
 * the preview, and a raw INSERT … SELECT of as many rows into a bare table with a key for enrolment and the cycle.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:programmes
 */
import { sql } from 'drizzle-orm';
import { SandboxGateway } from '../src/adapters/payment/sandbox.js';
import { queryRows } from '../src/db/query-rows.js';
import { defineAttribute } from '../src/programmes/attributes.js';
import { enrol } from '../src/programmes/beneficiaries.js';
import { previewEligibility } from '../src/programmes/eligibility.js';
import { createProgramme } from '../src/programmes/programmes.js';
import { approveCycle, generateCycle } from '../src/payments/cycles.js';
import { createPlan } from '../src/payments/plans.js';
import { reconcileFromGateway } from '../src/payments/reconciliation.js';
import { sendCycle } from '../src/payments/sending.js';
import { seedDatabase } from '../src/registry/seed/load.js';
import { systemActor } from '../src/security/actor.js';
import { benchHub, say, settings, settle } from './support.js';

const beneficiaries = Number(process.env.BENCH_BENEFICIARIES ?? 120_000);
const TARGET_SECONDS = 5;
const AS_OF = '2026-01-01';

const bench = await benchHub(`hub_bench_programmes_${process.pid}`);
const { database, raw } = bench;
const db = database.db;
const maker = systemActor('system:bench-maker');
const checker = systemActor('system:bench-checker');
const provider = new SandboxGateway('sandbox', { failureRate: 0.02, seed: 1, settle: 'deferred', batchSize: 5000 });
const gateways = new Map([['sandbox', provider]]);

async function timed<T>(run: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await run();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, value };
}

const rows: string[][] = [];
function report(step: string, seconds: number, baseline: number, detail: string) {
  rows.push([step, seconds.toFixed(2), baseline.toFixed(2), (seconds / baseline).toFixed(1), seconds < TARGET_SECONDS ? 'yes' : 'NO', detail]);
  say(`${step}: ${seconds.toFixed(2)} s (baseline ${baseline.toFixed(2)} s, ratio ${(seconds / baseline).toFixed(1)}x) ${detail}`);
}

/** The floor for writing n rows: a raw INSERT … SELECT into a bare table with a uuid key and a unique text column. */
async function rawInsert(n: number): Promise<number> {
  await raw`DROP TABLE IF EXISTS bench_rows`;
  await raw`CREATE TABLE bench_rows (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), subject_id uuid NOT NULL, amount numeric NOT NULL, reference text UNIQUE)`;
  const { seconds } = await timed(
    () => raw`INSERT INTO bench_rows (subject_id, amount, reference) SELECT id, 1000, md5(id::text) FROM groups LIMIT ${n}`,
  );
  await raw`DROP TABLE bench_rows`;
  return seconds;
}

try {
  const seeded = Date.now();
  const summary = await seedDatabase(database, systemActor('system:seed'), { individuals: settings.individuals, seed: 1 });
  await settle(raw, seeded, `${summary.individuals} individuals in ${summary.households} households`);

  for (const [subject, name, type] of [
    ['group', 'rooms', 'number'],
    ['group', 'land_hectares', 'number'],
    ['group', 'electricity', 'boolean'],
    ['individual', 'disability', 'boolean'],
  ] as const) {
    await defineAttribute(db, maker, { subject, name, type });
  }
  const programme = await createProgramme(db, maker, {
    code: 'BENCH-CASH',
    subject: 'group',
    status: 'active',
    currency: 'BIF',
    quota: beneficiaries,
    eligibility: 'count_members(age < 18) > 0 or count_members(disability) > 0 or rooms <= 2',
    score: 'rooms * 2 + land_hectares * 3 + if(electricity, 5, 0) - count_members(age < 5) - count_members(disability) * 2',
  });

  const scanBaseline = await timed(() =>
    queryRows(db, sql`SELECT count(*) FROM groups s JOIN group_members m ON m.group_id = s.id AND m.end_date IS NULL JOIN individuals i ON i.id = m.individual_id WHERE s.deleted_at IS NULL`),
  );
  const preview = await timed(() => previewEligibility(db, maker, programme.id, { as_of: AS_OF, by_level: 2, sample: 10 }));
  report('PMT preview', preview.seconds, scanBaseline.seconds, `(${preview.value.considered} households considered, ${preview.value.eligible} eligible)`);

  // The plan exists before enrolment, as in a real programme; enrolment itself is timed without a budget.
  const plan = await createPlan(db, maker, gateways, programme.id, {
    name: 'Monthly cash',
    amount: 'base + 5000 * min(count_members(), 6)',
    parameters: { base: 10000 },
    frequency: 'monthly',
    start_date: AS_OF,
    end_date: '2026-12-31',
    gateway: 'sandbox',
  });
  const enrolBaseline = await rawInsert(beneficiaries);
  const enrolment = await timed(() => enrol(db, maker, programme.id, { as_of: AS_OF, activate: true }));
  report('enrolment', enrolment.seconds, enrolBaseline, `(${enrolment.value.enrolled} households enrolled ACTIVE)`);
  await raw`VACUUM (ANALYZE) beneficiaries`;

  const cycleBaseline = await rawInsert(enrolment.value.enrolled);
  const cycle = await timed(() => generateCycle(db, maker, plan.id, AS_OF));
  report('cycle generation', cycle.seconds, cycleBaseline, `(${cycle.value.cycle.payment_count} payments, total ${cycle.value.cycle.total_amount} BIF)`);
  const regenerate = await timed(() => generateCycle(db, maker, plan.id, AS_OF));
  report('cycle generated again', regenerate.seconds, cycleBaseline, `(added ${regenerate.value.added}, updated ${regenerate.value.updated}, removed ${regenerate.value.removed})`);

  await approveCycle(db, checker, cycle.value.cycle.id);
  const sent = await timed(() => sendCycle(db, maker, gateways, cycle.value.cycle.id));
  say(`send through the sandbox: ${sent.seconds.toFixed(2)} s, ${sent.value.batches} batches, ${sent.value.accepted} accepted`);
  const settled = await timed(() => reconcileFromGateway(db, maker, gateways, cycle.value.cycle.id));
  say(`status check + reconciliation: ${settled.seconds.toFixed(2)} s, ${settled.value.paid} paid, ${settled.value.failed} failed, ${settled.value.mismatch_count} mismatches`);

  say(`\n${'step'.padEnd(24)} ${'seconds'.padStart(8)} ${'baseline'.padStart(9)} ${'ratio'.padStart(6)}  < ${TARGET_SECONDS} s`);
  for (const [step, seconds, baseline, ratio, ok] of rows) {
    say(`${step!.padEnd(24)} ${seconds!.padStart(8)} ${baseline!.padStart(9)} ${ratio!.padStart(6)}  ${ok}`);
  }
} finally {
  await bench.close();
}
