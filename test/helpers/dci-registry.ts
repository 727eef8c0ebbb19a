import type { TestHub } from './hub.js';

/** Locations and households the DCI tests search; ids by code and the people's names are returned. */
export async function seedRegistry(hub: TestHub) {
  const location = async (code: string, parent_id?: string) => {
    const res = await hub.request({ method: 'POST', url: '/api/v1/locations', payload: { code, name: code.replace('_', ' '), ...(parent_id ? { parent_id } : {}) } });
    if (res.statusCode !== 201) throw new Error(res.body);
    return res.json().id as string;
  };
  const central = await location('central_region');
  const village = await location('village_a', central);
  const north = await location('north_region');
  const group = async (payload: Record<string, unknown>) => {
    const res = await hub.request({ method: 'POST', url: '/api/v1/groups', payload });
    if (res.statusCode !== 201) throw new Error(res.body);
    return res.json().id as string;
  };
  const person = (given_name: string, sex: string, birth_date: string, extra: Record<string, unknown> = {}) => ({
    given_name,
    family_name: 'Test',
    sex,
    birth_date,
    ...extra,
  });
  const hhC1 = await group({
    code: 'HH-C1',
    location_id: village,
    attributes: { poverty_score: 3 },
    members: [
      { role: 'head', individual: person('Amina', 'female', '1990-03-01', { location_id: village, phone: '+25770000001', identifiers: [{ type: 'UIN', value: 'TEST-001' }, { type: 'NIN', value: 'N-1' }] }) },
      { role: 'child', individual: person('Ben', 'male', '2016-06-01', { location_id: village, identifiers: [{ type: 'UIN', value: 'TEST-002' }] }) },
    ],
  });
  const hhC2 = await group({
    code: 'HH-C2',
    location_id: central,
    attributes: { poverty_score: 7 },
    members: [
      { role: 'head', individual: person('Carl', 'male', '1970-01-15', { location_id: central }) },
      { role: 'spouse', individual: person('Dina', 'female', '1975-04-20', { location_id: central, attributes: { poverty_score: 2 } }) },
      { role: 'child', individual: person('Eve', 'female', '2015-02-02', { location_id: central }) },
    ],
  });
  const hhN1 = await group({
    code: 'HH-N1',
    location_id: north,
    attributes: { poverty_score: 1 },
    members: [{ role: 'head', individual: person('Fay', 'female', '2005-08-08', { location_id: north, identifiers: [{ type: 'UIN', value: 'TEST-003' }] }) }],
  });
  return { locations: { central, village, north }, groups: { hhC1, hhC2, hhN1 } };
}

/** Given names of Person records, in the order answered. */
export const namesOf = (records: { name: { given_name: string } }[]) => records.map((r) => r.name.given_name);
