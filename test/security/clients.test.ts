import fs from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { clients } from '../../src/db/schema/index.js';
import { HubError } from '../../src/errors.js';
import { BOOTSTRAP_CLIENT_ID, ensureBootstrapClient } from '../../src/security/bootstrap.js';
import { createClient } from '../../src/security/clients.js';
import { KeyStore, keyStoreOptions } from '../../src/security/keys.js';
import { verifySecret } from '../../src/security/secrets.js';
import { prepareDatabase } from '../../src/setup.js';
import { freshDatabase, tempDir, testHub } from '../helpers/hub.js';
import { tokenRequest } from '../helpers/oauth.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PROBLEM = 'application/problem+json; charset=utf-8';

// One hub for the API subtests; each registers clients under its own ids.
const hub = await testHub(t);

const create = (payload: Record<string, unknown>, token?: string) =>
  hub.request({ method: 'POST', url: '/api/v1/clients', payload: { name: 'partner', scopes: ['registry:read'], ...payload }, token });

const secretGrant = (clientId: string, secret: string) =>
  tokenRequest(hub, { grant_type: 'client_credentials', client_id: clientId, client_secret: secret });

async function storedHash(clientId: string) {
  const [row] = await hub.database.db.select({ hash: clients.secretHash }).from(clients).where(eq(clients.clientId, clientId));
  return row!.hash;
}

t.test('create with a chosen client_id: the secret is shown once and stored only hashed', async (t) => {
  const res = await create({ client_id: 'partner.chosen', name: 'Civil registry', scopes: ['registry:read', 'dci:search'] });
  t.equal(res.statusCode, 201, res.body);
  t.equal(res.headers['cache-control'], 'no-store');
  const body = res.json();
  t.equal(body.client_id, 'partner.chosen');
  t.match(body.client_secret, /^[A-Za-z0-9_-]{43}$/, '256 random bits, base64url');
  t.same(body.client, {
    client_id: 'partner.chosen',
    name: 'Civil registry',
    scopes: ['registry:read', 'dci:search'],
    location_id: null,
    jwks: null,
    created_at: body.client.created_at,
    secret_rotated_at: body.client.secret_rotated_at,
    disabled_at: null,
    dci: { sender_id: 'partner.chosen', callback_url: null, jwks_url: null, signature_policy: 'required' },
  });

  const hash = await storedHash('partner.chosen');
  t.match(hash, /^scrypt\$/);
  t.notOk(hash.includes(body.client_secret), 'the stored hash does not contain the secret');
  t.ok(await verifySecret(body.client_secret, hash), 'the hash verifies the secret');
  t.notOk(await verifySecret(`${body.client_secret}x`, hash));

  const read = await hub.request({ method: 'GET', url: '/api/v1/clients/partner.chosen' });
  t.equal(read.statusCode, 200);
  t.same(read.json(), body.client);
  t.notOk(read.body.includes(body.client_secret), 'reading a client never shows its secret');
  t.notMatch(read.body, /secret_hash|scrypt/);
  const list = await hub.request({ method: 'GET', url: '/api/v1/clients?limit=500' });
  t.notMatch(list.body, /client_secret|secret_hash|scrypt/);

  t.equal((await secretGrant('partner.chosen', body.client_secret)).statusCode, 200, 'the secret works at the token endpoint');
});

t.test('create without a client_id: one is generated', async (t) => {
  const first = await create({});
  const second = await create({});
  t.equal(first.statusCode, 201);
  t.match(first.json().client_id, UUID);
  t.not(first.json().client_id, second.json().client_id);
  t.not(first.json().client_secret, second.json().client_secret);
  t.not(await storedHash(first.json().client_id), await storedHash(second.json().client_id));
});

t.test('invalid registrations are refused with 400 problems', async (t) => {
  const cases: Record<string, Record<string, unknown>> = {
    'unknown scope': { scopes: ['registry:reed'] },
    'no scopes': { scopes: [] },
    'repeated scope': { scopes: ['registry:read', 'registry:read'] },
    'client_id with a space': { client_id: 'has space' },
    'client_id too short': { client_id: 'ab' },
    'unknown property': { secret: 'chosen-by-me' },
    'location_id not a uuid': { location_id: 'north' },
  };
  for (const [name, payload] of Object.entries(cases)) {
    const res = await create(payload);
    t.equal(res.statusCode, 400, `${name}: ${res.body}`);
    t.equal(res.headers['content-type'], PROBLEM, name);
  }
  const missing = await hub.request({ method: 'POST', url: '/api/v1/clients', payload: { scopes: ['registry:read'] } });
  t.equal(missing.statusCode, 400);
  t.match(missing.json().errors, [{ pointer: '/name' }]);
});

