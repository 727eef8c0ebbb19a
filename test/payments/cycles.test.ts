import t from 'tap';
import { testHub } from '../helpers/hub.js';
import { auditActions, expectAuditChainOk, expectProblem } from '../helpers/registry.js';
import { activeProgramme, enrolAll, generate, paymentRegistry, paymentsOf, plan } from './fixtures.js';

t.test('plans, set-based idempotent cycles, four-eyes approval, sending through the sandbox', async (t) => {
  const hub = await testHub(t);
  const { north, ids } = await paymentRegistry(t, hub);
  const programme = await activeProgramme(t, hub);

  const bad = expectProblem(
    t,
    await hub.request({ method: 'POST', url: `/api/v1/programmes/${programme.id}/payment-plans`, payload: { name: 'x', amount: 'base + wealth', parameters: { base: 1 }, frequency: 'once', start_date: '2026-01-01', end_date: '2026-01-31', gateway: 'sandbox' } }),
    422,
  );
  t.match(bad.errors, [{ pointer: '/amount', detail: /unknown name "wealth" \(at character 8\)/ }]);
  const shadow = expectProblem(
    t,
    await hub.request({ method: 'POST', url: `/api/v1/programmes/${programme.id}/payment-plans`, payload: { name: 'x', amount: 'size', parameters: { size: 1 }, frequency: 'once', start_date: '2026-01-01', end_date: '2026-01-31', gateway: 'sandbox' } }),
    422,
  );
  t.match(shadow.errors, [{ pointer: '/parameters/size' }], 'a parameter may not hide a registry name');
  const unknownGateway = expectProblem(
    t,
    await hub.request({ method: 'POST', url: `/api/v1/programmes/${programme.id}/payment-plans`, payload: { name: 'x', amount: '1', frequency: 'once', start_date: '2026-01-01', end_date: '2026-01-31', gateway: 'bank-z' } }),
    422,
  );
  t.match(unknownGateway.errors, [{ pointer: '/gateway' }]);

  const monthly = await plan(t, hub, programme.id);
  t.equal(monthly.periods.length, 6);
  t.same(monthly.periods[1], { start: '2026-02-01', end: '2026-02-28' });
  t.equal(monthly.currency, 'BIF');
  t.equal((await enrolAll(t, hub, programme.id)).enrolled, 4);

  const first = await generate(hub, monthly.id);
  t.equal(first.statusCode, 200, first.body);
  const cycle = first.json().cycle;
  t.match(first.json(), { added: 3, updated: 0, removed: 0 });
  t.match(cycle, { period_start: '2026-01-01', period_end: '2026-01-31', status: 'DRAFT', payment_count: 3, total_amount: 90000, payable_count: 3, payable_amount: 90000, currency: 'BIF', generated_by: 'bootstrap-admin' });
  const amounts = Object.fromEntries((await paymentsOf(hub, cycle.id)).map((p) => [p.subject_id, p.amount]));
  t.same(amounts, { [ids.H1!]: 20000, [ids.H2!]: 30000, [ids.H3!]: 40000 }, 'H4, whose only member is deceased, is not paid');

  const again = await generate(hub, monthly.id, '2026-01-01');
  t.match(again.json(), { added: 0, updated: 0, removed: 0, cycle: { id: cycle.id, payment_count: 3 } }, 'generating again never duplicates');
  const references = (await paymentsOf(hub, cycle.id)).map((p) => p.reference_id).sort();

  const h2 = (await hub.request({ method: 'GET', url: `/api/v1/programmes/${programme.id}/beneficiaries?status=ACTIVE` })).json().items.find((b: { subject_id: string }) => b.subject_id === ids.H2);
  t.equal((await hub.request({ method: 'POST', url: `/api/v1/programmes/${programme.id}/beneficiaries/${h2.id}/status`, payload: { status: 'SUSPENDED', reason: 'moved away' } })).statusCode, 200);
  const refreshed = await generate(hub, monthly.id, '2026-01-01');
  t.match(refreshed.json(), { removed: 1, cycle: { payment_count: 2, total_amount: 60000 } }, 'a suspended beneficiary leaves a DRAFT cycle');
  t.equal((await hub.request({ method: 'POST', url: `/api/v1/programmes/${programme.id}/beneficiaries/${h2.id}/status`, payload: { status: 'ACTIVE', reason: 'back' } })).statusCode, 200);
  t.match((await generate(hub, monthly.id, '2026-01-01')).json(), { added: 1, cycle: { payment_count: 3 } });
  t.same((await paymentsOf(hub, cycle.id)).map((p) => p.reference_id).sort(), references, 'references are stable: they are the idempotency keys');

  expectProblem(t, await generate(hub, monthly.id, '2026-01-15'), 422, 'not a period start');
  t.equal((await generate(hub, monthly.id)).json().cycle.period_start, '2026-02-01', 'without a period, the next one');

  const northOnly = await plan(t, hub, programme.id, { name: 'Young children bonus', amount: '7000', parameters: {}, frequency: 'once', condition: 'count_members(age < 5) > 0', location_id: north.id, end_date: '2026-01-31' });
  const bonus = (await generate(hub, northOnly.id)).json().cycle;
  t.same((await paymentsOf(hub, bonus.id)).map((p) => [p.subject_id, p.amount]), [[ids.H1, 7000]], 'condition and area filters');

  t.equal((await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/send` })).statusCode, 409, 'a DRAFT cycle is not sent');
  expectProblem(t, await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/approve` }), 403, 'who generated cannot approve');
  const writer = await hub.client(['payments:read', 'payments:write']);
  expectProblem(t, await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/approve`, token: writer.token }), 403, 'approval needs payments:approve');
  const approver = await hub.client(['payments:read', 'payments:approve']);
  const approved = await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/approve`, token: approver.token });
  t.equal(approved.statusCode, 200, approved.body);
  t.match(approved.json(), { status: 'APPROVED', approved_by: approver.clientId, payable_amount: 90000 });
  expectProblem(t, await generate(hub, monthly.id, '2026-01-01'), 409, 'an approved cycle is frozen');

  const sent = await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/send` });
  t.equal(sent.statusCode, 200, sent.body);
  t.match(sent.json(), { batches: 1, paid: 3, failed: 0, unacknowledged: 0, held: 0, cycle: { status: 'SENT' } });
  const paid = await paymentsOf(hub, cycle.id);
  t.ok(paid.every((p) => p.status === 'PAID' && /^SBX-/.test(p.gateway_reference ?? '') && p.attempts === 1));
  t.match((await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/send` })).json(), { batches: 0, paid: 0 }, 'sending again sends nothing');

  const regional = await hub.client(['payments:read', 'programmes:read'], { location_id: north.id });
  expectProblem(t, await hub.request({ method: 'GET', url: `/api/v1/payment-cycles/${cycle.id}`, token: regional.token }), 404, 'a national programme is outside a regional scope');
  t.same(await auditActions(t, hub, cycle.id), [
    'payment_cycle.generate', 'payment_cycle.generate', 'payment_cycle.generate', 'payment_cycle.generate',
    'payment_cycle.approve', 'payment_cycle.send', 'payment_cycle.send',
  ]);
  await expectAuditChainOk(t, hub);
});

