import t, { type Test } from 'tap';
import { testHub, type TestHub } from '../helpers/hub.js';
import { auditActions, create, expectAuditChainOk, expectProblem, walk } from '../helpers/registry.js';

/**
 * Maker-checker tasks over one hub whose default rule (HUB_APPROVALS) asks one approval of manual status changes.
 * The subtests run in order on the same registry: each builds on the state the previous one left.
 */
const AS_OF = '2026-01-01';

interface Member {
  individual_id: string;
  given_name: string;
}

async function setUp(t: Test) {
  const hub = await testHub(t, { HUB_APPROVALS: '{"status_change": 1}' });
  const north = await create(t, hub, 'locations', { code: 'NORTH', name: 'North' });
  const south = await create(t, hub, 'locations', { code: 'SOUTH', name: 'South' });
  const person = (given: string, birth: string, location: string) => ({
    given_name: given,
    family_name: 'Flow',
    sex: 'female',
    birth_date: birth,
    location_id: location,
  });
  const households = new Map<string, string>();
  const people = new Map<string, string>();
  for (const [code, location, members] of [
    ['HH-A', north.id, [['head', person('Ann', '1950-03-01', north.id)], ['child', person('Bo', '2020-01-01', north.id)]]],
    ['HH-B', south.id, [['head', person('Cy', '1950-01-01', south.id)], ['spouse', person('Di', '1980-01-01', south.id)]]],
    ['HH-C', north.id, [['head', person('Ed', '1945-01-01', north.id)], ['spouse', person('Fe', '1990-01-01', north.id)]]],
  ] as const) {
    const group = await create(t, hub, 'groups', {
      code,
      location_id: location,
      members: members.map(([role, individual]) => ({ role, individual })),
    });
    households.set(code, group.id);
    for (const m of group.members as Member[]) people.set(m.given_name, m.individual_id);
  }
  const maker = await hub.client(['programmes:read', 'programmes:write', 'crvs:write', 'registry:write', 'workflow:read', 'workflow:approve']);
  const checker = await hub.client(['workflow:read', 'workflow:approve']);
  const second = await hub.client(['workflow:read', 'workflow:approve']);
  const northChecker = await hub.client(['workflow:read', 'workflow:approve'], { location_id: north.id });
  const reader = await hub.client(['workflow:read']);
  return { hub, north, south, households, people, maker, checker, second, northChecker, reader };
}

