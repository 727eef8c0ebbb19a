import type { TestHub } from './hub.js';

/** A small civil registry: two regions, a family, and their births, deaths and a marriage recorded through the admin API. */
export async function seedCivilRegistry(hub: TestHub) {
  const post = async (url: string, payload: object) => {
    const res = await hub.request({ method: 'POST', url: `/api/v1/${url}`, payload });
    if (res.statusCode !== 201) throw new Error(`${url}: ${res.body}`);
    return res.json();
  };
  const north = (await post('locations', { code: 'north', name: 'North' })).id as string;
  const south = (await post('locations', { code: 'south', name: 'South' })).id as string;
  const household = await post('groups', {
    code: 'HH-CRVS',
    location_id: north,
    members: [
      { role: 'head', individual: { given_name: 'Maria', family_name: 'Vital', sex: 'female', birth_date: '1990-01-01', location_id: north, identifiers: [{ type: 'UIN', value: 'U-MARIA' }, { type: 'NIN', value: 'N-MARIA' }] } },
      { role: 'spouse', individual: { given_name: 'Jon', family_name: 'Vital', sex: 'male', birth_date: '1950-01-01', location_id: north, identifiers: [{ type: 'UIN', value: 'U-JON' }] } },
    ],
  });
  const id = (name: string) => household.members.find((m: { given_name: string }) => m.given_name === name).individual_id as string;
  const [maria, jon] = [id('Maria'), id('Jon')];
  const marriage = await post('civil-events', { event_type: 'marriage', registration_number: 'M-1', event_date: '2015-06-01', registration_date: '2015-06-02', place_id: north, subject: { individual_id: maria }, parties: [{ role: 'spouse', individual_id: jon }] });
  const birth = await post('civil-events', {
    event_type: 'birth', registration_number: 'B-1', event_date: '2024-02-03', registration_date: '2024-02-10', place_id: north,
    subject: { individual: { given_name: 'Lina', family_name: 'Vital', sex: 'female', location_id: north, identifiers: [{ type: 'UIN', value: 'U-LINA' }] } },
    parties: [{ role: 'mother', individual_id: maria }, { role: 'father', individual_id: jon }],
    add_to_household: true,
  });
  const southBirth = await post('civil-events', {
    event_type: 'birth', registration_number: 'B-2', event_date: '2024-03-01', registration_date: '2024-03-01', place_id: south,
    subject: { individual: { given_name: 'Omar', family_name: 'South', sex: 'male', location_id: south } },
  });
  const death = await post('civil-events', { event_type: 'death', registration_number: 'D-1', event_date: '2025-01-05', registration_date: '2025-01-07', place_id: north, subject: { individual_id: jon } });
  return { locations: { north, south }, people: { maria, jon, lina: birth.subject_id as string, omar: southBirth.subject_id as string }, events: { marriage, birth, southBirth, death } };
}
