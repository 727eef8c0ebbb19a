import { eq, sql } from 'drizzle-orm';
import { exportJWK, generateKeyPair } from 'jose';
import PgBoss from 'pg-boss';
import t from 'tap';
import { queryRows } from '../../../src/db/query-rows.js';
import { civilEvents, reviewTasks } from '../../../src/db/schema/index.js';
import { encryptionKeyIn } from '../../../src/dci/encryption.js';
import { fakeOpenCrvs } from '../../helpers/fake-opencrvs.js';
import { testHub } from '../../helpers/hub.js';

const death = (nid: string, drn: string, date: string) => ({
  identifier: [{ type: 'DRN', value: drn }, { type: 'NID', value: nid }],
  given_name: 'Ana',
  middle_name: null,
  family_name: 'Crvs',
  sex: 'female',
  birthdate: '1950-02-02',
  deathdate: date,
});

t.test('consumer of an OpenCRVS-style CRVS: pull, notify, duplicates, forged signatures, unsure births', async (t) => {
  const crvs = await fakeOpenCrvs(t);
  const registries = [{ name: 'opencrvs', kind: 'dci-crvs', base_url: crvs.base, auth: { token_url: `${crvs.base}/oauth2/client/token`, client_id: 'hub', client_secret: 'secret' }, jwks_from_sender_id: true, pull: { schedule: '30 2 * * *', window_days: 3, event_types: ['death'] } }];
  const hub = await testHub(t, { HUB_REGISTRIES: JSON.stringify(registries) });
  const post = async (url: string, payload: object) => {
    const res = await hub.request({ method: 'POST', url: `/api/v1/${url}`, payload });
    if (res.statusCode >= 300) throw new Error(res.body);
    return res.json();
  };
  const ana = await post('individuals', { given_name: 'Ana', family_name: 'Crvs', sex: 'female', birth_date: '1950-02-02', identifiers: [{ type: 'NIN', value: 'N-ANA' }] });
  const pension = await post('programmes', { code: 'PENSION', subject: 'individual', status: 'active', eligibility: 'age >= 60' });
  t.equal((await post(`programmes/${pension.id}/enrolment`, { activate: true })).enrolled, 1);

  t.test('reconciliation pull: OpenCRVS death records applied by their NID, once', async (t) => {
    crvs.records.push({ event: 'death', record: death('N-ANA', 'DRN-1', '2025-03-03') });
    crvs.records.push({ event: 'death', record: death('N-UNKNOWN', 'DRN-2', '2025-03-04') });
    const pull = () => hub.request({ method: 'POST', url: '/api/v1/registries/opencrvs/pull', payload: { from: '2025-01-01', to: '2025-12-31', event_types: ['death'] } });
    const first = await pull();
    t.equal(first.statusCode, 200, first.body);
    t.same(first.json(), { recorded: 1, duplicate: 0, review: 1 }, 'Ana recorded; the unknown person left for review');
    t.match(crvs.searches[0], { header: { action: 'search', sender_id: 'convergence-hub' }, message: { search_request: [{ search_criteria: { reg_event_type: 'death', query_type: 'predicate' } }] } });
    t.same((await pull()).json(), { recorded: 0, duplicate: 1, review: 1 }, 'nothing twice');
    const person = (await hub.request({ method: 'GET', url: `/api/v1/individuals/${ana.id}` })).json();
    t.equal(person.death_date, '2025-03-03');
    const benefits = (await hub.request({ method: 'GET', url: `/api/v1/programmes/${pension.id}/beneficiaries?status=SUSPENDED` })).json();
    t.equal(benefits.items[0].reason, 'death registered by opencrvs (DRN-1) on 2025-03-03');
    const reviews = await hub.database.db.select().from(reviewTasks).where(eq(reviewTasks.kind, 'death-match'));
    t.equal(reviews.length, 1, 'one review task however often the event arrives');
  });

  t.test('notify callbacks: verified against the JWKS under the sender_id; forgeries refused, duplicates harmless', async (t) => {
    const mother = await post('groups', { code: 'HH-OC', members: [{ role: 'head', individual: { given_name: 'Mia', family_name: 'Crvs', sex: 'female', birth_date: '1995-01-01', identifiers: [{ type: 'NIN', value: 'N-MIA' }] } }] });
    const birth = { identifier: [{ type: 'BRN', value: 'BRN-9' }], given_name: 'Tom', family_name: 'Crvs', sex: 'male', birthdate: '2025-06-01', parent1_identifier: { identifier_type: 'NID', identifier: 'N-MIA' } };
    const url = '/dci/callbacks/opencrvs/registry/notify';
    const { privateKey: forger } = await generateKeyPair('RS256');
    const forged = await hub.request({ method: 'POST', url, token: null, payload: await crvs.notify('live_birth', birth, forger) });
    t.equal(forged.statusCode, 401);
    t.equal(forged.json().errors[0].code, 'err.signature.invalid');
    t.equal((await hub.database.db.select().from(civilEvents).where(eq(civilEvents.registrationNumber, 'BRN-9'))).length, 0, 'nothing applied');

    const signed = await crvs.notify('live_birth', birth);
    for (const attempt of [1, 2]) {
      const res = await hub.request({ method: 'POST', url, token: null, payload: signed });
      t.equal(res.statusCode, 200, `delivery ${attempt} acknowledged`);
      t.equal(res.json().message.ack_status, 'ACK');
    }
    const group = (await hub.request({ method: 'GET', url: `/api/v1/groups/${mother.id}` })).json();
    t.same(group.members.map((m: any) => `${m.given_name}:${m.role}`).sort(), ['Mia:head', 'Tom:child'], 'Tom joined his mother’s household once');

    const orphan = { identifier: [{ type: 'BRN', value: 'BRN-10' }], given_name: 'Lee', family_name: 'Crvs', sex: 'male', birthdate: '2025-06-02', parent1_identifier: { identifier_type: 'NID', identifier: 'N-NOBODY' } };
    t.equal((await hub.request({ method: 'POST', url, token: null, payload: await crvs.notify('live_birth', orphan) })).statusCode, 200);
    const [task] = await hub.database.db.select().from(reviewTasks).where(eq(reviewTasks.kind, 'birth-household'));
    t.match(task, { status: 'open', reason: /no parent is in the registry/ }, 'an unsure birth raises a review task');

    const unknown = await hub.request({ method: 'POST', url: '/dci/callbacks/elsewhere/registry/notify', token: null, payload: signed });
    t.equal(unknown.statusCode, 404);
  });

  t.test('encrypted notify callbacks: decrypted with the hub key its JWKS publishes for encryption', async (t) => {
    const ours = await encryptionKeyIn((await hub.request({ method: 'GET', url: '/.well-known/jwks.json', token: null })).json());
    t.ok(ours, 'the hub publishes an encryption key');
    const url = '/dci/callbacks/opencrvs/registry/notify';
    const twin = { identifier: [{ type: 'BRN', value: 'BRN-11' }], given_name: 'Kai', family_name: 'Crvs', sex: 'male', birthdate: '2025-06-03', parent1_identifier: { identifier_type: 'NID', identifier: 'N-MIA' } };
    const encrypted = await crvs.notify('live_birth', twin, undefined, ours);
    t.ok(typeof encrypted.message.ciphertext === 'string', 'the message travels encrypted');
    const res = await hub.request({ method: 'POST', url, token: null, payload: encrypted });
    t.equal(res.statusCode, 200, res.body);
    t.equal((await hub.database.db.select().from(civilEvents).where(eq(civilEvents.registrationNumber, 'BRN-11'))).length, 1, 'the birth it carried is recorded');

    const { publicKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    const stranger = await encryptionKeyIn({ keys: [{ ...(await exportJWK(publicKey)), kid: 'not-ours', use: 'enc', alg: 'RSA-OAEP-256' }] });
    const misaddressed = await hub.request({ method: 'POST', url, token: null, payload: await crvs.notify('live_birth', { ...twin, identifier: [{ type: 'BRN', value: 'BRN-12' }] }, undefined, stranger) });
    t.equal(misaddressed.statusCode, 400);
    t.equal(misaddressed.json().errors[0].code, 'err.encryption.invalid', 'encrypted to a key that is not ours');
    t.equal((await hub.database.db.select().from(civilEvents).where(eq(civilEvents.registrationNumber, 'BRN-12'))).length, 0, 'nothing applied');
  });

  t.test('scheduled pull: a pg-boss cron schedule per registry; each run pulls the configured window', async (t) => {
    const schedules = await queryRows(hub.database.db, sql`SELECT name, cron, options->>'tz' AS tz FROM pgboss.schedule`);
    t.same(schedules, [{ name: 'registry-pull.opencrvs', cron: '30 2 * * *', tz: 'UTC' }], 'stored when the hub starts');

    const bo = await post('individuals', { given_name: 'Bo', family_name: 'Crvs', sex: 'male', birth_date: '1940-01-01', identifiers: [{ type: 'NIN', value: 'N-BO' }] });
    crvs.records.push({ event: 'death', record: death('N-BO', 'DRN-3', '2025-05-05') });
    const searchesBefore = crvs.searches.length;
    // What the cron would enqueue at 02:30: the hub's worker takes it like any job.
    const boss = new PgBoss({ db: hub.database, schema: 'pgboss', supervise: false, schedule: false });
    await boss.start();
    t.teardown(() => boss.stop({ graceful: false, wait: true, close: false }));
    await boss.send('registry-pull.opencrvs', {});
    for (let i = 0; i < 600 && (await hub.request({ method: 'GET', url: `/api/v1/individuals/${bo.id}` })).json().death_date === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    t.equal((await hub.request({ method: 'GET', url: `/api/v1/individuals/${bo.id}` })).json().death_date, '2025-05-05', 'the pulled death applied');
    const day = (offset: number) => new Date(Date.now() - offset * 24 * 3600 * 1000).toISOString().slice(0, 10);
    const query = (crvs.searches[searchesBefore] as any).message.search_request[0].search_criteria.query[0];
    t.same([query.expression1.attribute_value, query.expression2.attribute_value], [day(3), day(0)], 'registrations of the last 3 days');
  });

  t.test('approval switched on: a reported death waits in a maker-checker task; approving it suspends', async (t) => {
    const cleo = await post('individuals', { given_name: 'Cleo', family_name: 'Crvs', sex: 'female', birth_date: '1930-01-01', identifiers: [{ type: 'NIN', value: 'N-CLEO' }] });
    const checked = await post('programmes', { code: 'PENSION-CHECKED', subject: 'individual', status: 'active', eligibility: 'age >= 90', approvals: { death_suspension: 1 } });
    t.equal((await post(`programmes/${checked.id}/enrolment`, { activate: true })).enrolled, 1, 'Cleo alone');
    const beneficiary = async () => (await hub.request({ method: 'GET', url: `/api/v1/programmes/${checked.id}/beneficiaries` })).json().items[0];

    const signed = await crvs.notify('death', death('N-CLEO', 'DRN-20', '2025-07-07'));
    for (const attempt of [1, 2]) {
      const res = await hub.request({ method: 'POST', url: '/dci/callbacks/opencrvs/registry/notify', token: null, payload: signed });
      t.equal(res.statusCode, 200, `delivery ${attempt} acknowledged`);
    }
    t.equal((await hub.request({ method: 'GET', url: `/api/v1/individuals/${cleo.id}` })).json().death_date, '2025-07-07', 'marked deceased at once');
    t.equal((await beneficiary()).status, 'ACTIVE', 'the suspension waits for its approval');
    const reason = 'death registered by opencrvs (DRN-20) on 2025-07-07';
    const tasks = (await hub.request({ method: 'GET', url: `/api/v1/tasks?status=pending&programme_id=${checked.id}` })).json().items;
    t.match(tasks, [{ kind: 'death_suspension', maker: 'registry:opencrvs', change: { to: 'SUSPENDED', reason }, items: { total: 1 } }], 'one task, however often the death arrives');
    t.equal(tasks.length, 1);

    const checker = await hub.client(['workflow:read', 'workflow:approve']);
    const approved = await hub.request({ method: 'POST', url: `/api/v1/tasks/${tasks[0].id}/approve`, payload: {}, token: checker.token });
    t.equal(approved.json().status, 'applied', approved.body);
    const after = await beneficiary();
    t.equal(after.status, 'SUSPENDED');
    t.equal((await hub.request({ method: 'GET', url: `/api/v1/programmes/${checked.id}/beneficiaries/${after.id}` })).json().reason, reason, 'the registration is the reason');
  });
});
