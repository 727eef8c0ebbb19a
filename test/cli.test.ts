import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import t from 'tap';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { migratedDataDir, tempDir } from './helpers/hub.js';
import { clientKey, tokenRequest } from './helpers/oauth.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a clean shell: none of this process's database or hub settings leak into the child. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(DATABASE_URL|TEST_DATABASE_URL|PORT|HOST|HUB_.*|LOG_LEVEL|TAP.*|NODE_OPTIONS)$/.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

/** Runs `node bin/hub.js …` and answers its exit code and output, whatever the exit code. */
function hub(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['bin/hub.js', ...args],
      { cwd: root, env: cleanEnv(env), timeout: 180_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(err); // killed by the timeout, or could not start
        else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

/** Opens the CLI's embedded database in this process (the CLI must have exited: PGlite is single-process). */
async function withDataDir<T>(dataDir: string, run: (database: Database) => Promise<T>): Promise<T> {
  const database = await openDatabase({ dataDir });
  try {
    return await run(database);
  } finally {
    await database.close();
  }
}

t.test('clients create on an embedded database, then audit verify', async (t) => {
  const dataDir = tempDir(t);
  const created = await hub(['clients', 'create', '--name', 'X', '--scopes', 'registry:read', '--json'], { HUB_DATA_DIR: dataDir });
  t.equal(created.code, 0, created.stderr);
  const body = JSON.parse(created.stdout);
  t.match(body.client_id, /^[0-9a-f-]{36}$/);
  t.match(body.client_secret, /^[A-Za-z0-9_-]{43}$/);
  t.same(body.scopes, ['registry:read']);
  t.equal(body.location_id, null);
  t.equal(fs.statSync(path.join(dataDir, 'bootstrap-client.json')).mode & 0o777, 0o600, 'the first run also made the bootstrap admin');
  t.notOk(fs.existsSync(path.join(dataDir, 'pglite', 'hub.lock')), 'the database lock is released on exit');

  const verified = await hub(['audit', 'verify'], { HUB_DATA_DIR: dataDir });
  t.equal(verified.code, 0, verified.stderr);
  t.match(JSON.parse(verified.stdout), { ok: true, checked: 2, head: { seq: Number, hash: /^[0-9a-f]{64}$/ } }, 'bootstrap client and this client');

  await withDataDir(dataDir, async (database) => {
    const app = await buildApp({ config: loadConfig({ HUB_DATA_DIR: dataDir }), database });
    try {
      const res = await tokenRequest({ app }, { grant_type: 'client_credentials', client_id: body.client_id, client_secret: body.client_secret });
      t.equal(res.statusCode, 200, 'the printed secret works at the token endpoint');
      t.equal(res.json().scope, 'registry:read');
    } finally {
      await app.close();
    }
  });
});

t.test('clients create: chosen id, comma-separated scopes, JWKS file, human-readable output', async (t) => {
  const dataDir = await migratedDataDir(t);
  const key = await clientKey('ES256');
  const jwksFile = path.join(dataDir, 'jwks.json');
  fs.writeFileSync(jwksFile, JSON.stringify({ keys: [key.publicJwk] }));
  const res = await hub(
    ['clients', 'create', '--name', 'Partner', '--scopes', 'registry:read, audit:read', '--client-id', 'partner.cli', '--jwks', jwksFile],
    { HUB_DATA_DIR: dataDir },
  );
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /^client_id: +partner\.cli$/m);
  t.match(res.stdout, /^client_secret: +[A-Za-z0-9_-]{43}$/m);
  t.match(res.stdout, /^scopes: +registry:read audit:read$/m);

  const again = await hub(['clients', 'create', '--name', 'Partner', '--scopes', 'registry:read', '--client-id', 'partner.cli'], { HUB_DATA_DIR: dataDir });
  t.equal(again.code, 2, 'the same client_id twice is refused');
  t.equal(lines(again.stderr).length, 1, again.stderr);
  t.match(again.stderr, /--client-id: a client partner\.cli already exists/);
});

t.test('clients create refuses usage mistakes in one line, creating nothing', async (t) => {
  const dataDir = tempDir(t);
  const badJwks = path.join(dataDir, 'bad.json');
  fs.writeFileSync(badJwks, '{ not json');
  const cases: Record<string, { args: string[]; names: RegExp }> = {
    'unknown scope': { args: ['--name', 'X', '--scopes', 'registry:read registry:reed'], names: /registry:reed/ },
    'missing --scopes': { args: ['--name', 'X'], names: /--scopes/ },
    'unknown option': { args: ['--name', 'X', '--scopes', 'registry:read', '--nmae', 'Y'], names: /--nmae/ },
    'unreadable --jwks file': { args: ['--name', 'X', '--scopes', 'registry:read', '--jwks', badJwks], names: /--jwks/ },
    'missing --jwks file': { args: ['--name', 'X', '--scopes', 'registry:read', '--jwks', path.join(dataDir, 'none.json')], names: /--jwks/ },
  };
  // None of these reaches the database, so they can run side by side.
  const runs = await Promise.all(Object.values(cases).map(({ args }) => hub(['clients', 'create', ...args], { HUB_DATA_DIR: dataDir })));
  for (const [i, [name, { names }]] of Object.entries(cases).entries()) {
    const res = runs[i]!;
    t.equal(res.code, 2, `${name}: exit code`);
    t.equal(lines(res.stderr).length, 1, `${name}: one stderr line: ${res.stderr}`);
    t.match(res.stderr, names, name);
    t.equal(res.stdout, '', `${name}: nothing on stdout`);
  }
  t.notOk(fs.existsSync(path.join(dataDir, 'pglite')), 'no database was even opened');
});

t.test('audit verify exits 1 when the chain is broken', async (t) => {
  const dataDir = await migratedDataDir(t);
  t.equal((await hub(['migrate'], { HUB_DATA_DIR: dataDir })).code, 0);
  await withDataDir(dataDir, async (database) => {
    await database.db.execute(sql.raw('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete'));
    await database.db.execute(sql`UPDATE audit_log SET actor = 'mallory' WHERE seq = 1`);
    await database.db.execute(sql.raw('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete'));
  });
  const res = await hub(['audit', 'verify'], { HUB_DATA_DIR: dataDir });
  t.equal(res.code, 1);
  t.match(JSON.parse(res.stdout), { ok: false, checked: 0, firstBroken: { seq: 1 } });
});

t.test('an embedded database in use by another process is refused in one line', async (t) => {
  const dataDir = tempDir(t);
  const database = await openDatabase({ dataDir }); // holds the directory lock with this process's pid
  t.teardown(() => database.close());
  const res = await hub(['audit', 'verify'], { HUB_DATA_DIR: dataDir });
  t.equal(res.code, 2);
  t.equal(lines(res.stderr).length, 1, res.stderr);
  t.match(res.stderr, new RegExp(`in use by process ${process.pid}`));
});

t.test('configuration errors: one stderr line naming the variable, non-zero exit', async (t) => {
  const dataDir = tempDir(t);
  const cases: Record<string, { args: string[]; env: Record<string, string>; variable: string }> = {
    'PORT=abc': { args: ['serve'], env: { PORT: 'abc' }, variable: 'PORT' },
    'PORT out of range': { args: ['serve'], env: { PORT: '70000' }, variable: 'PORT' },
    'DATABASE_URL=mysql://x': { args: ['serve'], env: { DATABASE_URL: 'mysql://x' }, variable: 'DATABASE_URL' },
    'HUB_SECRET too short': { args: ['audit', 'verify'], env: { HUB_SECRET: 'short' }, variable: 'HUB_SECRET' },
    'HUB_KEY_ALG unknown': { args: ['keys', 'rotate'], env: { HUB_KEY_ALG: 'HS256' }, variable: 'HUB_KEY_ALG' },
  };
  const runs = await Promise.all(Object.values(cases).map(({ args, env }) => hub(args, { HUB_DATA_DIR: dataDir, ...env })));
  for (const [i, [name, { variable }]] of Object.entries(cases).entries()) {
    const res = runs[i]!;
    t.not(res.code, 0, `${name}: exit code`);
    const stderr = lines(res.stderr);
    t.equal(stderr.length, 1, `${name}: exactly one line: ${res.stderr}`);
    t.match(stderr[0], new RegExp(`\\b${variable}\\b`), `${name}: names ${variable}`);
    t.notMatch(res.stderr, /\n\s+at /, `${name}: no stack trace`);
  }
  t.notOk(fs.existsSync(path.join(dataDir, 'pglite')), 'nothing was opened');
});

t.test('an unknown command prints the usage and exits 2', async (t) => {
  const res = await hub(['frobnicate'], { HUB_DATA_DIR: tempDir(t) });
  t.equal(res.code, 2);
  t.match(res.stderr, /unknown command "frobnicate"/);
  t.match(res.stderr, /usage: hub <command>/);
});