t.test('payments are listed within the geographic scope', async (t) => {
  const hub = await testHub(t);
  const { north, ids } = await paymentRegistry(t, hub);
  const programme = await activeProgramme(t, hub, { code: 'NORTH-CASH', location_id: north.id });
  const monthly = await plan(t, hub, programme.id);
  await enrolAll(t, hub, programme.id);
  const cycle = (await generate(hub, monthly.id)).json().cycle;
  const regional = await hub.client(['payments:read'], { location_id: north.id });
  t.same((await paymentsOf(hub, cycle.id, regional.token)).map((p) => p.subject_id), [ids.H1]);
});

t.test('budget: enrolment takes the best-ranked while their projected cost fits; cycles over budget are refused', async (t) => {
  const hub = await testHub(t);
  const { ids } = await paymentRegistry(t, hub);
  const programme = await activeProgramme(t, hub, { budget: 400000 });
  const noPlan = expectProblem(t, await hub.request({ method: 'POST', url: `/api/v1/programmes/${programme.id}/enrolment`, payload: { activate: true } }), 409);
  t.match(noPlan.detail, /has a budget but no payment plan/);

  const monthly = await plan(t, hub, programme.id);
  // Six periods; per household 6 × amount: H4 (size 1) 90000, H1 (2) 120000, H2 (4) 180000, H3 (8) 240000.
  // Ranked by size: 90000 + 120000 + 180000 = 390000 fits in 400000, H3 would not.
  const enrolled = await enrolAll(t, hub, programme.id);
  t.same(enrolled, { as_of: '2026-01-01', status: 'ACTIVE', enrolled: 3, remaining_quota: null, projected_cost: 390000, remaining_budget: 10000 });
  const subjects = (await hub.request({ method: 'GET', url: `/api/v1/programmes/${programme.id}/beneficiaries` })).json().items.map((b: { subject_id: string }) => b.subject_id).sort();
  t.same(subjects, [ids.H1, ids.H2, ids.H4].sort());
  t.match(await enrolAll(t, hub, programme.id), { enrolled: 0, remaining_budget: 10000 }, 'nothing more fits');

  t.equal((await hub.request({ method: 'PATCH', url: `/api/v1/programmes/${programme.id}`, headers: { 'if-match': `"${programme.version}"` }, payload: { budget: 40000 } })).statusCode, 200);
  const over = expectProblem(t, await generate(hub, monthly.id), 422, 'a cycle over budget');
  t.match(over.detail, /totals 50000\.00 BIF exceeds the remaining budget of programme CASH: 40000\.00 BIF/);
  t.same((await hub.request({ method: 'GET', url: `/api/v1/payment-plans/${monthly.id}/cycles` })).json().items, [], 'nothing was kept');
});

