import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { FastifyBaseLogger, FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import PgBoss from 'pg-boss';
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

/**
 * Every test database is a copy of one migrated database (migrating is the slow part): a PGlite snapshot kept on disk
 * and a template database on the TEST_DATABASE_URL server, both named by a digest of the migrations, so each is made
 * once and shared by every test process (and later runs) until a migration changes. They also hold pg-boss's schema,
 * which every hub would otherwise install at start.
 */
const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const MODULES_DIR = fileURLToPath(new URL('../../node_modules/', import.meta.url));
const STALE_AFTER_MS = 24 * 3600 * 1000;

function migrationsDigest(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else hash.update(entry.name).update(fs.readFileSync(file));
    }
  };
  walk(MIGRATIONS_DIR);
  for (const pkg of ['@electric-sql/pglite', 'pg-boss']) hash.update(fs.readFileSync(path.join(MODULES_DIR, pkg, 'package.json')));
  return hash.digest('hex').slice(0, 16);
}

async function migrate(database: Database): Promise<void> {
  await database.migrate();
  const boss = new PgBoss({ db: database, schema: 'pgboss', supervise: false, schedule: false });
  await boss.start();
  await boss.stop({ graceful: false, wait: true });
}

/** The fake partners, registries and gateways of the tests listen on http://127.0.0.1. */
export const TEST_OUTBOUND = { HUB_OUTBOUND_ALLOW_HTTP: 'true', HUB_OUTBOUND_ALLOW_HOSTS: '127.0.0.1' };

let migratedSnapshot: Promise<Blob> | undefined;
let migratedTemplate: Promise<string> | undefined;

function pgliteSnapshot(): Promise<Blob> {
  migratedSnapshot ??= (async () => {
    const dir = path.join(os.tmpdir(), 'hub-test-snapshots');
    const file = path.join(dir, `pglite-${migrationsDigest()}.tar`);
    if (fs.existsSync(file)) return new Blob([fs.readFileSync(file)]);
    const database = await openDatabase({ memory: true });
    try {
      await migrate(database);
      const snapshot = await database.snapshot!();
      fs.mkdirSync(dir, { recursive: true });
      for (const old of fs.readdirSync(dir)) {
        const oldFile = path.join(dir, old);
        if (Date.now() - fs.statSync(oldFile).mtimeMs > STALE_AFTER_MS) fs.rmSync(oldFile, { force: true });
      }
      // Written aside and renamed: a process reading it never sees half a file.
      const partial = `${file}.${process.pid}`;
      fs.writeFileSync(partial, Buffer.from(await snapshot.arrayBuffer()));
      fs.renameSync(partial, file);
      return snapshot;
    } finally {
      await database.close();
    }
  })();
  return migratedSnapshot;
}

export const withDatabaseName = (serverUrl: string, name: string) => {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
};

/**
 * The shared template database, made under an advisory lock by the first process that needs it: migrated under a
 * temporary name and renamed when done, so a killed run never leaves a half-migrated template behind.
 */
function postgresTemplate(serverUrl: string): Promise<string> {
  migratedTemplate ??= (async () => {
    const name = `hub_tpl_${migrationsDigest()}`;
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    try {
      await admin`SELECT pg_advisory_lock(hashtext('hub test template'))`;
      const [existing] = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
      if (existing) return name;
      const stale = await admin`SELECT datname FROM pg_database WHERE datname ~ '^hub_tpl_[0-9a-f]{16}$'
        AND coalesce(shobj_description(oid, 'pg_database'), '') < ${new Date(Date.now() - STALE_AFTER_MS).toISOString()}`;
      for (const { datname } of stale) await admin.unsafe(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
      const building = `${name}_${process.pid}`;
      await admin.unsafe(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
      await admin.unsafe(`CREATE DATABASE ${building}`);
      const database = await openDatabase({ url: withDatabaseName(serverUrl, building) });
      try {
        await migrate(database);
      } finally {
        await database.close();
      }
      await admin.unsafe(`ALTER DATABASE ${building} RENAME TO ${name}`);
      await admin.unsafe(`COMMENT ON DATABASE ${name} IS '${new Date().toISOString()}'`);
      return name;
    } finally {
      await admin`SELECT pg_advisory_unlock(hashtext('hub test template'))`.catch(() => {});
      await admin.end();
    }
  })();
  return migratedTemplate;
}

/** A new database on the TEST_DATABASE_URL server copied from the migrated template, dropped at teardown. */
async function templateCopy(t: Teardown, serverUrl: string): Promise<string> {
  const template = await postgresTemplate(serverUrl);
  const name = `hub_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  t.teardown(async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });
  return withDatabaseName(serverUrl, name);
}

/**
 * A fresh, migrated database per call: in-memory PGlite by default, or a new database on the server named by
 * TEST_DATABASE_URL (dropped at teardown).
 */
export async function freshDatabase(t: Teardown): Promise<Database> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  const database = serverUrl
    ? await openDatabase({ url: await templateCopy(t, serverUrl) })
    : await openDatabase({ memory: true, from: await pgliteSnapshot() });
  t.teardown(() => database.close());
  return database;
}

/**
 * Environment for a CLI child process on a fresh, migrated database: a new database on the TEST_DATABASE_URL server
 * (dropped at teardown), or an embedded one in a temporary HUB_DATA_DIR.
 */
export async function freshDatabaseEnv(t: Teardown): Promise<Record<string, string>> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) return { HUB_DATA_DIR: await migratedDataDir(t) };
  return { DATABASE_URL: await templateCopy(t, serverUrl), HUB_DATA_DIR: tempDir(t) };
}

/** A temporary HUB_DATA_DIR whose embedded database is already migrated (a copy of the snapshot). */
export async function migratedDataDir(t: Teardown): Promise<string> {
  const dataDir = tempDir(t);
  const client = new PGlite({ dataDir: path.join(dataDir, 'pglite'), loadDataDir: await pgliteSnapshot() });
  await client.close();
  return dataDir;
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
  // Request limits and the per-address lockout are off unless a test turns them on: every test calls from one address
  // and sends bursts no partner would (test/http/rate-limit.test.ts, test/security/lockout.test.ts).
  const config = loadConfig({ HUB_DATA_DIR: tempDir(t), HUB_RATE_LIMIT: '0', HUB_RATE_LIMIT_ADDRESS: '0', HUB_AUTH_FAILURES_ADDRESS: '0', ...TEST_OUTBOUND, ...env });
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
