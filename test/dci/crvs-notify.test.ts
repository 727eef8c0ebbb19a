import { randomUUID } from 'node:crypto';
import t from 'tap';
import { ENV, expectAck, verifiedCallback } from '../helpers/dci-async.js';
import { header, registerPartner, send } from '../helpers/dci.js';
import { seedCivilRegistry } from '../helpers/dci-crvs.js';
import { fakePartner } from '../helpers/fake-partner.js';
import { testHub } from '../helpers/hub.js';

const subscription = (criteria: Record<string, unknown>) => ({
  reference_id: randomUUID(),
  timestamp: new Date().toISOString(),
  subscribe_criteria: { version: '1.0.0', reg_type: 'ns:org:RegistryType:Civil', notify_record_type: 'spdci-extensions-dci:Person', ...criteria },
});

t.test('CRVS subscribe: new vital events matching the filter are notified once, signed and valid', async (t) => {
  const hub = await testHub(t, ENV);
  const { locations, people } = await seedCivilRegistry(hub);
  const server = await fakePartner(t);
  const partner = await registerPartner(hub, { scopes: ['dci:search', 'dci:subscribe'], dci: { callback_url: server.base } });

  const items = [
    subscription({ reg_event_type: 'death', filter_type: 'expression', filter: { value: { expression: { query: { death_place: { $eq: 'north' } } } } } }),
    subscription({ reg_event_type: 'spdci-common:RegistryEventType:LiveBirth', filter_type: 'predicate', filter: [{ expression1: { attribute_name: 'gender', operator: 'eq', attribute_value: 'female' } }] }),
    subscription({ reg_event_type: 'REGISTER', filter_type: 'expression', filter: { value: { expression: { query: { gender: { $eq: 'female' } } } } } }),
  ];
  const ack = expectAck(t, await send(hub, partner, '/dci/crvs/registry/subscribe', { header: header(partner, { action: 'subscribe', total_count: items.length }), message: { transaction_id: randomUUID(), subscribe_request: items } }));
  const answer = await verifiedCallback(t, hub, await server.next('/dci/registry/on-subscribe', (r) => r.body.message?.correlation_id === ack), 'on-subscribe.request.json', 'crvs');
  const [deaths, births, register] = answer.message.subscribe_response;
  t.equal(deaths.status, 'succ');
  t.equal(births.status, 'succ');
  t.equal(register.status_reason_code, 'rjct.notify_types.invalid', 'registry events are the Social Registry’s');

  const record = (payload: object) => hub.request({ method: 'POST', url: '/api/v1/civil-events', payload });
  const maria = people.maria;
  t.equal((await record({ event_type: 'death', registration_number: 'D-S', event_date: '2025-02-01', place_id: locations.south, subject: { individual_id: people.omar } })).statusCode, 201, 'a death in the south');
  t.equal((await record({ event_type: 'death', registration_number: 'D-N', event_date: '2025-02-02', place_id: locations.north, subject: { individual_id: maria } })).statusCode, 201, 'a death in the north');
  t.equal((await record({ event_type: 'birth', registration_number: 'B-N', event_date: '2025-02-03', place_id: locations.north, subject: { individual: { given_name: 'Nia', family_name: 'Vital', sex: 'female' } }, parties: [{ role: 'mother', individual_id: maria }] })).statusCode, 201, 'a girl is born');
  t.equal((await record({ event_type: 'birth', registration_number: 'B-M', event_date: '2025-02-03', subject: { individual: { given_name: 'Max', family_name: 'Vital', sex: 'male' } } })).statusCode, 201, 'a boy is born');

  const death = await verifiedCallback(t, hub, await server.next('/dci/registry/notify', (r) => r.body.message.notify_event[0].data.reg_event_type === 'death'), 'notify.request.json', 'crvs');
  t.same(death.message.notify_event.map((e: any) => e.data.reg_records.name.given_name), ['Maria'], 'only the northern death');
  const dead = death.message.notify_event[0].data.reg_records;
  t.equal(dead.death_date, '2025-02-02');
  t.ok(dead.identifier.some((i: any) => i.identifier_type === 'DEATH_REG_NO' && i.identifier_value === 'D-N'), 'the registration number as an identifier');
  const birth = await verifiedCallback(t, hub, await server.next('/dci/registry/notify', (r) => r.body.message.notify_event[0].data.reg_event_type === 'live_birth'), 'notify.request.json', 'crvs');
  t.same(birth.message.notify_event.map((e: any) => e.data.reg_records.name.given_name), ['Nia']);
  t.match(birth.message.notify_event[0].data.reg_records.parent1_identifier, { identifier_type: 'UIN', identifier_value: 'U-MARIA' });
  await new Promise((r) => setTimeout(r, 1000));
  t.same(server.received.filter((r) => r.path === '/dci/registry/notify'), [], 'nothing else, nothing twice');
});
