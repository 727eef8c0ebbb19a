import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { header, registerPartner, schemaErrors, searchItem, searchMessage, send, type Partner } from '../helpers/dci.js';
import { seedCivilRegistry } from '../helpers/dci-crvs.js';
import { testHub, type TestHub } from '../helpers/hub.js';

const SYNC = '/dci/crvs/registry/sync/search';

async function search(t: Test, hub: TestHub, partner: Partner, criteria: Record<string, unknown>) {
  const res = await send(hub, partner, SYNC, { header: header(partner, { receiver_id: undefined }), message: searchMessage([searchItem({ reg_type: 'ns:org:RegistryType:Civil', ...criteria })]) });
  t.equal(res.statusCode, 200, 'answered', { body: res.body });
  const body = res.json();
  t.equal(schemaErrors('sync-search.response.json', body, 'crvs'), '', 'valid against the CRVS sync search response');
  return body.message.search_response[0];
}

const names = (item: any) => item.data.reg_records.map((r: any) => r.name.given_name).sort();

t.test('CRVS sync search: by UIN, NIN and registration numbers, expressions and predicates over vital events', async (t) => {
  // Query semantics over a handful of records, scans included; the index policy is test/dci/query-limits.test.ts's.
  const hub = await testHub(t, { DCI_INDEXED_QUERIES_ONLY: 'false' });
  const seeded = await seedCivilRegistry(hub);
  const partner = await registerPartner(hub);

  t.test('idtype-value: UIN answers the CRVS Person with registrations, parents and places', async (t) => {
    const item = await search(t, hub, partner, { query_type: 'idtype-value', query: { type: 'UIN', value: 'U-LINA' } });
    t.equal(item.status, 'succ');
    t.equal(item.data.reg_record_type, 'spdci-extensions-dci:Person');
    const [lina] = item.data.reg_records;
    t.match(lina, {
      '@type': 'CRVS_Person',
      name: { given_name: 'Lina', surname: 'Vital' },
      sex: 'female',
      birth_date: '2024-02-03',
      birth_place: { '@type': 'Place', identifier: 'north' },
      parent1_identifier: { identifier_type: 'UIN', identifier_value: 'U-MARIA' },
      parent2_identifier: { identifier_type: 'UIN', identifier_value: 'U-JON' },
      vital_events: [{ event_type: 'live_birth', registration_number: 'B-1', event_date: '2024-02-03', registration_date: '2024-02-10' }],
    });
    t.same(lina.identifier.map((i: any) => `${i.identifier_type}=${i.identifier_value}`).sort(), ['BIRTH_REG_NO=B-1', 'UIN=U-LINA']);
  });

  t.test('registration numbers (ours and the short forms), NIN, NID', async (t) => {
    t.same(names(await search(t, hub, partner, { query_type: 'idtype-value', query: { type: 'BIRTH_REG_NO', value: 'B-1' } })), ['Lina']);
    const jon = await search(t, hub, partner, { query_type: 'idtype-value', query: { type: 'DRN', value: 'D-1' } });
    t.same(names(jon), ['Jon']);
    t.match(jon.data.reg_records[0], { death_date: '2025-01-05', death_place: { identifier: 'north' } });
    t.same(names(await search(t, hub, partner, { query_type: 'idtype-value', query: { type: 'MARRIAGE_REG_NO', value: 'M-1' } })), ['Maria']);
    t.same(names(await search(t, hub, partner, { query_type: 'idtype-value', query: { type: 'NIN', value: 'N-MARIA' } })), ['Maria']);
    t.same(names(await search(t, hub, partner, { query_type: 'idtype-value', query: { type: 'NID', value: 'N-MARIA' } })), ['Maria']);
    t.same(names(await search(t, hub, partner, { query_type: 'idtype-value', query: { type: 'BIRTH_REG_NO', value: 'D-1' } })), [], 'a death number is no birth number');
  });

  t.test('expression and predicate over date_of_birth, date_of_death, place, gender, registration_date', async (t) => {
    const births = await search(t, hub, partner, {
      query_type: 'predicate',
      reg_event_type: 'live_birth',
      query: [{ seq_num: 1, expression1: { attribute_name: 'registration_date', operator: 'ge', attribute_value: '2024-01-01' }, condition: 'and', expression2: { attribute_name: 'registration_date', operator: 'le', attribute_value: '2024-12-31' } }],
      sort: [{ attribute_name: 'date_of_birth', sort_order: 'asc' }],
    });
    t.same(births.data.reg_records.map((r: any) => r.name.given_name), ['Lina', 'Omar'], 'births registered in 2024, by date of birth');
    t.same(names(await search(t, hub, partner, { query_type: 'expression', query: { value: { expression: { query: { $and: [{ place: { $eq: 'south' } }, { gender: { $eq: 'm' } }] } } } } })), ['Omar']);
    t.same(names(await search(t, hub, partner, { query_type: 'expression', query: { value: { expression: { query: { date_of_death: { $gte: '2025-01-01' } } } } } })), ['Jon']);
    t.same(names(await search(t, hub, partner, { query_type: 'expression', query: { value: { expression: { query: { date_of_birth: { $lt: '1980-01-01' } } } } } })), ['Jon']);
    t.same(names(await search(t, hub, partner, { query_type: 'expression', query: { value: { expression: { query: { death_place: { $in: ['north'] } } } } } })), ['Jon']);
    const bad = await search(t, hub, partner, { query_type: 'expression', query: { value: { expression: { query: { shoe_size: { $eq: 3 } } } } } });
    t.equal(bad.status_reason_code, 'rjct.search_criteria.invalid');
    const graphql = await search(t, hub, partner, { query_type: 'graphql', query: { type: 'graphql', value: { expression: '{ person { name } }' } } });
    t.equal(graphql.status_reason_code, 'rjct.search_criteria.invalid');
  });

  t.test('people without a civil event are not CRVS records; geographic scope applies', async (t) => {
    t.equal((await hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { given_name: 'Nobody', family_name: 'Vital', identifiers: [{ type: 'UIN', value: 'U-NOBODY' }] } })).statusCode, 201);
    t.same(names(await search(t, hub, partner, { query_type: 'idtype-value', query: { type: 'UIN', value: 'U-NOBODY' } })), []);
    const southern = await registerPartner(hub, { extra: { location_id: seeded.locations.south } });
    t.same(names(await search(t, hub, southern, { query_type: 'expression', query: { value: { expression: { query: { date_of_birth: { $gte: '2000-01-01' } } } } } })), ['Omar']);
  });

  t.test('txn status finds CRVS searches, not Social Registry ones', async (t) => {
    const transactionId = randomUUID();
    const res = await send(hub, partner, SYNC, { header: header(partner), message: searchMessage([searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'U-MARIA' } })], transactionId) });
    t.equal(res.statusCode, 200);
    const status = (path: string) =>
      send(hub, partner, path, {
        header: header(partner, { action: 'txn-status' }),
        message: { transaction_id: randomUUID(), txnstatus_request: { reference_id: randomUUID(), txn_type: 'search', attribute_type: 'transaction_id', attribute_value: transactionId } },
      });
    const crvs = (await status('/dci/crvs/registry/sync/txn/status')).json();
    t.equal(schemaErrors('sync-txn-status.response.json', crvs, 'crvs'), '');
    t.equal(crvs.message.txnstatus_response.txn_status.search_response[0].data.reg_records[0].name.given_name, 'Maria');
    const sr = (await status('/dci/sr/registry/sync/txn/status')).json();
    t.equal(sr.message.txnstatus_response.txn_status.search_response[0].status_reason_code, 'rjct.reference_id.invalid');
  });
});
