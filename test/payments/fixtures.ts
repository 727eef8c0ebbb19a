import type { Test } from 'tap';
import type { TestHub } from '../helpers/hub.js';
import { create } from '../helpers/registry.js';

/** Payment tests' registry, small enough that every amount below is worked out by hand. */
const member = (given: string, birth: string, extra: Record<string, unknown> = {}) => ({
  given_name: given,
  family_name: 'Pay',
  sex: 'female',
  birth_date: birth,
  phone: `+2577${given.length}${birth.slice(2, 4)}000`,
  ...extra,
});

/**
 * H1 (north): 2 members, a child under 5. H2 (south): 4. H3 (south): 8. H4 (north): its only member is deceased.
 * Amount `base + 5000 * min(count_members(), 6)` with base 10000: H1 20000, H2 30000, H3 40000, H4 15000.
 */
export async function paymentRegistry(t: Test, hub: TestHub) {
  const north = await create(t, hub, 'locations', { code: 'NORTH', name: 'North' });
  const south = await create(t, hub, 'locations', { code: 'SOUTH', name: 'South' });
  const households: [string, string, ReturnType<typeof member>[]][] = [
    ['H1', north.id, [member('Ann', '1990-01-01'), member('Bo', '2024-01-01')]],
    ['H2', south.id, [member('Cy', '1980-01-01'), member('Di', '1982-01-01'), member('Ed', '2010-01-01'), member('Flo', '2012-01-01')]],
    ['H3', south.id, Array.from({ length: 8 }, (_, i) => member(`G${i}`, `${1970 + i * 5}-01-01`))],
    ['H4', north.id, [member('Ivy', '1940-01-01', { death_date: '2025-06-01' })]],
  ];
  const ids: Record<string, string> = {};
  for (const [code, location, people] of households) {
    const group = await create(t, hub, 'groups', {
      code,
      location_id: location,
      members: people.map((p, i) => ({ role: i === 0 ? 'head' : 'child', individual: { ...p, location_id: location } })),
    });
    ids[code] = group.id;
  }
  return { north, south, ids };
}

export const AMOUNT = 'base + 5000 * min(count_members(), 6)';

export async function activeProgramme(t: Test, hub: TestHub, extra: Record<string, unknown> = {}) {
  return create(t, hub, 'programmes', { code: 'CASH', subject: 'group', status: 'active', currency: 'BIF', score: 'size', ...extra });
}

export async function plan(t: Test, hub: TestHub, programmeId: string, extra: Record<string, unknown> = {}) {
  const res = await hub.request({
    method: 'POST',
    url: `/api/v1/programmes/${programmeId}/payment-plans`,
    payload: {
      name: 'Monthly cash',
      amount: AMOUNT,
      parameters: { base: 10000 },
      frequency: 'monthly',
      start_date: '2026-01-01',
      end_date: '2026-06-30',
      gateway: 'sandbox',
      ...extra,
    },
  });
  t.equal(res.statusCode, 201, res.body);
  return res.json();
}

export async function enrolAll(t: Test, hub: TestHub, programmeId: string) {
  const res = await hub.request({ method: 'POST', url: `/api/v1/programmes/${programmeId}/enrolment`, payload: { as_of: '2026-01-01', activate: true } });
  t.equal(res.statusCode, 200, res.body);
  return res.json();
}

export async function generate(hub: TestHub, planId: string, period?: string) {
  return hub.request({ method: 'POST', url: `/api/v1/payment-plans/${planId}/cycles`, payload: period ? { period_start: period } : {} });
}

export async function paymentsOf(hub: TestHub, cycleId: string, token?: string) {
  const res = await hub.request({ method: 'GET', url: `/api/v1/payment-cycles/${cycleId}/payments?limit=500`, ...(token ? { token } : {}) });
  return res.json().items as { subject_id: string; amount: number; status: string; reference_id: string; attempts: number; gateway_reference: string | null; reason: string | null; compliant: boolean | null; beneficiary_id: string }[];
}
