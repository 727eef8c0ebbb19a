import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { compactVerify, createLocalJWKSet } from 'jose';
import t, { type Test } from 'tap';
import { SandboxGateway, type SandboxOptions } from '../../src/adapters/payment/sandbox.js';
import type { BatchReceipt, OutgoingBatch, PaymentGateway } from '../../src/payments/gateway.js';
import { tempDir, testHub, type TestHub } from '../helpers/hub.js';
import { expectProblem } from '../helpers/registry.js';
import { activeProgramme, enrolAll, generate, paymentRegistry, paymentsOf, plan } from './fixtures.js';

/**
 * A provider with a real ledger (the sandbox) behind an unreliable line: `fault` decides, per call, what reaches the
 * provider and what comes back.
 */
class UnreliableLine implements PaymentGateway {
  readonly name = 'flaky';
  readonly batchSize = 2;
  fault: 'none' | 'timeout' | 'half' | 'twice' = 'none';
  constructor(readonly provider: SandboxGateway) {}

  async send(batch: OutgoingBatch): Promise<BatchReceipt> {
    if (this.fault === 'half') {
      // The provider takes the first payment, then the connection breaks: only that one is acknowledged.
      const receipt = await this.provider.send({ ...batch, payments: batch.payments.slice(0, 1) });
      return receipt;
    }
    const receipt = await this.provider.send(batch);
    if (this.fault === 'timeout') throw new Error('timed out after 30 s');
    if (this.fault === 'twice') return { results: [...receipt.results, ...receipt.results] };
    return receipt;
  }

  fetchStatus(references: string[]) {
    return this.provider.fetchStatus(references);
  }
}

const sandbox = (options: Partial<SandboxOptions> = {}) =>
  new SandboxGateway('flaky', { failureRate: 0, seed: 7, settle: 'immediate', batchSize: 2, ...options });

async function approvedCycle(t: Test, hub: TestHub, gateway = 'flaky') {
  await paymentRegistry(t, hub);
  const programme = await activeProgramme(t, hub);
  const monthly = await plan(t, hub, programme.id, { gateway });
  await enrolAll(t, hub, programme.id);
  const cycle = (await generate(hub, monthly.id)).json().cycle;
  const approver = await hub.client(['payments:approve']);
  t.equal((await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/approve`, token: approver.token })).statusCode, 200);
  return cycle as { id: string };
}

t.test('a gateway that times out, fails mid-batch or answers twice: no payment lost or made twice', async (t) => {
  const line = new UnreliableLine(sandbox());
  const hub = await testHub(t, {}, { gateways: new Map([['flaky', line]]) });
  const cycle = await approvedCycle(t, hub);
  const send = async () => (await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/send` })).json();

  line.fault = 'timeout';
  const timedOut = await send();
  t.match(timedOut, { batches: 1, paid: 0, unacknowledged: 2, error: /timed out/, cycle: { status: 'APPROVED' } }, 'sending stops at the first failed call');
  t.equal(line.provider.payouts().length, 2, 'yet the provider received the first batch');
  t.same((await paymentsOf(hub, cycle.id)).map((p) => p.status), ['PENDING', 'PENDING', 'PENDING']);

  line.fault = 'half';
  const half = await send();
  t.match(half, { batches: 2, paid: 2, unacknowledged: 1, cycle: { status: 'APPROVED' } }, 'batches of 2 and 1: the first payment of each acknowledged');

  line.fault = 'twice';
  const twice = await send();
  t.match(twice, { paid: 1, unacknowledged: 0, cycle: { status: 'SENT' } });
  const final = await paymentsOf(hub, cycle.id);
  t.ok(final.every((p) => p.status === 'PAID'), 'every payment paid in the end');
  const payouts = line.provider.payouts();
  t.equal(payouts.length, 3, 'the provider paid each reference once');
  t.same(payouts.map((p) => p.reference_id).sort(), final.map((p) => p.reference_id).sort());
  t.ok(payouts.some((p) => p.received > 1), 'some were received more than once, under the same reference');
  t.same(final.map((p) => p.gateway_reference).sort(), payouts.map((p) => p.gateway_reference).sort(), "the provider's references are kept");
  t.match((await send()), { batches: 0 }, 'nothing left to send');
});

