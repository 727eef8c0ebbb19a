import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import postgres from 'postgres';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import type { GatewayRegistry } from '../../src/payments/gateway.js';
import { prepareDatabase } from '../../src/setup.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestHub {
  app: FastifyInstance;
  database: Database;
  config: Config;
  /** Bearer token of the bootstrap admin client. */
  adminToken: string;
  /** app.inject with a bearer token (admin by default). */
  request(options: InjectOptions & { token?: string | null }): Promise<LightMyRequestResponse>;
  /** Client credentials grant (client_secret_post) answered by the real token endpoint. */
  token(clientId: string, clientSecret: string, scope?: string): Promise<string>;
  /** Registers a client through the admin API and answers its id, secret and a token. */
  client(scopes: string[], extra?: Record<string, unknown>): Promise<{ clientId: string; secret: string; token: string }>;
}

/** A migrated database made once per test process, copied for each test database (migrating is the slow part). */
let migratedSnapshot: Promise<Blob> | undefined;
let migratedTemplate: Promise<string> | undefined;

function pgliteSnapshot(): Promise<Blob> {
  migratedSnapshot ??= (async () => {
    const database = await openDatabase({ memory: true });
    try {
      await database.migrate();
      return await database.snapshot!();
    } finally {
      await database.close();
    }
  })();
  return migratedSnapshot;
}

/** A migrated template database on the TEST_DATABASE_URL server, named by this process, dropped when it exits. */
function postgresTemplate(admin: postgres.Sql, serverUrl: string): Promise<string> {
  migratedTemplate ??= (async () => {
    const name = `hub_tpl_${process.pid}_${randomBytes(3).toString('hex')}`;
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const database = await openDatabase({ url: url.toString() });
    try {
      await database.migrate();
    } finally {
      await database.close();
    }
    process.once('beforeExit', () => {
      const cleanup = postgres(serverUrl, { max: 1, onnotice: () => {} });
      void cleanup.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => cleanup.end());
    });
    return name;
  })();
  return migratedTemplate;
}

/**
 * A fresh, migrated database per call: in-memory PGlite by default, or a new database on the server named by
 * TEST_DATABASE_URL (dropped at teardown). Both are copies of one migrated database per test process.
 */
export async function freshDatabase(t: Teardown): Promise<Database> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const database = await openDatabase({ memory: true, from: await pgliteSnapshot() });
    t.teardown(() => database.close());
    return database;
  }
  const name = `hub_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  const template = await postgresTemplate(admin, serverUrl);
  await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString() });
  t.teardown(async () => {
    await database.close();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });
  return database;
}

/**
 * Environment for a CLI child process on a fresh database: a new database on the TEST_DATABASE_URL server
 * (dropped at teardown), or an embedded one in a temporary HUB_DATA_DIR.
 */
export async function freshDatabaseEnv(t: Teardown): Promise<Record<string, string>> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) return { HUB_DATA_DIR: tempDir(t) };
  const name = `hub_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  t.teardown(async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { DATABASE_URL: url.toString(), HUB_DATA_DIR: tempDir(t) };
}

export function tempDir(t: Teardown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function testHub(
  t: Teardown,
  env: Record<string, string> = {},
  options: { workers?: boolean; gateways?: GatewayRegistry; logger?: FastifyBaseLogger } = {},
): Promise<TestHub> {
  const database = await freshDatabase(t);
  const config = loadConfig({ HUB_DATA_DIR: tempDir(t), ...env });
  const { bootstrapFile } = await prepareDatabase(config, database);
  const bootstrap = JSON.parse(fs.readFileSync(bootstrapFile!, 'utf8')) as { client_id: string; client_secret: string };
  const app = await buildApp({ config, database, ...options });
  t.teardown(() => app.close());

  const token = async (clientId: string, clientSecret: string, scope?: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/oauth2/client/token',
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
        ...(scope ? { scope } : {}),
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    if (res.statusCode !== 200) throw new Error(`token request failed: ${res.statusCode} ${res.body}`);
    return res.json().access_token as string;
  };
  const adminToken = await token(bootstrap.client_id, bootstrap.client_secret);

  const request: TestHub['request'] = ({ token: bearer = adminToken, headers, ...options }) =>
    app.inject({ ...options, headers: { ...headers, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) } });

  const client: TestHub['client'] = async (scopes, extra = {}) => {
    const res = await request({ method: 'POST', url: '/api/v1/clients', payload: { name: 'test client', scopes, ...extra } });
    if (res.statusCode !== 201) throw new Error(`client creation failed: ${res.statusCode} ${res.body}`);
    const { client_id, client_secret } = res.json();
    return { clientId: client_id, secret: client_secret, token: await token(client_id, client_secret) };
  };

  return { app, database, config, adminToken, request, token, client };
}
