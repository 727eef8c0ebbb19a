import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { rebuildSearchIndexes } from './registry/import/search-indexes.js';
import { ensureBootstrapClient } from './security/bootstrap.js';
import { KeyStore, keyStoreOptions } from './security/keys.js';
import { TOKEN_PATH } from './http/oauth.js';

/**
 * Brings a database to a servable state: migrations, search indexes a killed bulk import left dropped, the hub
 * signing key, and (on a hub with no clients) the bootstrap admin client. Safe to run on every start and from several instances at once.
 */
export async function prepareDatabase(config: Config, database: Database): Promise<{ bootstrapFile?: string }> {
  await database.migrate();
  await rebuildSearchIndexes(database);
  await new KeyStore(database.db, keyStoreOptions(config)).initialise();
  const bootstrapFile = await ensureBootstrapClient(database.db, config.dataDir, `${config.publicUrl}${TOKEN_PATH}`);
  return bootstrapFile ? { bootstrapFile } : {};
}