t.test('a duplicate client_id is a 409 problem and leaves no trace in the audit log', async (t) => {
  t.equal((await create({ client_id: 'partner.twice' })).statusCode, 201);
  const auditBefore = await hub.request({ method: 'GET', url: '/api/v1/audit/verify' });
  const res = await create({ client_id: 'partner.twice', name: 'someone else' });
  t.equal(res.statusCode, 409, res.body);
  t.equal(res.headers['content-type'], PROBLEM);
  t.match(res.json(), { status: 409, detail: /client_id already exists/, errors: [{ pointer: '/client_id' }] });
  t.notOk(res.json().client_secret);
  const auditAfter = await hub.request({ method: 'GET', url: '/api/v1/audit/verify' });
  t.equal(auditAfter.json().checked, auditBefore.json().checked, 'the failed insert wrote no audit entry');
  const [row] = await hub.database.db.select().from(clients).where(eq(clients.clientId, 'partner.twice'));
  t.equal(row!.name, 'partner', 'the first registration is untouched');
});

t.test('list pages through every client exactly once', async (t) => {
  for (const id of ['page.a', 'page.b', 'page.c', 'page.d', 'page.e']) t.equal((await create({ client_id: id })).statusCode, 201);
  const all = (await hub.request({ method: 'GET', url: '/api/v1/clients?limit=500' })).json();
  t.equal(all.next_cursor, null);
  const expected = all.items.map((c: { client_id: string }) => c.client_id);
  t.ok(expected.includes('bootstrap-admin') && expected.includes('page.c'));

  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const url: string = `/api/v1/clients?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await hub.request({ method: 'GET', url });
    t.equal(res.statusCode, 200, res.body);
    const page = res.json();
    t.ok(page.items.length <= 2);
    seen.push(...page.items.map((c: { client_id: string }) => c.client_id));
    cursor = page.next_cursor;
    pages++;
  } while (cursor && pages < 100);
  t.same(seen, expected, 'the pages together are the full list, in the same order, without repeats');
  t.equal(pages, Math.ceil(expected.length / 2));

  const bad = await hub.request({ method: 'GET', url: '/api/v1/clients?cursor=not-a-cursor' });
  t.equal(bad.statusCode, 400);
  t.match(bad.json().errors, [{ parameter: 'cursor' }]);
  t.equal((await hub.request({ method: 'GET', url: '/api/v1/clients?limit=0' })).statusCode, 400);
});

t.test('get an unknown client: 404 problem', async (t) => {
  for (const url of ['/api/v1/clients/nobody', '/api/v1/clients/nobody/disable', '/api/v1/clients/nobody/enable', '/api/v1/clients/nobody/secret']) {
    const res = await hub.request({ method: url.endsWith('nobody') ? 'GET' : 'POST', url });
    t.equal(res.statusCode, 404, url);
    t.equal(res.headers['content-type'], PROBLEM);
  }
});

t.test('disable and enable', async (t) => {
  const created = (await create({ client_id: 'partner.toggle' })).json();
  const disabled = await hub.request({ method: 'POST', url: '/api/v1/clients/partner.toggle/disable' });
  t.equal(disabled.statusCode, 200, disabled.body);
  t.ok(Date.parse(disabled.json().disabled_at), 'disabled_at is set');
  t.equal((await hub.request({ method: 'GET', url: '/api/v1/clients/partner.toggle' })).json().disabled_at, disabled.json().disabled_at);
  t.equal((await secretGrant('partner.toggle', created.client_secret)).statusCode, 401, 'no token while disabled');

  const enabled = await hub.request({ method: 'POST', url: '/api/v1/clients/partner.toggle/enable' });
  t.equal(enabled.statusCode, 200);
  t.equal(enabled.json().disabled_at, null);
  t.equal((await secretGrant('partner.toggle', created.client_secret)).statusCode, 200, 'the same secret works again');

  const audit = await hub.request({ method: 'GET', url: '/api/v1/audit?entity_type=client&entity_id=partner.toggle' });
  t.same(
    audit.json().items.map((e: { action: string }) => e.action),
    ['client.enable', 'client.disable', 'client.create'],
  );
});

t.test('rotating the secret: the old one stops working at once, the new one works', async (t) => {
  const created = (await create({ client_id: 'partner.rotate' })).json();
  const hashBefore = await storedHash('partner.rotate');
  const rotated = await hub.request({ method: 'POST', url: '/api/v1/clients/partner.rotate/secret' });
  t.equal(rotated.statusCode, 200, rotated.body);
  t.equal(rotated.headers['cache-control'], 'no-store');
  const { client_id, client_secret, client } = rotated.json();
  t.equal(client_id, 'partner.rotate');
  t.not(client_secret, created.client_secret);
  t.ok(Date.parse(client.secret_rotated_at) >= Date.parse(created.client.secret_rotated_at));
  t.not(await storedHash('partner.rotate'), hashBefore);
  t.notOk((await storedHash('partner.rotate')).includes(client_secret));

  const old = await secretGrant('partner.rotate', created.client_secret);
  t.equal(old.statusCode, 401);
  t.equal(old.json().error, 'invalid_client');
  t.equal((await secretGrant('partner.rotate', client_secret)).statusCode, 200);
});

t.test('only admin manages clients', async (t) => {
  const target = (await create({ client_id: 'partner.target' })).json();
  for (const scopes of [['registry:read'], ['registry:read', 'registry:write', 'audit:read']]) {
    const caller = await hub.client(scopes);
    const attempts = [
      { method: 'POST' as const, url: '/api/v1/clients', payload: { name: 'escalated', scopes: ['admin'] } },
      { method: 'POST' as const, url: '/api/v1/clients', payload: { name: 'same scopes', scopes: ['registry:read'] } },
      { method: 'GET' as const, url: '/api/v1/clients' },
      { method: 'GET' as const, url: '/api/v1/clients/partner.target' },
      { method: 'POST' as const, url: '/api/v1/clients/partner.target/disable' },
      { method: 'POST' as const, url: '/api/v1/clients/partner.target/enable' },
      { method: 'POST' as const, url: '/api/v1/clients/partner.target/secret' },
    ];
    for (const attempt of attempts) {
      const res = await hub.request({ ...attempt, token: caller.token });
      t.equal(res.statusCode, 403, `${scopes.join(' ')}: ${attempt.method} ${attempt.url}`);
      t.match(res.headers['www-authenticate'], /error="insufficient_scope".*scope="admin"/);
    }
  }
  t.equal((await secretGrant('partner.target', target.client_secret)).statusCode, 200, 'the target was not changed');
});

t.test('a caller cannot grant a scope it does not hold (domain rule)', async (t) => {
  const actor = { id: 'reader', scopes: ['registry:read'], locationId: null };
  try {
    await createClient(hub.database.db, actor, { name: 'escalated', scopes: ['registry:read', 'registry:write'] });
    t.fail('should refuse');
  } catch (err) {
    t.ok(err instanceof HubError);
    t.equal((err as HubError).kind, 'forbidden');
    t.same((err as HubError).issues, [{ pointer: '/scopes/1', detail: 'not held by the caller' }]);
  }
  const allowed = await createClient(hub.database.db, actor, { name: 'same', scopes: ['registry:read'] });
  t.same(allowed.client.scopes, ['registry:read'], 'granting a scope it holds is fine');
});

t.test('geographic scope: an admin restricted to a location', async (t) => {
  const location = async (code: string, parent?: string) => {
    const res = await hub.request({ method: 'POST', url: '/api/v1/locations', payload: { code, name: code, ...(parent ? { parent_id: parent } : {}) } });
    if (res.statusCode !== 201) throw new Error(res.body);
    return res.json().id as string;
  };
  const north = await location('GEO-NORTH');
  const northA = await location('GEO-NORTH-A', north);
  const south = await location('GEO-SOUTH');

  const regional = await hub.client(['admin'], { client_id: 'regional.admin', location_id: north });
  const as = (payload: Record<string, unknown>) => create(payload, regional.token);

  const outside = await as({ client_id: 'regional.south', location_id: south });
  t.equal(outside.statusCode, 403, outside.body);
  t.match(outside.json().errors, [{ pointer: '/location_id' }]);

  const below = await as({ client_id: 'regional.below', location_id: northA });
  t.equal(below.statusCode, 201, below.body);
  t.equal(below.json().client.location_id, northA);

  const unset = await as({ client_id: 'regional.unset' });
  t.equal(unset.json().client.location_id, north, 'no location given: the caller’s own');
  const nulled = await as({ client_id: 'regional.null', location_id: null });
  t.equal(nulled.json().client.location_id, north, 'null cannot widen the scope to the whole registry');

  const inherited = await hub.token('regional.below', below.json().client_secret);
  const subRegional = await hub.request({ method: 'POST', url: '/api/v1/clients', token: inherited, payload: { name: 'x', scopes: ['registry:read'], location_id: north } });
  t.equal(subRegional.statusCode, 403, 'a client below cannot create one above itself');

  const listed = await hub.request({ method: 'GET', url: '/api/v1/clients?limit=500', token: regional.token });
  t.same(
    listed.json().items.map((c: { client_id: string }) => c.client_id).sort(),
    ['regional.admin', 'regional.below', 'regional.null', 'regional.unset'],
    'it sees only the clients inside its area',
  );
  for (const [method, url] of [
    ['GET', `/api/v1/clients/${BOOTSTRAP_CLIENT_ID}`],
    ['POST', `/api/v1/clients/${BOOTSTRAP_CLIENT_ID}/disable`],
    ['POST', `/api/v1/clients/${BOOTSTRAP_CLIENT_ID}/secret`],
  ] as const) {
    const res = await hub.request({ method, url, token: regional.token });
    t.equal(res.statusCode, 404, `${method} ${url}: a client outside the area does not exist for it`);
  }
  t.equal((await hub.request({ method: 'GET', url: '/api/v1/clients' })).statusCode, 200, 'the bootstrap admin is untouched');

  const nowhere = await create({ location_id: '00000000-0000-4000-8000-000000000000' });
  t.equal(nowhere.statusCode, 422, 'a location that does not exist');
  t.match(nowhere.json().errors, [{ pointer: '/location_id' }]);
});

t.test('bootstrap client', async (t) => {
  t.test('a fresh database gets an admin client whose credentials are written 0600', async (t) => {
    const database = await freshDatabase(t);
    const dataDir = tempDir(t);
    const config = loadConfig({ HUB_DATA_DIR: dataDir });
    const { bootstrapFile } = await prepareDatabase(config, database);
    t.equal(bootstrapFile, path.join(dataDir, 'bootstrap-client.json'));
    t.equal(fs.statSync(bootstrapFile!).mode & 0o777, 0o600);
    const written = fs.readFileSync(bootstrapFile!, 'utf8');
    const credentials = JSON.parse(written);
    t.equal(credentials.client_id, BOOTSTRAP_CLIENT_ID);
    t.match(credentials.client_secret, /^[A-Za-z0-9_-]{43}$/);
    t.same(credentials.scopes, ['admin']);
    t.equal(credentials.token_url, `${config.publicUrl}/oauth2/client/token`);
    const [row] = await database.db.select().from(clients);
    t.match(row!.secretHash, /^scrypt\$/);
    t.notOk(row!.secretHash.includes(credentials.client_secret));

    const again = await prepareDatabase(config, database);
    t.same(again, {}, 'a second prepare reports no bootstrap file');
    t.equal((await database.db.select().from(clients)).length, 1, 'and creates no other client');
    t.equal(fs.readFileSync(bootstrapFile!, 'utf8'), written, 'and does not overwrite the file');

    fs.rmSync(bootstrapFile!);
    await prepareDatabase(config, database);
    t.notOk(fs.existsSync(bootstrapFile!), 'a deleted credentials file is not recreated once clients exist');

    const app = await buildApp({ config, database });
    t.teardown(() => app.close());
    const res = await tokenRequest({ app }, { grant_type: 'client_credentials', ...credentials });
    t.equal(res.statusCode, 200, res.body);
    t.equal(res.json().scope, 'admin');
  });

  t.test('two instances preparing at once create one bootstrap client', async (t) => {
    const database = await freshDatabase(t);
    await database.migrate();
    await new KeyStore(database.db, keyStoreOptions(loadConfig({}))).initialise();
    const dirs = [tempDir(t), tempDir(t)];
    const files = await Promise.all(dirs.map((dir) => ensureBootstrapClient(database.db, dir, 'http://hub/token')));
    t.equal(files.filter(Boolean).length, 1, 'exactly one of them writes credentials');
    const rows = await database.db.select().from(clients);
    t.equal(rows.length, 1);
    const written = JSON.parse(fs.readFileSync(files.find(Boolean)!, 'utf8'));
    t.ok(await verifySecret(written.client_secret, rows[0]!.secretHash), 'the written secret is the stored one');
  });
});
