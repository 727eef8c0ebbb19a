import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { desc, eq, inArray, sql } from 'drizzle-orm';
import { calculateJwkThumbprint, decodeProtectedHeader, type JWK } from 'jose';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Database } from '../../src/db/client.js';
import { signingKeys } from '../../src/db/schema/index.js';
import { KeyStore, KeyStoreError, keyStoreOptions } from '../../src/security/keys.js';
import { prepareDatabase } from '../../src/setup.js';
import { freshDatabase, tempDir, testHub, type TestHub } from '../helpers/hub.js';
import { tokenRequest } from '../helpers/oauth.js';

const SECRET = 'correct horse battery staple';

async function jwks(hub: Pick<TestHub, 'app'>): Promise<JWK[]> {
  const res = await hub.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  if (res.statusCode !== 200) throw new Error(`JWKS: ${res.statusCode} ${res.body}`);
  return res.json().keys as JWK[];
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const works = async (hub: TestHub, token: string) => (await hub.request({ method: 'GET', url: '/api/v1/audit/verify', token })).statusCode;

/** Issues a token through the token endpoint of any app with the bootstrap credentials in dataDir. */
async function bootstrapToken(app: TestHub['app'], dataDir: string): Promise<string> {
  const { client_id, client_secret } = JSON.parse(fs.readFileSync(`${dataDir}/bootstrap-client.json`, 'utf8'));
  const res = await tokenRequest({ app }, { grant_type: 'client_credentials', client_id, client_secret });
  if (res.statusCode !== 200) throw new Error(`token: ${res.statusCode} ${res.body}`);
  return res.json().access_token;
}

/** The JWKS holds one signing key (`alg`, `kty`) and one DCI encryption key, public parts only. */
async function assertPublishesOnly(t: Test, hub: TestHub, alg: string, kty: string) {
  const keys = await jwks(hub);
  t.same(keys.map((k) => k.use), ['sig', 'enc'], 'the signing key, then the encryption key');
  const [key, enc] = keys as [JWK, JWK];
  t.equal(key.alg, alg);
  t.equal(key.kty, kty);
  t.equal(enc.alg, 'RSA-OAEP-256', 'the encryption key wraps content keys with RSA-OAEP-256');
  t.equal(enc.kty, 'RSA');
  for (const k of keys) {
    t.equal(k.kid, await calculateJwkThumbprint(k), `${k.use}: kid is the RFC 7638 thumbprint`);
    for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) t.notOk(part in k, `${k.use}: no private member "${part}"`);
  }
  t.equal(kidOf(hub.adminToken), key.kid, 'tokens name the published signing key');
  t.equal(decodeProtectedHeader(hub.adminToken).alg, alg);
  t.equal(await works(hub, hub.adminToken), 200, 'a token it signed is accepted');
}

t.test('the JWKS publishes the active key (ES256 by default), public parts only', async (t) => {
  const hub = await testHub(t);
  await assertPublishesOnly(t, hub, 'ES256', 'EC');
  const res = await hub.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  t.match(res.headers['cache-control'], /public/);
  const rows = await hub.database.db.select().from(signingKeys).orderBy(desc(signingKeys.use));
  t.same(rows.map((r) => [r.kid, r.use]), (await jwks(hub)).map((k) => [k.kid, k.use]), 'the stored keys are the published ones');
  for (const row of rows) {
    t.equal(row.encrypted, 'none', `without HUB_SECRET the private ${row.use} key is stored as plain JWK JSON`);
    t.equal(JSON.parse(row.privateKey).kid, row.kid);
  }
});

