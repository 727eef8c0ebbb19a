/**
 * Bulk import at registry scale on real PostgreSQL: generates a synthetic registry as CSV (`hub seed --csv`),
 * COPYs the same files raw into plain tables (the floor: no validation, no keys, no indexes), then imports them with
 * `runImport` (staging, merge, indexes, audit) and prints rows/s, the ratio to the raw COPY and the peak RSS of
 * this process; then the floor of any load of the individuals (a bare INSERT … SELECT of the raw rows, without and
 * with the registry's indexes) and the p50/p99 of typical searches on the imported registry. Uses a fresh database
 * it drops at the end.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:import
 *   BENCH_INDIVIDUALS (default 1000000), BENCH_SEARCHES (default 200 per kind)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { queryRows } from '../src/db/query-rows.js';
import { listGroups, type GroupFilters } from '../src/registry/groups.js';
import type { ImportType } from '../src/registry/import/fields.js';
import { runImport } from '../src/registry/import/run.js';
import { listIndividuals, type IndividualFilters } from '../src/registry/individuals.js';
import { FAMILY_NAMES, MALE_NAMES } from '../src/registry/seed/names.js';
import { systemActor } from '../src/security/actor.js';
import { prepareDatabase } from '../src/setup.js';

const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const individuals = Number(process.env.BENCH_INDIVIDUALS ?? 1_000_000);
const searches = Number(process.env.BENCH_SEARCHES ?? 200);
const say = (line: string) => process.stdout.write(`${line}\n`);
const root = fileURLToPath(new URL('..', import.meta.url));
const TYPES: ImportType[] = ['locations', 'households', 'individuals', 'members'];

/**
 * The peak RSS printed is this whole process's: files are only ever read here in small chunks, so that what it
 * shows is the importer's footprint (reading a 100 MB CSV into a string to count its lines would dwarf it).
 */
function newlines(file: string): number {
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.alloc(1 << 20);
  let count = 0;
  for (let read = fs.readSync(fd, buffer); read > 0; read = fs.readSync(fd, buffer)) {
    for (let i = 0; i < read; i++) if (buffer[i] === 10) count++;
  }
  fs.closeSync(fd);
  return count;
}

function firstLine(file: string): string {
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.alloc(4096);
  const read = fs.readSync(fd, buffer, 0, buffer.length, 0);
  fs.closeSync(fd);
  return buffer.subarray(0, read).toString('utf8').split('\n')[0]!;
}

