import type { Config } from '../config.js';
import { openDatabase, type Database } from '../db/client.js';

export const openConfiguredDatabase = (config: Config): Promise<Database> =>
  openDatabase(config.databaseUrl ? { url: config.databaseUrl } : { dataDir: config.dataDir });

/** Opens the configured database for one CLI command and always closes it. */
export async function withDatabase<T>(config: Config, run: (database: Database) => Promise<T>): Promise<T> {
  const database = await openConfiguredDatabase(config);
  try {
    return await run(database);
  } finally {
    await database.close();
  }
}

export const print = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