t.test('rotation', async (t) => {
  const hub = await testHub(t);
  const reader = await hub.client(['audit:read']);
  const [oldKey, oldEnc] = await jwks(hub);

  const refused = await hub.request({ method: 'POST', url: '/api/v1/keys/rotate', token: reader.token });
  t.equal(refused.statusCode, 403, 'rotation needs admin');

  const rotated = await hub.request({ method: 'POST', url: '/api/v1/keys/rotate' });
  t.equal(rotated.statusCode, 200, rotated.body);
  const { kid, encryption_kid: encKid, retired } = rotated.json();
  t.not(kid, oldKey!.kid, 'a new kid');
  t.not(encKid, oldEnc!.kid, 'a new encryption key too');
  t.same([...retired].sort(), [oldKey!.kid, oldEnc!.kid].sort(), 'both old keys retired');

  const published = await jwks(hub);
  t.same(published.map((k) => k.kid), [kid, encKid, oldKey!.kid, oldEnc!.kid], 'new keys first, the old keys still published');
  t.same(published.map((k) => k.use), ['sig', 'enc', 'sig', 'enc']);

  // A partner that fetched the JWKS before the rotation may still encrypt to the old key.
  const store = new KeyStore(hub.database.db, keyStoreOptions(hub.config));
  t.equal((await store.decryptionKey(oldEnc!.kid!))?.kid, oldEnc!.kid, 'the retired encryption key still decrypts');
  t.equal((await store.decryptionKey(encKid))?.alg, 'RSA-OAEP-256', 'and so does the new one');

  t.equal(await works(hub, hub.adminToken), 200, 'a token issued before the rotation still verifies');
  t.equal(await works(hub, reader.token), 200);

  const fresh = await hub.token(reader.clientId, reader.secret);
  t.equal(kidOf(fresh), kid, 'new tokens carry the new kid');
  t.equal(await works(hub, fresh), 200);

  const [row] = await hub.database.db.select().from(signingKeys).where(eq(signingKeys.kid, oldKey!.kid!));
  t.ok(row!.retiredAt, 'the old key is marked retired');
  t.ok(row!.publishUntil! > new Date(Date.now() + hub.config.tokenTtlSeconds * 1000), 'and published for at least one token lifetime');

  const audit = await hub.request({ method: 'GET', url: '/api/v1/audit?entity_type=signing_key' });
  t.equal(audit.json().items[0].action, 'key.rotate');
  t.equal(audit.json().items[0].entity_id, kid);
  t.equal(audit.json().items[0].actor, 'bootstrap-admin');

  t.test('a retired key past its publication window leaves the JWKS', async (t) => {
    await hub.database.db
      .update(signingKeys)
      .set({ publishUntil: sql`now() - interval '1 second'` })
      .where(inArray(signingKeys.kid, [oldKey!.kid!, oldEnc!.kid!]));
    t.same((await jwks(hub)).map((k) => k.kid), [kid, encKid]);
    t.equal(await new KeyStore(hub.database.db, keyStoreOptions(hub.config)).decryptionKey(oldEnc!.kid!), undefined, 'and the old encryption key decrypts no more');
  });
});

t.test('a key rotated by another instance is picked up for verification', async (t) => {
  const hub = await testHub(t);
  const other = await buildApp({ config: hub.config, database: hub.database });
  t.teardown(() => other.close());
  const reader = await hub.client(['audit:read']);
  t.equal(await works(hub, reader.token), 200); // this instance has loaded its verification keys

  const rotated = await other.inject({
    method: 'POST',
    url: '/api/v1/keys/rotate',
    headers: { authorization: `Bearer ${hub.adminToken}` },
  });
  t.equal(rotated.statusCode, 200, rotated.body);
  const fromOther = await tokenRequest({ app: other }, { grant_type: 'client_credentials', client_id: reader.clientId, client_secret: reader.secret });
  const token = fromOther.json().access_token as string;
  t.equal(kidOf(token), rotated.json().kid);

  await sleep(5_500); // an unknown kid reloads the keys at most once per 5 s
  t.equal(await works(hub, token), 200, "the other instance's new key verifies here");
  const oldKidToken = await hub.token(reader.clientId, reader.secret);
  const verified = await other.inject({ method: 'GET', url: '/api/v1/audit/verify', headers: { authorization: `Bearer ${oldKidToken}` } });
  t.equal(verified.statusCode, 200, 'whichever key this instance still signs with, the other accepts it');
});

t.test('HUB_SECRET encrypts the private keys at rest', async (t) => {
  const hub = await testHub(t, { HUB_SECRET: SECRET });
  const stored = await hub.database.db.select().from(signingKeys);
  t.same(stored.map((r) => r.use).sort(), ['enc', 'sig']);
  for (const row of stored) {
    t.equal(row.encrypted, 'pbes2', `the ${row.use} key`);
    t.throws(() => JSON.parse(row.privateKey), 'not plaintext JSON');
    const parts = row.privateKey.split('.');
    t.equal(parts.length, 5, 'a compact JWE');
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    t.equal(header.alg, 'PBES2-HS512+A256KW');
    t.equal(header.enc, 'A256GCM');
    t.notMatch(row.privateKey, /"d"/);
  }
  const enc = stored.find((r) => r.use === 'enc')!;
  const unsealed = await new KeyStore(hub.database.db, keyStoreOptions(hub.config)).decryptionKey(enc.kid);
  t.equal(unsealed?.key.type, 'private', 'the sealed encryption key is unsealed for decryption');

  await assertPublishesOnly(t, hub, 'ES256', 'EC');

  const rotated = await hub.request({ method: 'POST', url: '/api/v1/keys/rotate' });
  t.equal(rotated.statusCode, 200);
  const rows = await hub.database.db.select().from(signingKeys);
  t.same(rows.map((r) => r.encrypted), ['pbes2', 'pbes2', 'pbes2', 'pbes2'], 'rotated-in keys are encrypted too');
  const reader = await hub.client(['audit:read']);
  t.equal(kidOf(reader.token), rotated.json().kid, 'the hub signs with the new encrypted key');
  t.equal(await works(hub, reader.token), 200);
});