const dbName = `hub_bench_import_${process.pid}`;
const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`CREATE DATABASE ${dbName}`);
const url = new URL(serverUrl);
url.pathname = `/${dbName}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-bench-import-'));

try {
  let started = Date.now();
  execFileSync(process.execPath, ['bin/hub.js', 'seed', '--individuals', String(individuals), '--csv', dir], { cwd: root, stdio: 'inherit' });
  say(`generated CSV in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const rows = Object.fromEntries(TYPES.map((t) => [t, newlines(path.join(dir, `${t}.csv`)) - 1]));

  // The floor: the same files COPYed as they are into plain tables of text columns.
  const raw = postgres(url.toString(), { max: 1, onnotice: () => {} });
  const rawByType: Partial<Record<ImportType, number>> = {};
  for (const type of TYPES) {
    const header = firstLine(path.join(dir, `${type}.csv`)).split(',');
    await raw.unsafe(`CREATE TABLE raw_${type} (${header.map((c) => `"${c}" text`).join(', ')})`);
    started = Date.now();
    const writable = await raw.unsafe(`COPY raw_${type} FROM STDIN WITH (FORMAT csv, HEADER true)`).writable();
    await pipeline(fs.createReadStream(path.join(dir, `${type}.csv`)), writable);
    const seconds = (Date.now() - started) / 1000;
    rawByType[type] = seconds;
    say(`raw COPY ${type}: ${rows[type]} rows in ${seconds.toFixed(1)} s`);
  }
  await raw.end();

  const database = await openDatabase({ url: url.toString() });
  await prepareDatabase(loadConfig({ HUB_DATA_DIR: dir }), database);
  let importSeconds = 0;
  let total = 0;
  for (const type of TYPES) {
    started = Date.now();
    const summary = await runImport(database, systemActor('system:bench'), { file: path.join(dir, `${type}.csv`), type, format: 'csv' });
    const seconds = (Date.now() - started) / 1000;
    importSeconds += seconds;
    total += summary.read;
    if (summary.rejected > 0) throw new Error(`${type}: ${summary.rejected} rows refused`);
    say(
      `import ${type}: ${summary.inserted} rows in ${seconds.toFixed(1)} s (${Math.round(summary.read / seconds)} rows/s, ${(seconds / rawByType[type]!).toFixed(1)}x its raw COPY)` +
        `${summary.bulk ? ', bulk load (search indexes rebuilt at the end)' : ''}, ${summary.flagged} duplicates flagged`,
    );
  }
  const peakMb = process.resourceUsage().maxRSS / 1024;
  const rawSeconds = Object.values(rawByType).reduce((sum, s) => sum + s, 0);
  say(`import total: ${total} rows in ${importSeconds.toFixed(1)} s (${Math.round(total / importSeconds)} rows/s); raw COPY ${rawSeconds.toFixed(1)} s; ratio ${(importSeconds / rawSeconds).toFixed(2)}x; peak RSS ${peakMb.toFixed(0)} MB`);

  // What any load of these people costs before checking anything: the raw rows typed and INSERTed into a copy of
  // the individuals table, bare, then with the registry's keys and indexes kept up row by row. The import builds
  // its search indexes once at the end, validates, de-duplicates and flags duplicates; this shows where the floor is.
  const bare = `INSERT INTO floor_individuals (given_name, family_name, sex, birth_date, location_id, phone, attributes)
    SELECT r.given_name, r.family_name, r.sex, r.birth_date::date, l.id, r.phone, r.attributes::jsonb
    FROM raw_individuals r LEFT JOIN locations l ON l.code = r.location_code`;
  for (const [what, like] of [['bare', 'INCLUDING DEFAULTS INCLUDING GENERATED'], ["with the registry's indexes", 'INCLUDING ALL']] as const) {
    await database.db.execute(sql.raw(`CREATE TABLE floor_individuals (LIKE individuals ${like})`));
    started = Date.now();
    await database.db.execute(sql.raw(bare));
    const seconds = (Date.now() - started) / 1000;
    say(`floor: INSERT … SELECT of the raw individuals, ${what}: ${seconds.toFixed(1)} s (${(seconds / rawByType.individuals!).toFixed(1)}x their raw COPY)`);
    await database.db.execute(sql.raw('DROP TABLE floor_individuals'));
  }

  await database.db.execute(sql`ANALYZE`);
  const actor = systemActor('system:bench');
  const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)]!;
  const nins = (await queryRows<{ value: string }>(database.db, sql`SELECT value FROM identifiers TABLESAMPLE SYSTEM (1) LIMIT 1000`)).map((r) => r.value);
  const communes = (await queryRows<{ id: string }>(database.db, sql`SELECT id FROM locations WHERE level = 2`)).map((r) => r.id);
  const collines = (await queryRows<{ id: string }>(database.db, sql`SELECT id FROM locations WHERE level = 3`)).map((r) => r.id);
  const households = (await queryRows<{ id: string }>(database.db, sql`SELECT id FROM groups TABLESAMPLE SYSTEM (1) LIMIT 1000`)).map((r) => r.id);
  const kinds: [string, () => Promise<unknown>][] = [
    ['identifier', () => listIndividuals(database.db, actor, { identifier_value: pick(nins) }, 50, undefined)],
    ['family + given name (accents)', () => listIndividuals(database.db, actor, { family_name: pick(FAMILY_NAMES), given_name: pick(MALE_NAMES) } as IndividualFilters, 50, undefined)],
    ['fuzzy name', () => listIndividuals(database.db, actor, { name: `${pick(MALE_NAMES)} ${pick(FAMILY_NAMES).slice(0, -1)}` }, 50, undefined)],
    ['colline + sex + age 18-60', () => listIndividuals(database.db, actor, { location_id: pick(collines), sex: 'female', age_min: 18, age_max: 60 }, 50, undefined)],
    ['commune subtree', () => listIndividuals(database.db, actor, { location_id: pick(communes) }, 50, undefined)],
    ['household members', () => listIndividuals(database.db, actor, { group_id: pick(households) }, 50, undefined)],
    ['households: commune + rooms>=3 + thatch', () => listGroups(database.db, actor, { location_id: pick(communes), attr: ['rooms:gte:3', 'roof_material:eq:thatch'] } as GroupFilters, 50, undefined)],
    ['disability (attribute eq) + count', () => listIndividuals(database.db, actor, { attr: ['disability:eq:true'], location_id: pick(collines) }, 50, undefined, true)],
  ];
  for (const [what, run] of kinds) {
    const times: number[] = [];
    for (let i = 0; i < searches; i++) {
      const t0 = process.hrtime.bigint();
      await run();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(1);
    say(`search ${what}: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms (${searches} runs)`);
  }
  await database.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
  await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
