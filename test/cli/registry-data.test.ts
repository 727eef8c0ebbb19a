import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import t from 'tap';
import { verifyAuditChain } from '../../src/audit/log.js';
import { openDatabase } from '../../src/db/client.js';
import { queryRows } from '../../src/db/query-rows.js';
import { freshDatabaseEnv, tempDir } from '../helpers/hub.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(DATABASE_URL|TEST_DATABASE_URL|PORT|HOST|HUB_.*|LOG_LEVEL|TAP.*|NODE_OPTIONS)$/.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

function hub(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/hub.js', ...args], { cwd: root, env: cleanEnv(env), timeout: 180_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** Counts in the CLI's database, opened from this process once the CLI has exited. */
async function counts(env: Record<string, string>) {
  const database = await openDatabase(env.DATABASE_URL ? { url: env.DATABASE_URL } : { dataDir: env.HUB_DATA_DIR! });
  try {
    const [row] = await queryRows<{ individuals: string; identifiers: string }>(
      database.db,
      sql`SELECT (SELECT count(*) FROM individuals) AS individuals, (SELECT count(*) FROM identifiers) AS identifiers`,
    );
    return { individuals: Number(row!.individuals), identifiers: Number(row!.identifiers), audit: await verifyAuditChain(database.db) };
  } finally {
    await database.close();
  }
}

t.test('seed --csv, then import each file: summary, exit codes, error report; kill -9 mid-import and re-run', async (t) => {
  const env = await freshDatabaseEnv(t);
  const dir = tempDir(t);
  const seeded = await hub(['seed', '--individuals', '6000', '--seed', '5', '--csv', dir], env);
  t.equal(seeded.code, 0, seeded.stderr);
  t.match(seeded.stdout, /wrote \d+ locations, \d+ households, 6000 individuals/);

  for (const type of ['locations', 'households']) {
    const res = await hub(['import', path.join(dir, `${type}.csv`), '--type', type, '--json'], env);
    t.equal(res.code, 0, res.stderr);
    t.match(JSON.parse(res.stdout), { type, rejected: 0, committed: true });
  }

  // A kill -9 after some batches have committed: whole batches are in, none half-written.
  const child = spawn(process.execPath, ['bin/hub.js', 'import', path.join(dir, 'individuals.csv'), '--type', 'individuals', '--batch-size', '200'], {
    cwd: root,
    env: cleanEnv(env),
  });
  let stderr = '';
  const killed = new Promise<string | null>((resolve) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if ((stderr.match(/rows\n/g) ?? []).length >= 3 && child.exitCode === null) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) => resolve(signal));
  });
  t.equal(await killed, 'SIGKILL', `the import was killed mid-way (${stderr.trim().split('\n').at(-1)})`);
  const partial = await counts(env);
  t.ok(partial.individuals >= 600 && partial.individuals < 6000, `some batches committed (${partial.individuals})`);
  t.equal(partial.individuals % 200, 0, 'only whole batches');
  t.equal(partial.identifiers, partial.individuals, 'every committed person has their identifier');
  t.equal(partial.audit.ok, true, 'the audit chain is intact');

  const rerun = await hub(['import', path.join(dir, 'individuals.csv'), '--type', 'individuals', '--json'], env);
  t.equal(rerun.code, 0, rerun.stderr);
  t.match(JSON.parse(rerun.stdout), { read: 6000, inserted: 6000 - partial.individuals, unchanged: partial.individuals, rejected: 0 });
  const after = await counts(env);
  t.match(after, { individuals: 6000, identifiers: 6000, audit: { ok: true } });

  const members = await hub(['import', path.join(dir, 'members.csv'), '--type', 'members'], env);
  t.equal(members.code, 0, members.stderr);
  t.match(members.stdout, /^members from members\.csv: 6000 rows read, 6000 inserted, 0 updated, 0 unchanged, 0 rejected, 0 duplicates flagged, 1 batches \(bulk load: search indexes rebuilt\); /);

  const bad = path.join(dir, 'bad.csv');
  fs.writeFileSync(bad, 'identifier_type,identifier_value,given_name,family_name,birth_date\nNIN,X-1,A,B,1990-13-01\nNIN,X-2,C,D,1990-12-01\n');
  const report = path.join(dir, 'errors.csv');
  const partly = await hub(['import', bad, '--type', 'individuals', '--errors', report], env);
  t.equal(partly.code, 1, 'exit 1 when rows were refused');
  t.match(partly.stderr, /^line 2, birth_date: not a date \(YYYY-MM-DD\): "1990-13-01"$/m);
  t.match(partly.stdout, /1 inserted, 0 updated, 0 unchanged, 1 rejected/);
  t.equal(fs.readFileSync(report, 'utf8'), 'line,column,reason\n2,birth_date,"not a date (YYYY-MM-DD): ""1990-13-01"""\n');

  const usage = await hub(['import', bad], env);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /--type: one of locations, individuals, households, members/);
  const mapping = path.join(dir, 'mapping.json');
  fs.writeFileSync(mapping, JSON.stringify({ columns: { x: 'nickname' } }));
  const badMapping = await hub(['import', bad, '--type', 'individuals', '--mapping', mapping], env);
  t.equal(badMapping.code, 2);
  t.match(badMapping.stderr, /^mapping: column "x": unknown field "nickname"/);
});

t.test('seed into the database, and refusal of a second seed', async (t) => {
  const env = await freshDatabaseEnv(t);
  const res = await hub(['seed', '--individuals', '800', '--seed', '9'], env);
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /^seeded \d+ locations, \d+ households, 800 individuals in 1 batches/);
  t.match(await counts(env), { individuals: 800, identifiers: 800, audit: { ok: true } });
  const again = await hub(['seed', '--individuals', '10'], env);
  t.equal(again.code, 2);
  t.match(again.stderr, /refused: seed fills an empty registry/);
  const usage = await hub(['seed', '--individuals', 'many'], env);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /--individuals: expected a whole number/);
});
