import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './net.js';

const run = promisify(execFile);

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A PostgreSQL cluster of the test's own, which it may stop, crash and restart (never the shared server). */
export interface OwnPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  start(): Promise<void>;
  /** `fast` disconnects clients and shuts down cleanly; `immediate` is a crash (recovery from WAL at the next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
}

/** Debian's newest server binaries; CI installs the `postgresql` package, so missing binaries fail the test, never skip it. */
function serverBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root} (install the postgresql package)`);
  return path.join(root, versions.sort((a, b) => Number(a) - Number(b)).at(-1)!, 'bin');
}

/**
 * initdb into a temporary directory and start the server on a free port (trust auth, fsync off: a test cluster).
 * The server runs as the `postgres` user when we are root (PostgreSQL refuses to run as root). Stopped and removed
 * at teardown.
 */
export async function ownPostgres(t: Teardown): Promise<OwnPostgres> {
  const bin = serverBin();
  const asRoot = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-own-pg-'));
  if (asRoot) fs.chownSync(dir, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), Number((await run('id', ['-g', 'postgres'])).stdout.trim()));
  const data = path.join(dir, 'data');
  const pg = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args]) : run(path.join(bin, tool), args);
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=100`;

  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const cluster: OwnPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start: async () => {
      await pg('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-o', options, 'start']);
    },
    stop: async (mode = 'fast') => {
      await pg('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
    },
    restart: async (mode = 'fast') => {
      await cluster.stop(mode);
      await cluster.start();
    },
  };
  t.teardown(async () => {
    await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await cluster.start();
  return cluster;
}
