import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { stringify, type Stringifier } from 'csv-stringify';
import { households, locationTree } from './generate.js';

/** Column order of the files `hub seed --csv` writes: the canonical columns `hub import` reads without a mapping. */
export const CSV_COLUMNS = {
  locations: ['code', 'name', 'kind', 'parent_code'],
  households: ['household_code', 'kind', 'location_code', 'attributes'],
  individuals: ['identifier_type', 'identifier_value', 'given_name', 'family_name', 'sex', 'birth_date', 'location_code', 'phone', 'attributes'],
  members: ['household_code', 'identifier_type', 'identifier_value', 'role'],
} as const;

export type CsvFile = keyof typeof CSV_COLUMNS;

interface CsvOut {
  rows: Stringifier;
  file: fs.WriteStream;
}

function open(dir: string, name: CsvFile): CsvOut {
  const rows = stringify({ header: true, columns: [...CSV_COLUMNS[name]] });
  const file = fs.createWriteStream(path.join(dir, `${name}.csv`));
  rows.pipe(file);
  return { rows, file };
}

/** Writes a row, waiting when the file stream is behind, so memory stays flat however many rows are written. */
async function write(out: CsvOut, row: unknown[]) {
  if (!out.rows.write(row)) await once(out.rows, 'drain');
}

/** Writes the same registry `seedDatabase` would load, as CSV files ready for `hub import`. */
export async function seedCsv(dir: string, options: { individuals: number; seed: number }) {
  fs.mkdirSync(dir, { recursive: true });
  const files = { locations: open(dir, 'locations'), households: open(dir, 'households'), individuals: open(dir, 'individuals'), members: open(dir, 'members') };
  const tree = locationTree(options.seed);
  for (const l of tree) await write(files.locations, [l.code, l.name, l.kind, l.parent_code ?? '']);
  let householdCount = 0;
  let individualCount = 0;
  for (const h of households({ ...options, locations: tree })) {
    householdCount++;
    await write(files.households, [h.code, 'household', h.location_code, JSON.stringify(h.attributes)]);
    for (const p of h.members) {
      individualCount++;
      await write(files.individuals, [p.identifier_type, p.identifier_value, p.given_name, p.family_name, p.sex, p.birth_date, p.location_code, p.phone ?? '', JSON.stringify(p.attributes)]);
      await write(files.members, [h.code, p.identifier_type, p.identifier_value, p.role]);
    }
  }
  await Promise.all(
    Object.values(files).map(async (out) => {
      out.rows.end();
      await finished(out.file);
    }),
  );
  return { locations: tree.length, households: householdCount, individuals: individualCount };
}