t.test('conditional cash transfer: only compliant beneficiaries are paid', async (t) => {
  const hub = await testHub(t);
  const { ids } = await paymentRegistry(t, hub);
  const programme = await activeProgramme(t, hub);
  const cct = await plan(t, hub, programme.id, { conditional: true });
  const unconditional = await plan(t, hub, programme.id, { name: 'plain' });
  await enrolAll(t, hub, programme.id);
  const cycle = (await generate(hub, cct.id)).json().cycle;
  t.match(cycle, { conditional: true, payment_count: 3, payable_count: 0 });
  const approver = await hub.client(['payments:approve']);
  expectProblem(t, await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/approve`, token: approver.token }), 409, 'nothing compliant yet');

  const mark = (compliant: boolean, subjects: string[], cycleId = cycle.id) =>
    hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycleId}/compliance`, payload: { compliant, note: 'health visits', where: { subject_ids: subjects } } });
  const marked = await mark(true, [ids.H1!, ids.H2!, ids.H3!]);
  t.match(marked.json(), { changed: 3, cycle: { payable_count: 3, payable_amount: 90000 } });
  t.match((await mark(false, [ids.H3!])).json(), { changed: 1, cycle: { payable_count: 2, payable_amount: 50000 } });
  t.equal((await mark(false, [ids.H3!])).json().changed, 0, 'recording the same again changes nothing');
  const other = (await generate(hub, unconditional.id)).json().cycle;
  expectProblem(t, await mark(true, [ids.H1!], other.id), 409, 'an unconditional plan has no compliance');

  t.equal((await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/approve`, token: approver.token })).json().payable_amount, 50000);
  expectProblem(t, await mark(true, [ids.H3!]), 409, 'compliance is frozen by approval');
  t.match((await hub.request({ method: 'POST', url: `/api/v1/payment-cycles/${cycle.id}/send` })).json(), { paid: 2, cycle: { status: 'SENT' } });
  const bySubject = Object.fromEntries((await paymentsOf(hub, cycle.id)).map((p) => [p.subject_id, [p.status, p.compliant]]));
  t.same(bySubject, { [ids.H1!]: ['PAID', true], [ids.H2!]: ['PAID', true], [ids.H3!]: ['PENDING', false] });
});
