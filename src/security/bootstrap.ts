import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/client.js';
import { systemActor } from './actor.js';
import { createClient, hasAnyClient } from './clients.js';

export const BOOTSTRAP_CLIENT_ID = 'bootstrap-admin';

/**
 * On a hub with no clients at all, creates an `admin` client and writes its credentials to
 * `<dataDir>/bootstrap-client.json` (mode 0600). Answers the file's path when it created one.
 */
export async function ensureBootstrapClient(db: Db, dataDir: string, tokenUrl: string): Promise<string | undefined> {
  if (await hasAnyClient(db)) return undefined;
  let credentials;
  try {
    credentials = await createClient(db, systemActor('system:bootstrap'), {
      client_id: BOOTSTRAP_CLIENT_ID,
      name: 'Bootstrap administrator',
      scopes: ['admin'],
    });
  } catch (err) {
    // Another instance sharing the database created it first.
    if (await hasAnyClient(db)) return undefined;
    throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'bootstrap-client.json');
  const body = {
    client_id: credentials.client_id,
    client_secret: credentials.client_secret,
    scopes: credentials.client.scopes,
    token_url: tokenUrl,
  };
  fs.writeFileSync(file, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}
