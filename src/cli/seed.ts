import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { seedCsv } from '../registry/seed/csv.js';
import { seedDatabase } from '../registry/seed/load.js';
import { systemActor } from '../security/actor.js';
import { prepareDatabase } from '../setup.js';
import { UsageError } from './usage-error.js';
import { print, withDatabase } from './database.js';
import { Progress } from './progress.js';

const USAGE = 'usage: hub seed --individuals N [--seed S] [--csv DIR]';

function positiveInteger(name: string, text: string | undefined, fallback?: number): number {
  if (text === undefined && fallback !== undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0 || (name === '--individuals' && value < 1)) {
    throw new UsageError(`${name}: expected a whole number, got ${text ?? 'nothing'}\n${USAGE}`);
  }
  return value;
}

/** `hub seed --individuals N [--seed S] [--csv DIR]`: a synthetic registry into the database, or as CSV files. */
export async function seedCommand(config: Config, args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { individuals: { type: 'string' }, seed: { type: 'string' }, csv: { type: 'string' } }, strict: true }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  const individuals = positiveInteger('--individuals', values.individuals);
  const seed = positiveInteger('--seed', values.seed, 1);
  const started = Date.now();
  if (values.csv) {
    const written = await seedCsv(values.csv, { individuals, seed });
    print(`wrote ${written.locations} locations, ${written.households} households, ${written.individuals} individuals to ${values.csv} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return;
  }
  const summary = await withDatabase(config, async (database) => {
    await prepareDatabase(config, database);
    const progress = new Progress('seed', individuals);
    try {
      return await seedDatabase(database, systemActor('system:seed'), { individuals, seed, onProgress: (p) => progress.update(p.individuals) });
    } finally {
      progress.done();
    }
  });
  print(`seeded ${summary.locations} locations, ${summary.households} households, ${summary.individuals} individuals in ${summary.batches} batches, ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
