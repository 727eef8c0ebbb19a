import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { fuzzystrmatch } from '@electric-sql/pglite/contrib/fuzzystrmatch';
import { ltree } from '@electric-sql/pglite/contrib/ltree';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { unaccent } from '@electric-sql/pglite/contrib/unaccent';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema/index.js';
import { acquireDirectoryLock } from './lock.js';
import { asPgValue } from './pg-value.js';
import { boundedClient } from './statement-limits.js';

export type Schema = typeof schema;
/** One Drizzle type over both drivers; a transaction is also a Db. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

/** A transaction that can also stream rows in with COPY (bulk loads: seed, import). */
export interface BulkTransaction {
  db: Db;
  /** Runs `COPY table (cols) FROM STDIN` (text format) with the given lines as its data. */
  copyIn(table: string, columns: readonly string[], lines: readonly string[]): Promise<void>;
}

/** Plain SQL with $1… placeholders, for libraries that bring their own SQL (pg-boss); several statements when no values. */
export interface SqlExecutor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface Database extends SqlExecutor {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** One transaction on one connection, with COPY; both drivers have their own COPY path, hidden here. */
  bulk<T>(run: (tx: BulkTransaction) => Promise<T>): Promise<T>;
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /** The whole embedded database as a tarball, to open copies of it (`{ memory: true, from }`); PGlite only. */
  snapshot?(): Promise<Blob>;
}

const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));
/** Serialises migrations when several hub instances start against one PostgreSQL at once. */
const MIGRATION_LOCK = 7_244_001;

/** Table and column names come from our code, never from input; quoting keeps reserved words safe. */
const copyStatement = (table: string, columns: readonly string[], source: string) =>
  `COPY "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) FROM ${source}`;

/** One CopyData message per line costs a syscall each; about 1 MB per write keeps COPY at network speed. */
function* chunked(lines: readonly string[]): Generator<string> {
  let chunk = '';
  for (const line of lines) {
    chunk += line;
    if (chunk.length >= 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

export type DatabaseTarget = { url: string } | { dataDir: string } | { memory: true; from?: Blob };

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if ('url' in target) return openPostgres(target.url);
  return 'dataDir' in target ? openPglite(target.dataDir) : openPglite(undefined, target.from);
}

async function openPglite(dataDir: string | undefined, from?: Blob): Promise<Database> {
  let releaseLock = () => {};
  let dir: string | undefined;
  if (dataDir !== undefined) {
    dir = path.join(dataDir, 'pglite');
    fs.mkdirSync(dir, { recursive: true });
    releaseLock = acquireDirectoryLock(dir);
  }
  const client = new PGlite({ dataDir: dir, extensions: { ltree, pg_trgm, unaccent, fuzzystrmatch }, ...(from ? { loadDataDir: from } : {}) });
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    // PGlite has no STDIN: COPY reads the data from a Blob attached to the query as /dev/blob.
    bulk: (run) =>
      client.transaction((ptx) =>
        run({
          db: drizzlePglite(ptx as unknown as PGlite, { schema }) as unknown as Db,
          copyIn: async (table, columns, lines) => {
            if (lines.length === 0) return;
            await ptx.query(copyStatement(table, columns, "'/dev/blob'"), [], { blob: new Blob(lines as string[]) });
          },
        }),
      ),
    executeSql: async (text, values = []) => {
      if (values.length > 0) return { rows: (await client.query(text, values)).rows };
      const results = await client.exec(text);
      return { rows: results[results.length - 1]?.rows ?? [] };
    },
    migrate: () => migratePglite(drizzlePglite(client), { migrationsFolder }),
    ping: async () => {
      await client.query('SELECT 1');
    },
    snapshot: async () => client.dumpDataDir('none'),
    close: async () => {
      await client.close();
      releaseLock();
    },
  };
}

async function openPostgres(url: string): Promise<Database> {
  // JIT compiling a statement with a compiled formula (many expressions) costs about a second,
  // more than running it: eligibility previews, enrolment and cycle generation run faster without it.
  // client_connection_check_interval (PostgreSQL 14+): a backend whose client died (a hub killed mid-query) stops
  // its statement within seconds instead of running it to the end.
  const client = postgres(url, { max: 10, onnotice: () => {}, connection: { jit: 'off', client_connection_check_interval: '2s' } });
  // Bulk loads (imports, seeds) take as long as they take: their transactions run outside the statement limits.
  const begin = client.begin.bind(client);
  // Drizzle runs its (unnamed) queries unprepared, so PostgreSQL would parse and plan each one on every call;
  // our query texts are parameterised and few, so one prepared statement per text on each connection.
  const db = drizzlePostgres(boundedClient(client, true), { schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    bulk: (run) =>
      begin((ptx) =>
        run({
          // Drizzle reads the driver's type options from the client; a transaction handle does not carry them.
          db: drizzlePostgres(Object.assign(ptx, { options: client.options }) as unknown as postgres.Sql, { schema }) as unknown as Db,
          copyIn: async (table, columns, lines) => {
            if (lines.length === 0) return;
            const writable = await ptx.unsafe(copyStatement(table, columns, 'STDIN')).writable();
            await pipeline(Readable.from(chunked(lines)), writable);
          },
        }),
      ) as Promise<never>,
    executeSql: async (text, values = []) => {
      if (values.length > 0) return { rows: [...(await client.unsafe(text, values.map(asPgValue) as never[]))] };
      // Scripts without values may hold their own BEGIN/COMMIT, which postgres.js allows only on a reserved connection.
      const connection = await client.reserve();
      try {
        return { rows: [...(await connection.unsafe(text))] };
      } finally {
        connection.release();
      }
    },
    migrate: async () => {
      const single = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await single`SELECT pg_advisory_lock(${MIGRATION_LOCK})`;
        await migratePostgres(drizzlePostgres(single), { migrationsFolder });
        await single`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`;
      } finally {
        await single.end();
      }
    },
    ping: async () => {
      await db.execute(sql`SELECT 1`);
    },
    close: () => client.end({ timeout: 5 }),
  };
}