t.test('HUB_SECRET must stay the same once keys are encrypted', async (t) => {
  const database = await freshDatabase(t);
  const prepare = (env: Record<string, string>) => prepareDatabase(loadConfig({ HUB_DATA_DIR: tempDir(t), ...env }), database);
  await prepare({ HUB_SECRET: SECRET });
  const before = await database.db.select().from(signingKeys).orderBy(signingKeys.kid);

  const wrong: Record<string, Record<string, string>> = { 'a different secret': { HUB_SECRET: `${SECRET}!` }, 'no secret': {} };
  for (const [name, env] of Object.entries(wrong)) {
    try {
      await prepare(env);
      t.fail(`${name}: prepareDatabase should fail`);
    } catch (err) {
      t.ok(err instanceof KeyStoreError, `${name}: a KeyStoreError (${(err as Error).message})`);
      t.match((err as Error).message, /^HUB_SECRET: /, `${name}: the message names the variable`);
    }
  }

  await prepare({ HUB_SECRET: SECRET });
  const after = await database.db.select().from(signingKeys).orderBy(signingKeys.kid);
  t.same(after, before, 'the right secret again: no new key, and the failed attempts changed nothing');
});

t.test('setting HUB_SECRET on a database with plaintext keys encrypts them', async (t) => {
  const database: Database = await freshDatabase(t);
  const dataDir = tempDir(t);
  const plain = loadConfig({ HUB_DATA_DIR: dataDir });
  await prepareDatabase(plain, database);
  await new KeyStore(database.db, keyStoreOptions(plain)).rotate({ id: 'test' });
  const plainRows = await database.db.select().from(signingKeys);
  t.same(plainRows.map((r) => r.encrypted), ['none', 'none', 'none', 'none']);

  const sealed = loadConfig({ HUB_DATA_DIR: dataDir, HUB_SECRET: SECRET });
  await prepareDatabase(sealed, database);
  const rows = await database.db.select().from(signingKeys);
  t.equal(rows.length, 4, 'no key added or lost');
  for (const row of rows) {
    t.equal(row.encrypted, 'pbes2', `${row.kid} (retired: ${row.retiredAt !== null}) is now encrypted`);
    t.throws(() => JSON.parse(row.privateKey));
    t.same(row.publicJwk, plainRows.find((p) => p.kid === row.kid)!.publicJwk, 'same key pair');
  }

  const app = await buildApp({ config: sealed, database });
  t.teardown(() => app.close());
  const token = await bootstrapToken(app, dataDir);
  const active = plainRows.find((r) => r.retiredAt === null && r.use === 'sig')!;
  t.equal(kidOf(token), active.kid, 'the hub still signs with the same (now encrypted) key');
  const res = await app.inject({ method: 'GET', url: '/api/v1/clients', headers: { authorization: `Bearer ${token}` } });
  t.equal(res.statusCode, 200);
});

for (const [alg, kty] of [
  ['RS256', 'RSA'],
  ['EdDSA', 'OKP'],
] as const) {
  t.test(`HUB_KEY_ALG=${alg} works end to end`, async (t) => {
    const hub = await testHub(t, { HUB_KEY_ALG: alg });
    await assertPublishesOnly(t, hub, alg, kty);
    if (alg === 'EdDSA') t.equal((await jwks(hub))[0]!.crv, 'Ed25519');
    const client = await hub.client(['registry:read']);
    t.equal(decodeProtectedHeader(client.token).alg, alg);
    const res = await hub.request({ method: 'GET', url: '/api/v1/individuals', token: client.token });
    t.equal(res.statusCode, 200, res.body);

    const rotated = await hub.request({ method: 'POST', url: '/api/v1/keys/rotate' });
    const keys = await jwks(hub);
    t.same(keys.map((k) => k.alg), [alg, 'RSA-OAEP-256', alg, 'RSA-OAEP-256'], 'a rotated key uses the same algorithm');
    const fresh = await hub.token(client.clientId, client.secret);
    t.equal(kidOf(fresh), rotated.json().kid);
    t.equal((await hub.request({ method: 'GET', url: '/api/v1/individuals', token: fresh })).statusCode, 200);
  });
}
