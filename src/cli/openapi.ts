import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { print } from './database.js';

/** The OpenAPI document depends only on the route schemas, so an empty in-memory database is enough to build it. */
export async function openApiDocument(): Promise<unknown> {
  const database = await openDatabase({ memory: true });
  try {
    const app = await buildApp({ config: loadConfig({}), database, workers: false });
    await app.ready();
    const document = app.swagger();
    await app.close();
    return document;
  } finally {
    await database.close();
  }
}

export async function printOpenApi() {
  print(JSON.stringify(await openApiDocument(), null, 2));
}
