/**
 * What every HTTP benchmark shares: settings from the environment, a throwaway database on the PostgreSQL server of
 * DATABASE_URL, a listening hub with a token, autocannon runs, and the comparison against a baseline measured in
 * the same run (alternating rounds, so a change in machine load hits both sides alike; the median round counts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import type { FastifyInstance } from 'fastify';
import { calculateJwkThumbprint, CompactSign, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import postgres from 'postgres';
import { buildApp } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { prepareDatabase } from '../src/setup.js';

export const settings = {
  serverUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  individuals: Number(process.env.BENCH_INDIVIDUALS ?? 1_000_000),
  seconds: Number(process.env.BENCH_SECONDS ?? 10),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 20),
  rounds: Number(process.env.BENCH_ROUNDS ?? 3),
};

/** One token from one address at full speed: the request limits stay on (their cost is measured) but far above it. */
export const BENCH_LIMITS = { HUB_RATE_LIMIT: '10000000', HUB_RATE_LIMIT_ADDRESS: '10000000' };

export const say = (line: string) => process.stdout.write(`${line}\n`);

export interface BenchHub {
  /** True when `keep` found the database of an earlier run (already seeded, as far as that run got). */
  reused: boolean;
  /** postgres.js on the throwaway database, for seeding and for the bare baseline routes. */
  raw: postgres.Sql;
  database: Database;
  config: Config;
  hub: FastifyInstance;
  /** A client-credentials token (client_secret_post) from the hub's own token endpoint. */
  token(clientId: string, secret: string, scope?: string): Promise<string>;
  /** The bootstrap admin client's token, narrowed to `scope` when given. */
  adminToken(scope?: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Creates database `name` afresh on the server of DATABASE_URL; `drop` removes it once its connections are closed.
 * With `keep`, a database left by an earlier run is reused (`reused` says so) and `drop` leaves it in place.
 */
export async function benchDatabase(name: string, keep = false): Promise<{ url: string; reused: boolean; drop(): Promise<void> }> {
  const admin = postgres(settings.serverUrl, { max: 1, onnotice: () => {} });
  const [existing] = keep ? await admin`SELECT 1 FROM pg_database WHERE datname = ${name}` : [];
  if (!existing) {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE ${name}`);
  }
  const url = new URL(settings.serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    reused: Boolean(existing),
    drop: async () => {
      if (keep) return void (await admin.end());
      // end() resolves before the server has seen every socket close; wait for the server to see them gone, so that
      // FORCE terminates nothing still closing.
      for (let i = 0; i < 50; i++) {
        const [row] = await admin`SELECT count(*)::int AS open FROM pg_stat_activity WHERE datname = ${name}`;
        if (row?.open === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/**
 * Creates database `name` afresh (dropped again by close(), unless `keep`: then it stays, and the next run with `keep`
 * reuses it), prepares it (migrations included), and starts a hub on 127.0.0.1.
 */
export async function benchHub(name: string, env: Record<string, string> = {}, keep = false): Promise<BenchHub> {
  const { url, reused, drop } = await benchDatabase(name, keep);
  // A kept database keeps its data directory too: the bootstrap client's credentials are only written when it is made.
  const dataDir = keep ? path.join(os.tmpdir(), `hub-bench-${name}`) : fs.mkdtempSync(path.join(os.tmpdir(), 'hub-bench-'));
  const config = loadConfig({ HUB_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...BENCH_LIMITS, ...env });
  const database = await openDatabase({ url });
  const { bootstrapFile } = await prepareDatabase(config, database);
  const bootstrap = JSON.parse(fs.readFileSync(bootstrapFile ?? path.join(dataDir, 'bootstrap-client.json'), 'utf8')) as { client_id: string; client_secret: string };
  const raw = postgres(url, { max: 10, onnotice: () => {} });
  const hub = await buildApp({ config, database });
  await hub.listen({ host: '127.0.0.1', port: 0 });
  const token = async (clientId: string, secret: string, scope?: string) => {
    const res = await hub.inject({
      method: 'POST',
      url: '/oauth2/client/token',
      payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, ...(scope ? { scope } : {}) }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    return res.json().access_token as string;
  };
  return {
    reused,
    raw,
    database,
    config,
    hub,
    token,
    adminToken: (scope) => token(bootstrap.client_id, bootstrap.client_secret, scope),
    close: async () => {
      await hub.close();
      await raw.end();
      await database.close();
      await drop();
      if (!keep) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `VACUUM (ANALYZE)` after seeding, so that autovacuum does not wake up in the middle of a measurement. */
export async function settle(raw: postgres.Sql, seededSince: number, what: string) {
  await raw`VACUUM (ANALYZE)`;
  say(`seeded ${what} in ${((Date.now() - seededSince) / 1000).toFixed(1)} s`);
}

export interface Target {
  label: string;
  origin: string;
  path: () => string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: () => string;
}

interface Row {
  label: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
}

export async function measure(target: Target): Promise<Row> {
  const result = await autocannon({
    url: target.origin,
    method: target.method ?? 'GET',
    connections: settings.connections,
    duration: settings.seconds,
    headers: target.headers ?? {},
    requests: [
      { setupRequest: (req) => ({ ...req, path: target.path(), ...(target.body ? { body: target.body() } : {}) }) },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${target.label}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  return { label: target.label, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total };
}

/** Baseline and hub in alternating rounds; prints every round and the median ratio. Answers the requests sent to the hub. */
export async function compare(baseline: Target, measured: Target): Promise<number> {
  const pairs: [Row, Row][] = [];
  for (let round = 0; round < settings.rounds; round++) pairs.push([await measure(baseline), await measure(measured)]);
  say(`\n${settings.individuals} individuals, ${settings.connections} connections, ${settings.seconds} s per run, ${settings.rounds} alternating rounds`);
  for (const [i, pair] of pairs.entries()) {
    for (const row of pair) {
      say(`round ${i + 1}  ${row.label.padEnd(40)} ${row.rps.toFixed(0).padStart(7)} req/s   p50 ${row.p50} ms   p99 ${row.p99} ms`);
    }
  }
  const [base, hub] = [...pairs].sort((a, b) => a[1].rps / a[0].rps - b[1].rps / b[0].rps)[Math.floor(pairs.length / 2)]!;
  say(`median ratio hub/baseline: throughput ${(hub.rps / base.rps).toFixed(2)}, p99 ${(hub.p99 / Math.max(base.p99, 1)).toFixed(2)}`);
  return pairs.reduce((sum, [, row]) => sum + row.requests, 0);
}

export const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;

/** A DCI partner's ES256 key: the public JWK (with kid and alg) to register, the private key to sign with. */
export interface PartnerSigner {
  jwk: JWK;
  kid: string;
  privateKey: CryptoKey;
}

export async function partnerSigner(): Promise<PartnerSigner> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { jwk: { ...jwk, kid, alg: 'ES256' }, kid, privateKey };
}

/** A signed DCI sync search body for one UIN; each has its own message_id, since replays are refused. */
export async function signedSearch(signer: PartnerSigner, senderId: string, uin: string): Promise<string> {
  const content = {
    header: { version: '1.0.0', message_id: randomUUID(), message_ts: new Date().toISOString(), action: 'search', sender_id: senderId, total_count: 1 },
    message: {
      transaction_id: randomUUID(),
      search_request: [
        { reference_id: randomUUID(), timestamp: new Date().toISOString(), search_criteria: { query_type: 'idtype-value', query: { type: 'UIN', value: uin } } },
      ],
    },
  };
  return signMessage(signer, content);
}

/** The JSON body of a signed message (compact JWS of {header, message}). */
export async function signMessage(signer: PartnerSigner, content: { header: unknown; message: unknown }): Promise<string> {
  const signature = await new CompactSign(new TextEncoder().encode(JSON.stringify(content))).setProtectedHeader({ alg: 'ES256', kid: signer.kid }).sign(signer.privateKey);
  return JSON.stringify({ signature, ...content });
}

/** A DCI partner registered on the bench hub (dci:search, an ES256 key): its signer and token. */
export async function dciPartner(b: BenchHub, senderId: string) {
  const signer = await partnerSigner();
  const created = await b.hub.inject({
    method: 'POST',
    url: '/api/v1/clients',
    headers: { authorization: `Bearer ${await b.adminToken()}` },
    payload: { name: 'bench partner', scopes: ['dci:search'], jwks: { keys: [signer.jwk] }, dci: { sender_id: senderId } },
  });
  const partner = created.json();
  return {
    signer,
    token: await b.token(partner.client_id, partner.client_secret),
    sign: (content: { header: unknown; message: unknown }) => signMessage(signer, content),
  };
}