t.test('sandbox: deterministic failures, deferred settlement, status checks are idempotent', async (t) => {
  const provider = sandbox({ failureRate: 0.5, settle: 'deferred', batchSize: 1000 });
  const hub = await testHub(t, {}, { gateways: new Map([['flaky', provider]]) });
  const cycle = await approvedCycle(t, hub);
  const sent = (await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/send` })).json();
  t.match(sent, { accepted: 3, paid: 0, failed: 0, cycle: { status: 'SENT' } });
  t.ok((await paymentsOf(hub, cycle.id)).every((p) => p.status === 'SENT'));
  const check = await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/status-check` });
  t.equal(check.statusCode, 200, check.body);
  const expected = new Map(provider.payouts().map((p) => [p.reference_id, p.status]));
  const failed = [...expected.values()].filter((s) => s === 'FAILED').length;
  t.match(check.json(), { reported: 3, paid: 3 - failed, failed, mismatch_count: 0 });
  for (const p of await paymentsOf(hub, cycle.id)) {
    t.equal(p.status, expected.get(p.reference_id), `${p.reference_id} settled as the provider says`);
    if (p.status === 'FAILED') t.match(p.reason, /simulated failure/);
  }
  const again = new SandboxGateway('again', { failureRate: 0.5, seed: 7, settle: 'immediate', batchSize: 10 });
  const replay = await again.send({ cycle_id: cycle.id, sequence: 1, payments: provider.payouts().map((p) => ({ reference_id: p.reference_id, amount: p.amount, currency: 'BIF', beneficiary_id: p.reference_id, subject_id: p.reference_id, payee: { id: null, name: null, phone: null } })) });
  t.same(replay.results.map((r) => r.status), provider.payouts().map((p) => p.status), 'the same seed gives the same outcomes');
  t.match((await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/status-check` })).json(), { reported: 0, paid: 0 }, 'settled payments are not asked again');
});

t.test('file gateway: signed export, reconciliation file applied and mismatches reported', async (t) => {
  const directory = tempDir(t);
  const hub = await testHub(t, { HUB_PAYMENT_GATEWAYS: JSON.stringify({ bank: { adapter: 'file', directory } }) });
  const cycle = await approvedCycle(t, hub, 'bank');
  const sent = await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/send` });
  t.equal(sent.statusCode, 200, sent.body);
  t.match(sent.json(), { accepted: 3, cycle: { status: 'SENT' } });
  const [artefact] = sent.json().artefacts;
  const csv = fs.readFileSync(path.join(directory, artefact.name), 'utf8');
  t.equal(createHash('sha256').update(csv).digest('hex'), artefact.sha256, 'the SHA-256 is the file’s');
  t.equal(fs.readFileSync(path.join(directory, `${artefact.name}.manifest.jws`), 'utf8'), artefact.manifest);
  const jwks = (await hub.request({ method: 'GET', url: '/.well-known/jwks.json', token: null })).json();
  const { payload, protectedHeader } = await compactVerify(artefact.manifest, createLocalJWKSet(jwks));
  t.equal(protectedHeader.typ, 'payment-manifest+jws');
  t.match(JSON.parse(new TextDecoder().decode(payload)), { file: artefact.name, sha256: artefact.sha256, payments: 3, total: '90000.00', currency: 'BIF', cycle_id: cycle.id });
  const lines = csv.trim().split('\n');
  t.equal(lines[0], 'reference_id,beneficiary_id,subject_id,payee_name,payee_phone,amount,currency');
  t.equal(lines.length, 4);

  const payments = await paymentsOf(hub, cycle.id);
  const [a, b, c] = payments.map((p) => p.reference_id);
  const amountOf = (ref: string) => payments.find((p) => p.reference_id === ref)!.amount;
  const reconcile = (body: string) =>
    hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/reconciliation`, headers: { 'content-type': 'text/csv' }, payload: body });
  const file = [
    'reference_id,status,reason,gateway_reference,amount',
    `${a},paid,,BANK-1,${amountOf(a!)}`,
    `${b},failed,account closed,BANK-2,`,
    `${c},paid,,BANK-3,1.00`,
    'PAY-unknown,paid,,BANK-4,',
  ].join('\n');
  const first = await reconcile(file);
  t.equal(first.statusCode, 200, first.body);
  t.match(first.json(), {
    reported: 4,
    paid: 1,
    failed: 1,
    unchanged: 0,
    mismatch_count: 2,
    mismatches: [
      { line: 4, reference_id: c, problem: 'amount_mismatch' },
      { line: 5, reference_id: 'PAY-unknown', problem: 'unknown_reference' },
    ],
  });
  const after = Object.fromEntries((await paymentsOf(hub, cycle.id)).map((p) => [p.reference_id, [p.status, p.gateway_reference, p.reason]]));
  t.same(after[a!], ['PAID', 'BANK-1', null]);
  t.same(after[b!], ['FAILED', 'BANK-2', 'account closed']);
  t.same(after[c!], ['SENT', null, null], 'an amount difference is not applied');

  const second = await reconcile([
    'reference_id,status,gateway_reference',
    `${a},paid,BANK-1`,
    `${b},paid,BANK-2`,
    `${c},paid,BANK-3`,
    `${c},paid,BANK-3`,
  ].join('\n'));
  t.match(second.json(), {
    paid: 0,
    unchanged: 1,
    mismatch_count: 3,
    mismatches: [
      { reference_id: b, problem: 'conflicting_status' },
      { reference_id: c, problem: 'duplicate' },
      { reference_id: c, problem: 'duplicate' },
    ],
  }, 'contradictions and duplicates are reported, a repeat is unchanged');
  const badLine = expectProblem(t, await reconcile(`reference_id,status\n${a},maybe`), 422);
  t.match(badLine.detail, /line 2: status must be paid or failed/);
});
