import type { AddressInfo } from 'node:net';
import pino from 'pino';
import t, { type Test } from 'tap';
import { payeeAddresses } from '../../src/adapters/payment/financial-address.js';
import { encryptionKeyIn } from '../../src/dci/encryption.js';
import { fakeDisbursement } from '../helpers/fake-disbursement.js';
import { testHub, type TestHub } from '../helpers/hub.js';
import { create } from '../helpers/registry.js';
import { activeProgramme, enrolAll, generate, paymentsOf, plan } from './fixtures.js';

/** Polls (up to ~30 s) until `done` holds for the cycle's payments. */
async function until(hub: TestHub, cycleId: string, done: (payments: Awaited<ReturnType<typeof paymentsOf>>) => boolean, what: string) {
  for (let i = 0; i < 1200; i++) {
    const payments = await paymentsOf(hub, cycleId);
    if (done(payments)) return payments;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** Three households: Ann and Bo have a mobile-money number, Cy none; the gateway rejects Bo's account. */
async function registry(t: Test, hub: TestHub) {
  const area = await create(t, hub, 'locations', { code: 'AREA', name: 'Area' });
  const head = (given: string, momo?: string) => ({
    role: 'head',
    individual: { given_name: given, family_name: 'Pay', sex: 'female', birth_date: '1990-01-01', location_id: area.id, ...(momo ? { identifiers: [{ type: 'MOMO', value: momo }] } : {}) },
  });
  const ids: Record<string, string> = {};
  for (const [code, given, momo] of [['A', 'Ann', '79000001'], ['B', 'Bo', '79000002'], ['C', 'Cy', undefined]] as const) {
    ids[(await create(t, hub, 'groups', { code, location_id: area.id, members: [head(given, momo)] })).id] = given;
  }
  return ids;
}

t.test('dci-disburse: signed batches, callbacks, retries without paying twice, status checks', async (t) => {
  const fake = await fakeDisbursement(t);
  fake.rejectFa.add('mobile:79000002@lumicash');
  const logs: Record<string, any>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const gateway = fake.config({ payee_fa: { identifier_type: 'MOMO', format: 'mobile:{value}@lumicash' }, purpose: 'Cash transfer 2026', batch_size: 2, retries: 3, retry_delay: 1, timeout_ms: 1500 });
  // `down` answers nothing (nothing listens on port 9) and gives up at the first failure.
  const down = fake.config({ base_url: 'http://127.0.0.1:9', payee_fa: { identifier_type: 'MOMO', format: 'mobile:{value}@lumicash' }, retries: 0 });
  const hub = await testHub(t, { HUB_PAYMENT_GATEWAYS: JSON.stringify({ pay: gateway, down }) }, { logger });
  await hub.app.listen({ port: 0, host: '127.0.0.1' });
  fake.connect(`http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`, (await hub.request({ method: 'GET', url: '/.well-known/jwks.json', token: null })).json());

  const names = await registry(t, hub);
  const programme = await activeProgramme(t, hub);
  const monthly = await plan(t, hub, programme.id, { gateway: 'pay' });
  await enrolAll(t, hub, programme.id);
  const approver = await hub.client(['payments:approve']);
  const approvedCycle = async (period: string, planId = monthly.id) => {
    const cycle = (await generate(hub, planId, period)).json().cycle;
    t.equal((await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/approve`, token: approver.token })).statusCode, 200);
    return cycle.id as string;
  };
  const byName = (payments: Awaited<ReturnType<typeof paymentsOf>>) => Object.fromEntries(payments.map((p) => [names[p.subject_id]!, p]));
  const settled = (payments: Awaited<ReturnType<typeof paymentsOf>>) => payments.every((p) => p.status === 'PAID' || p.status === 'FAILED');

  // A cycle sent: Cy has no address and fails at once; Ann and Bo go out in signed disburse batches.
  const january = await approvedCycle('2026-01-01');
  const sent = await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${january}/send` });
  t.equal(sent.statusCode, 200, sent.body);
  t.match(sent.json(), { accepted: 2, failed: 1, cycle: { status: 'SENT' } });
  const first = byName(await until(hub, january, settled, 'the January payments are settled'));
  t.match(first.Ann, { status: 'PAID', reason: null, gateway_reference: /^GW-\d+$/ }, 'paid on the on-disburse callback, keeping the gateway’s reference');
  t.match(first.Bo, { status: 'FAILED', reason: 'rjct.payee_fa.invalid: the payee account does not exist' }, 'rejected with the gateway’s reason');
  t.match(first.Cy, { status: 'FAILED', reason: 'not sent: the payee has no identifier MOMO' });
  t.notOk([...fake.ledger.values()].some((e) => e.reference_id === first.Cy!.reference_id), 'a payment without an address never reaches the gateway');
  const disburses = fake.requests.filter((r) => r.path === '/disburse');
  t.match(disburses.flatMap((r) => r.body.message.disbursements), [
    { payer_fa: 'account:0001@central-bank', payee_fa: /^mobile:7900000[12]@lumicash$/, amount: '15000.00', currency_code: 'BIF', purpose: 'Cash transfer 2026' },
    { payee_fa: /^mobile:7900000[12]@lumicash$/, amount: '15000.00' },
  ]);
  t.same(
    disburses.flatMap((r) => r.body.message.disbursements.map((d: { reference_id: string }) => d.reference_id)).sort(),
    [first.Ann!.reference_id, first.Bo!.reference_id].sort(),
    'each payment’s reference_id is our payment reference',
  );

  // The same on-disburse again changes nothing.
  const replay = await fake.replay();
  t.match(replay, { status: 200, body: { message: { ack_status: 'ACK' } } });
  t.same(byName(await paymentsOf(hub, january)), first, 'a duplicate on-disburse is harmless');

  // A forged one (another key under the gateway's kid) is refused, and so is nothing applied from it.
  const lie = { transaction_id: fake.lastOnDisburse()!.message.transaction_id, disbursements_status: [{ reference_id: first.Bo!.reference_id, timestamp: new Date().toISOString(), status: 'succ' }] };
  const forged = await fake.post(fake.lastOnDisburse()!.path, 'on-disburse', lie, { key: await fake.forgedKey() });
  t.match(forged, { status: 401, body: { message: { ack_status: 'ERR', error: { code: 'err.signature.invalid' } } } });
  t.equal(byName(await paymentsOf(hub, january)).Bo!.status, 'FAILED');

  // An outcome for a reference the cycle does not have is reported as a mismatch, not applied.
  const stray = await fake.post(fake.lastOnDisburse()!.path, 'on-disburse', { ...lie, disbursements_status: [{ ...lie.disbursements_status[0], reference_id: 'PAY-unknown' }] });
  t.match(stray, { status: 200, body: { message: { ack_status: 'ACK' } } });
  t.match(logs.find((l) => l.msg === 'payment gateway callback reconciled' && l.mismatch_count > 0), {
    gateway: 'pay',
    mismatches: [{ reference_id: 'PAY-unknown', problem: 'unknown_reference' }],
  });

  // A callback encrypted to the encryption key the hub publishes is decrypted before its outcomes are read.
  const hubKey = await encryptionKeyIn((await hub.request({ method: 'GET', url: '/.well-known/jwks.json', token: null })).json());
  const sealed = { ...lie, disbursements_status: [{ ...lie.disbursements_status[0], reference_id: 'PAY-sealed' }] };
  t.match(await fake.post(fake.lastOnDisburse()!.path, 'on-disburse', sealed, { encryptTo: hubKey }), { status: 200, body: { message: { ack_status: 'ACK' } } });
  t.ok(
    logs.some((l) => l.msg === 'payment gateway callback reconciled' && l.mismatches?.some((m: { reference_id: string }) => m.reference_id === 'PAY-sealed')),
    'the encrypted outcome was read (and, naming no payment of the cycle, reported as a mismatch)',
  );

  // A gateway that takes the first batch and times out: the job retries with the same references, nothing is paid twice.
  fake.state.stall = 1;
  fake.state.silent = true;
  const february = await approvedCycle('2026-02-01');
  t.match((await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${february}/send` })).json(), { accepted: 2, failed: 1 });
  const references = byName(await paymentsOf(hub, february));
  const mine = [references.Ann!.reference_id, references.Bo!.reference_id];
  await until(hub, february, (ps) => ps.filter((p) => p.status !== 'FAILED').every((p) => p.status === 'SENT' && p.gateway_reference !== null), 'every batch is acknowledged');
  t.equal(fake.state.stall, 0, 'the first call timed out');
  t.same(mine.map((ref) => fake.ledger.get(ref)!.status), ['succ', 'rjct'], 'the gateway paid (or refused) each payment once');
  t.ok(mine.some((ref) => fake.ledger.get(ref)!.received === 2), 'the timed-out batch was received twice, under the same references');
  t.equal(fake.ledger.size, 4, 'one ledger entry per reference: nothing paid twice');

  // Reconciliation by txn/status: the answer comes back as txn/on-status.
  const check = await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${february}/status-check` });
  t.equal(check.statusCode, 200, check.body);
  const second = byName(await until(hub, february, settled, 'the February payments are settled by txn/on-status'));
  t.match(second, { Ann: { status: 'PAID' }, Bo: { status: 'FAILED', reason: /^rjct\.payee_fa\.invalid/ }, Cy: { status: 'FAILED' } });
  t.equal(fake.requests.filter((r) => r.path === '/disburse/txn/status').length, 1);

  // A gateway that never acknowledges: after the last attempt the payments are PENDING again, to be sent again.
  const unreachable = await approvedCycle('2026-01-01', (await plan(t, hub, programme.id, { name: 'Unreachable', gateway: 'down' })).id);
  t.match((await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${unreachable}/send` })).json(), { accepted: 2, cycle: { status: 'SENT' } });
  const returned = byName(await until(hub, unreachable, (ps) => ps.every((p) => p.status !== 'SENT'), 'the undelivered payments return to PENDING'));
  t.match(returned, { Ann: { status: 'PENDING', last_error: /^gateway down, attempt 1 of 1: / }, Bo: { status: 'PENDING' }, Cy: { status: 'FAILED' } });
  t.match((await hub.request({ method: 'GET', url: `/api/v1/payment-cycles/${unreachable}` })).json(), { status: 'APPROVED' }, 'and the cycle is to be sent again');

  // Addresses from an attribute or an identifier: missing, ambiguous and malformed ones are problems.
  const person = async (extra: object) => (await create(t, hub, 'individuals', { given_name: 'P', family_name: 'Q', sex: 'male', birth_date: '1980-01-01', ...extra })).id as string;
  const whole = await person({ attributes: { wallet: 'account:42@national-bank' } });
  const bad = await person({ attributes: { wallet: 'not an address' } });
  const twice = await person({ identifiers: [{ type: 'MOMO', value: '1' }, { type: 'MOMO', value: '2' }] });
  const none = await person({});
  const db = hub.database.db;
  const byAttribute = await payeeAddresses(db, [whole, bad, none], { attribute: 'wallet', format: '{value}' });
  t.same(byAttribute.get(whole), { address: 'account:42@national-bank' });
  t.match(byAttribute.get(bad), { problem: /attribute wallet gives "not an address", not a financial address/ });
  t.equal(byAttribute.get(none), undefined);
  const byIdentifier = await payeeAddresses(db, [twice, none], { identifier_type: 'MOMO', format: 'mobile:{value}@lumicash' });
  t.match(byIdentifier.get(twice), { problem: /more than one identifier MOMO/ });
  t.equal(byIdentifier.get(none), undefined);

  t.same(fake.problems, [], 'every message either side sent validates against the schemas and every signature verifies');
});