t.test('maker-checker workflow', async (t) => {
  const { hub, households, people, maker, checker, second, northChecker, reader } = await setUp(t);
  const as = (client: { token: string }) => ({ token: client.token });
  const approve = (id: string, client: { token: string }, comment?: string) =>
    hub.request({ method: 'POST', url: `/api/v1/tasks/${id}/approve`, payload: comment ? { comment } : {}, ...as(client) });
  const reject = (id: string, client: { token: string }, reason: string) =>
    hub.request({ method: 'POST', url: `/api/v1/tasks/${id}/reject`, payload: { reason }, ...as(client) });
  const beneficiaryOf = async (programmeId: string, subjectId: string) => {
    const items = (await hub.request({ method: 'GET', url: `/api/v1/programmes/${programmeId}/beneficiaries?limit=500` })).json().items;
    const found = items.find((b: { subject_id: string }) => b.subject_id === subjectId);
    return (await hub.request({ method: 'GET', url: `/api/v1/programmes/${programmeId}/beneficiaries/${found.id}` })).json();
  };
  const statuses = async (programmeId: string) => {
    const items = (await hub.request({ method: 'GET', url: `/api/v1/programmes/${programmeId}/beneficiaries?limit=500` })).json().items;
    return Object.fromEntries(items.map((b: { subject_id: string; status: string }) => [b.subject_id, b.status]));
  };
  const pending = async (programmeId: string, token = reader.token) =>
    (await hub.request({ method: 'GET', url: `/api/v1/tasks?status=pending&programme_id=${programmeId}`, token })).json().items;

  // Enrolment and status changes of the pension need approval: one level to activate, two to suspend or graduate.
  const pension = await create(
    t,
    hub,
    'programmes',
    { code: 'PENSION', subject: 'individual', status: 'active', eligibility: 'age >= 60', approvals: { enrolment: 1, status_change: 2 } },
    maker.token,
  );
  t.same(pension.approvals, { enrolment: 1, status_change: 2, death_suspension: 0 }, 'an explicit rule replaces the hub default');
  const idOf = (name: string) => people.get(name)!;
  const [ann, cy, ed, di, bo] = [idOf('Ann'), idOf('Cy'), idOf('Ed'), idOf('Di'), idOf('Bo')];

  t.test('enrolment with approval configured: enrolled POTENTIAL, activated by another client', async (t) => {
    const res = await hub.request({ method: 'POST', url: `/api/v1/programmes/${pension.id}/enrolment`, payload: { as_of: AS_OF, activate: true }, ...as(maker) });
    t.equal(res.statusCode, 202, res.body);
    const { task, ...result } = res.json();
    t.same(result, { as_of: AS_OF, status: 'POTENTIAL', enrolled: 3, remaining_quota: null });
    t.match(task, { kind: 'enrolment', status: 'pending', programme_id: pension.id, maker: maker.clientId, required_levels: 1, decisions: [] });
    t.same(task.items, { total: 3, applied: 0, not_applied: 0 });
    t.same(task.change.to, 'ACTIVE');
    t.same(await statuses(pension.id), { [ann]: 'POTENTIAL', [cy]: 'POTENTIAL', [ed]: 'POTENTIAL' }, 'nothing active before approval');

    const own = expectProblem(t, await approve(task.id, maker), 403, 'the maker approving their own task');
    t.match(own.detail, /four eyes/);
    expectProblem(t, await approve(task.id, reader), 403, 'without workflow:approve');

    const approved = await approve(task.id, checker, 'checked the list');
    t.equal(approved.statusCode, 200, approved.body);
    t.match(approved.json(), { status: 'applied', decisions: [{ level: 1, decision: 'approve', by: checker.clientId, comment: 'checked the list' }] });
    t.same(approved.json().items, { total: 3, applied: 3, not_applied: 0 });
    t.ok(approved.json().decided_at);
    t.same(await statuses(pension.id), { [ann]: 'ACTIVE', [cy]: 'ACTIVE', [ed]: 'ACTIVE' });
    const history = (await beneficiaryOf(pension.id, ann)).history;
    t.match(history, [
      { from: null, to: 'POTENTIAL', actor: maker.clientId },
      { from: 'POTENTIAL', to: 'ACTIVE', actor: maker.clientId, task_id: task.id, approved_by: [checker.clientId] },
    ], 'the history names the maker and the checker');
    t.notOk('task_id' in history[0], 'a direct move names no task');

    expectProblem(t, await approve(task.id, second), 409, 'a decided task');
    t.same(await auditActions(t, hub, task.id), ['task.create', 'task.approve']);
  });

  t.test('two levels, each by another client; rejection records the reason and changes nothing', async (t) => {
    const suspend = (subject: string, reason: string) =>
      beneficiaryOf(pension.id, subject).then((b) =>
        hub.request({ method: 'POST', url: `/api/v1/programmes/${pension.id}/beneficiaries/${b.id}/status`, payload: { status: 'SUSPENDED', reason }, ...as(maker) }),
      );
    const asked = await suspend(ann, 'moved abroad');
    t.equal(asked.statusCode, 202, asked.body);
    const task = asked.json();
    t.match(task, { kind: 'status_change', status: 'pending', required_levels: 2, change: { to: 'SUSPENDED', reason: 'moved abroad' } });
    expectProblem(t, await suspend(ann, 'moved abroad'), 409, 'asking again while the task is pending');

    const first = await approve(task.id, checker);
    t.match(first.json(), { status: 'pending', decisions: [{ level: 1, by: checker.clientId, comment: null }] });
    t.equal((await beneficiaryOf(pension.id, ann)).status, 'ACTIVE', 'one level of two changes nothing');
    const again = expectProblem(t, await approve(task.id, checker), 403, 'the same checker on the next level');
    t.match(again.detail, /another client/);
    const last = await approve(task.id, second);
    t.match(last.json(), { status: 'applied', decisions: [{ level: 1 }, { level: 2, by: second.clientId }] });
    const annNow = await beneficiaryOf(pension.id, ann);
    t.equal(annNow.status, 'SUSPENDED');
    t.match(annNow.history.at(-1), { from: 'ACTIVE', to: 'SUSPENDED', reason: 'moved abroad', actor: maker.clientId, approved_by: [checker.clientId, second.clientId] });
    t.same(await auditActions(t, hub, task.id), ['task.create', 'task.approve', 'task.approve']);

    const refused = (await suspend(cy, 'missed the census')).json();
    expectProblem(t, await reject(refused.id, maker, 'changed my mind'), 403, 'the maker rejecting');
    expectProblem(t, await hub.request({ method: 'POST', url: `/api/v1/tasks/${refused.id}/reject`, payload: {}, ...as(checker) }), 400, 'a rejection without reason');
    const rejected = await reject(refused.id, checker, 'the census visit was rescheduled');
    t.match(rejected.json(), { status: 'rejected', decisions: [{ level: 1, decision: 'reject', by: checker.clientId, comment: 'the census visit was rescheduled' }] });
    t.same(rejected.json().items, { total: 1, applied: 0, not_applied: 0 });
    t.equal((await beneficiaryOf(pension.id, cy)).status, 'ACTIVE', 'a rejected change is not applied');
    expectProblem(t, await approve(refused.id, second), 409, 'approving a rejected task');
    t.same(await auditActions(t, hub, refused.id), ['task.create', 'task.reject']);
  });

  t.test('a change whose subject moved on meanwhile is reported on the task, not lost', async (t) => {
    const edBenefit = await beneficiaryOf(pension.id, ed);
    const task = (
      await hub.request({ method: 'POST', url: `/api/v1/programmes/${pension.id}/beneficiaries/${edBenefit.id}/status`, payload: { status: 'GRADUATED', reason: 'income above threshold' }, ...as(maker) })
    ).json();
    // Ed dies while the graduation waits: the pension suspends deaths at once (death_suspension 0).
    const died = await hub.request({ method: 'PATCH', url: `/api/v1/individuals/${ed}`, headers: { 'if-match': '"1"' }, payload: { death_date: '2026-02-01' }, ...as(maker) });
    t.equal(died.statusCode, 200, died.body);
    t.equal((await beneficiaryOf(pension.id, ed)).status, 'SUSPENDED');
    await approve(task.id, checker);
    const done = (await approve(task.id, second)).json();
    t.equal(done.status, 'failed', 'nothing left to apply');
    t.same(done.items, { total: 1, applied: 0, not_applied: 1 });
    const items = (await hub.request({ method: 'GET', url: `/api/v1/tasks/${task.id}/items?outcome=status_changed`, ...as(reader) })).json().items;
    t.same(items, [{ beneficiary_id: edBenefit.id, subject_id: ed, from_status: 'ACTIVE', outcome: 'status_changed', found_status: 'SUSPENDED' }]);
    t.equal((await beneficiaryOf(pension.id, ed)).status, 'SUSPENDED', 'the death suspension stands');
    const revive = await hub.request({ method: 'POST', url: `/api/v1/programmes/${pension.id}/beneficiaries/${edBenefit.id}/status`, payload: { status: 'ACTIVE', reason: 'appeal' }, ...as(maker) });
    t.match(expectProblem(t, revive, 409, 'reactivating a deceased person').detail, /deceased/);
  });

  t.test('a member’s death suspends the household benefit by programme rule: through a task when configured, directly otherwise', async (t) => {
    expectProblem(
      t,
      await hub.request({ method: 'POST', url: '/api/v1/programmes', payload: { code: 'BAD', subject: 'individual', on_member_death: 'suspend_household' } }),
      422,
      'the household rule on an individual programme',
    );
    const programme = async (code: string, extra: object) => {
      const created = await create(t, hub, 'programmes', { code, subject: 'group', status: 'active', eligibility: 'size >= 1', ...extra }, maker.token);
      const enrolled = await hub.request({ method: 'POST', url: `/api/v1/programmes/${created.id}/enrolment`, payload: { as_of: AS_OF, activate: true }, ...as(maker) });
      t.equal(enrolled.statusCode, 200, `${code}: enrolment needs no approval`);
      t.equal(enrolled.json().enrolled, 3);
      return created;
    };
    const approved = await programme('CASH-APPROVED', { on_member_death: 'suspend_household', approvals: { death_suspension: 1 } });
    const direct = await programme('CASH-DIRECT', { on_member_death: 'suspend_household' });
    const kept = await programme('CASH-KEPT', {});
    t.same(direct.approvals, { enrolment: 0, status_change: 1, death_suspension: 0 }, 'without a rule: the hub default');
    t.equal(kept.on_member_death, 'none');

    const death = await hub.request({
      method: 'POST',
      url: '/api/v1/civil-events',
      payload: { event_type: 'death', registration_number: 'D-7', event_date: '2026-03-01', subject: { individual_id: di } },
      ...as(maker),
    });
    t.equal(death.statusCode, 201, death.body);
    const hhB = households.get('HH-B')!;
    const reason = 'death registered (D-7) on 2026-03-01';
    const suspended = await beneficiaryOf(direct.id, hhB);
    t.match(suspended, { status: 'SUSPENDED', reason }, 'no approval configured: suspended at once');
    t.equal((await beneficiaryOf(kept.id, hhB)).status, 'ACTIVE', 'rule none: the household keeps its benefit');
    t.same(await pending(kept.id), []);
    t.equal((await beneficiaryOf(approved.id, hhB)).status, 'ACTIVE', 'approval configured: waits');
    const [task] = await pending(approved.id);
    t.match(task, { kind: 'death_suspension', maker: maker.clientId, change: { to: 'SUSPENDED', reason, origin: { death: { individual_id: di } } } });
    t.same(task.items.total, 1);

    expectProblem(t, await approve(task.id, northChecker), 404, 'a household in the south is outside a northern checker’s area');
    t.notOk((await hub.request({ method: 'GET', url: '/api/v1/tasks?limit=500', ...as(northChecker) })).json().items.some((i: { id: string }) => i.id === task.id));
    t.equal((await approve(task.id, checker)).json().status, 'applied');
    t.match(await beneficiaryOf(approved.id, hhB), { status: 'SUSPENDED', reason });

    t.test('bulk change by filter: one task, a northern checker decides it, what moved on meanwhile is reported', async (t) => {
      const bulk = await hub.request({
        method: 'POST',
        url: `/api/v1/programmes/${direct.id}/beneficiaries/status`,
        payload: { status: 'SUSPENDED', reason: 'budget freeze', where: { status: 'ACTIVE' } },
        ...as(maker),
      });
      t.equal(bulk.statusCode, 202, bulk.body);
      t.equal(bulk.json().changed, 0);
      const [task] = bulk.json().tasks;
      t.match(task, { kind: 'status_change', change: { origin: { bulk: { where: { status: 'ACTIVE' } } } } });
      t.same(task.items.total, 2, 'HH-A and HH-C; HH-B is already suspended');
      // Bo (HH-A) dies before the approval: HH-A is suspended by the death at once.
      const bo1 = await hub.request({ method: 'PATCH', url: `/api/v1/individuals/${bo}`, headers: { 'if-match': '"1"' }, payload: { death_date: '2026-04-01' }, ...as(maker) });
      t.equal(bo1.statusCode, 200, bo1.body);
      t.equal((await beneficiaryOf(direct.id, households.get('HH-A')!)).reason, 'deceased on 2026-04-01');

      const visible = (await hub.request({ method: 'GET', url: `/api/v1/tasks/${task.id}`, ...as(northChecker) })).json();
      t.equal(visible.id, task.id, 'every beneficiary lies in the north');
      const done = (await approve(task.id, northChecker)).json();
      t.match(done, { status: 'applied', items: { total: 2, applied: 1, not_applied: 1 } });
      const items = (await hub.request({ method: 'GET', url: `/api/v1/tasks/${task.id}/items`, ...as(reader) })).json().items;
      t.same(
        items.map((i: { subject_id: string; outcome: string; found_status: string }) => [i.subject_id, i.outcome, i.found_status]).sort(),
        [[households.get('HH-A'), 'status_changed', 'SUSPENDED'], [households.get('HH-C'), 'applied', 'ACTIVE']].sort(),
      );
      t.match(await beneficiaryOf(direct.id, households.get('HH-C')!), { status: 'SUSPENDED', reason: 'budget freeze' });
    });
  });

  t.test('task lists: filters and keyset pages', async (t) => {
    const all = await walk(hub, '/api/v1/tasks', 2, reader.token);
    // Enrolment, Ann, Cy, Ed, Di's and Bo's deaths in CASH-APPROVED, the bulk change.
    t.equal(all.ids.length, 7, 'every task made above');
    t.equal(new Set(all.ids).size, 7);
    const rejected = (await hub.request({ method: 'GET', url: '/api/v1/tasks?status=rejected', ...as(reader) })).json().items;
    t.same(rejected.map((r: { change: { reason: string } }) => r.change.reason), ['missed the census']);
    const deaths = (await hub.request({ method: 'GET', url: '/api/v1/tasks?kind=death_suspension', ...as(reader) })).json().items;
    t.equal(deaths.length, 2);
    expectProblem(t, await hub.request({ method: 'GET', url: '/api/v1/tasks?state=pending', ...as(reader) }), 400, 'an unknown filter');
  });

  t.test('the audit chain holds every decision', (t) => expectAuditChainOk(t, hub));
});
