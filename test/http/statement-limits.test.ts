import t, { type Test } from 'tap';
import postgres from 'postgres';
import { header, registerPartner, searchItem, searchMessage, signJws, type Partner } from '../helpers/dci.js';
import { testHub, withDatabaseName, type TestHub } from '../helpers/hub.js';

const serverUrl = process.env.TEST_DATABASE_URL;

/**
 * A statement that really runs and cannot finish: another connection holds an ACCESS EXCLUSIVE lock on individuals,
 * so any read of people waits until the lock goes — or until the hub cancels it.
 */
async function lockedPeople(t: Test, hub: TestHub) {
  const [{ name }] = (await hub.database.executeSql('SELECT current_database() AS name')).rows as [{ name: string }];
  const sql = postgres(withDatabaseName(serverUrl!, name), { max: 2, onnotice: () => {} });
  const locker = await sql.reserve();
  await locker`BEGIN`;
  await locker`LOCK TABLE individuals IN ACCESS EXCLUSIVE MODE`;
  t.teardown(async () => {
    await locker`ROLLBACK`;
    locker.release();
    await sql.end();
  });
  /** The hub's statements waiting on the lock (asked outside the locking transaction, which sees one snapshot of it). */
  const waiting = async () =>
    Number((await sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${name} AND backend_type = 'client backend' AND wait_event_type = 'Lock' AND state = 'active'`)[0]!.n);
  return { waiting };
}

/** Polls until `check` holds, failing after a generous deadline (no wall time is asserted). */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

async function signedSearch(partner: Partner) {
  const content = { header: header(partner), message: searchMessage([searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'U-1' } })]) };
  return { signature: await signJws(partner.key, content), ...content };
}

t.test(
  'a statement past its surface timeout is cancelled in PostgreSQL and answered in the surface dialect',
  { skip: serverUrl ? false : 'PGlite runs statements in-process: neither statement_timeout nor cancellation applies' },
  async (t) => {
    const hub = await testHub(t, { HUB_DCI_STATEMENT_TIMEOUT_MS: '2000', HUB_FHIR_STATEMENT_TIMEOUT_MS: '2000', HUB_API_STATEMENT_TIMEOUT_MS: '2000' });
    const partner = await registerPartner(hub);
    const { waiting } = await lockedPeople(t, hub);

    const dci = await hub.request({ method: 'POST', url: '/dci/sr/registry/sync/search', token: partner.token, payload: await signedSearch(partner) });
    t.equal(dci.statusCode, 503, 'DCI: 503', { body: dci.body });
    t.equal(dci.json().errors[0].code, 'err.request.timeout', 'DCI: the HttpErrorResponse err.request.timeout');
    t.ok(dci.headers['retry-after'], 'DCI: Retry-After');

    const fhir = await hub.request({ method: 'GET', url: '/fhir/Patient?identifier=U-1' });
    t.equal(fhir.statusCode, 503, 'FHIR: 503', { body: fhir.body });
    t.equal(fhir.json().resourceType, 'OperationOutcome');
    t.equal(fhir.json().issue[0].code, 'timeout', 'FHIR: issue type timeout');

    const api = await hub.request({ method: 'GET', url: '/api/v1/individuals' });
    t.equal(api.statusCode, 503, 'admin: 503', { body: api.body });
    t.match(api.headers['content-type'], /application\/problem\+json/);
    t.equal(api.json().type, 'urn:convergence-hub:problem:timeout');
    t.ok(api.headers['retry-after'], 'admin: Retry-After');

    t.ok(await eventually(async () => (await waiting()) === 0), 'no statement of the hub is left waiting in PostgreSQL');
  },
);

t.test(
  'a client that goes away cancels the statement it was waiting for',
  { skip: serverUrl ? false : 'PGlite runs statements in-process: there is no backend to cancel' },
  async (t) => {
    // No timeout: only the client's going away can stop the statement.
    const hub = await testHub(t, { HUB_DCI_STATEMENT_TIMEOUT_MS: '0' });
    const partner = await registerPartner(hub);
    const address = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    const { waiting } = await lockedPeople(t, hub);

    const client = new AbortController();
    const answer = fetch(`${address}/dci/sr/registry/sync/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${partner.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(await signedSearch(partner)),
      signal: client.signal,
    }).catch((err: Error) => err);
    t.ok(await eventually(async () => (await waiting()) > 0), 'the search statement runs (waits) in PostgreSQL');
    client.abort();
    t.type(await answer, Error, 'the client gave up');
    t.ok(await eventually(async () => (await waiting()) === 0), 'the statement is gone from pg_stat_activity');
  },
);
