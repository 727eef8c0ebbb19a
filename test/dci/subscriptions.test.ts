import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import t, { type Test } from 'tap';
import { queryRows } from '../../src/db/query-rows.js';
import { ENV, expectAck, verifiedCallback } from '../helpers/dci-async.js';
import { header, registerPartner, send, type Partner } from '../helpers/dci.js';
import { seedRegistry } from '../helpers/dci-registry.js';
import { fakePartner } from '../helpers/fake-partner.js';
import { testHub, type TestHub } from '../helpers/hub.js';

function subscribeMessage(items: Record<string, unknown>[]) {
  return { transaction_id: randomUUID(), subscribe_request: items };
}

const subscription = (criteria: Record<string, unknown>, referenceId = randomUUID()) => ({
  reference_id: referenceId,
  timestamp: new Date().toISOString(),
  subscribe_criteria: { version: '1.0.0', reg_type: 'ns:org:RegistryType:Social', ...criteria },
});

const females = { filter_type: 'expression', filter: { type: 'ns:org:QueryType:expression', value: { expression: { query: { sex: { $eq: 'female' } } } } } };

async function subscribe(t: Test, hub: TestHub, partner: Partner, server: Awaited<ReturnType<typeof fakePartner>>, items: Record<string, unknown>[]) {
  const ack = expectAck(t, await send(hub, partner, '/registry/subscribe', { header: header(partner, { action: 'subscribe', total_count: items.length }), message: subscribeMessage(items) }));
  const answer = await server.next('/dci/registry/on-subscribe', (r) => r.body.message?.correlation_id === ack);
  return (await verifiedCallback(t, hub, answer, 'on-subscribe.request.json')).message.subscribe_response as any[];
}

const createPerson = (hub: TestHub, body: Record<string, unknown>) => hub.request({ method: 'POST', url: '/api/v1/individuals', payload: { family_name: 'Notify', birth_date: '1990-01-01', ...body } });

t.test('subscribe, notify on matching changes (once each, in scope, only after commit), unsubscribe', async (t) => {
  const hub = await testHub(t, ENV);
  const { locations } = await seedRegistry(hub);
  const server = await fakePartner(t);
  const partner = await registerPartner(hub, { scopes: ['dci:search', 'dci:subscribe'], dci: { callback_url: server.base } });

  const [registered, linked, updated, unknownEvent, badFilter, graphql] = await subscribe(t, hub, partner, server, [
    subscription({ reg_event_type: 'REGISTER', notify_record_type: 'spdci-extensions-dci:Member', ...females }),
    subscription({ reg_event_type: 'spdci:common:RegistryEventType:NewHouseHoldMember', notify_record_type: 'Group', filter_type: 'expression', filter: { value: { expression: { query: { group_size: { $gte: 1 } } } } } }),
    subscription({ reg_event_type: 'update', notify_record_type: 'Member', filter_type: 'idtype-value', filter: { type: 'UIN', value: 'TEST-001' } }),
    subscription({ reg_event_type: 'spdci-common:RegistryEventType:LiveBirth', notify_record_type: 'Member', ...females }),
    subscription({ reg_event_type: 'REGISTER', notify_record_type: 'Member', filter_type: 'expression', filter: { value: { expression: { query: { shoe_size: { $eq: 42 } } } } } }),
    subscription({ reg_event_type: 'REGISTER', notify_record_type: 'Member', filter_type: 'graphql', filter: { type: 'graphql', value: { expression: '{}' } } }),
  ]);
  t.equal(registered.status, 'succ');
  t.match(registered.subscriptions[0], { status: 'subscribe', reg_event_type: 'REGISTER', notify_record_type: 'SRPerson' });
  t.equal(linked.status, 'succ');
  t.equal(updated.status, 'succ');
  t.equal(unknownEvent.status_reason_code, 'rjct.notify_types.invalid');
  t.equal(badFilter.status_reason_code, 'rjct.notify_details.invalid');
  t.match(badFilter.status_reason_message, /shoe_size/);
  t.equal(graphql.status_reason_code, 'rjct.notify_details.invalid');

  const [again] = await subscribe(t, hub, partner, server, [subscription({ reg_event_type: 'REGISTER', notify_record_type: 'spdci-extensions-dci:Member', ...females })]);
  t.equal(again.status_reason_code, 'rjct.event.already_subscribed');

  t.test('a new person matching the filter is notified; one not matching, or rolled back, is not', async (t) => {
    t.equal((await createPerson(hub, { given_name: 'Mateo', sex: 'male' })).statusCode, 201);
    t.equal((await createPerson(hub, { given_name: 'Grace', sex: 'female', identifiers: [{ type: 'UIN', value: 'NEW-1' }] })).statusCode, 201);
    const clash = await createPerson(hub, { given_name: 'Clash', sex: 'female', identifiers: [{ type: 'UIN', value: 'NEW-1' }] });
    t.equal(clash.statusCode, 409, 'a failed write');
    const notified = await server.next('/dci/registry/notify');
    const body = await verifiedCallback(t, hub, notified, 'notify.request.json');
    t.equal(body.header.action, 'notify');
    t.equal(body.header.receiver_id, partner.senderId);
    t.same(
      body.message.notify_event.map((e: any) => [e.data.reg_event_type, e.data.reg_records.name.given_name]),
      [['REGISTER', 'Grace']],
      'only the committed matching person',
    );
    await new Promise((r) => setTimeout(r, 1000));
    t.same(server.received.filter((r) => r.path === '/dci/registry/notify'), [], 'nothing else, and nothing twice');
    const [left] = await queryRows<{ n: number }>(hub.database.db, sql`SELECT count(*)::int AS n FROM registry_changes`);
    t.equal(left!.n, 0, 'the outbox is drained');
  });

  t.test('a member joining a household notifies NewHouseHoldMember with the Group record', async (t) => {
    const person = (await createPerson(hub, { given_name: 'Hugo', sex: 'male' })).json();
    const groups = (await hub.request({ method: 'GET', url: '/api/v1/groups?code=HH-N1' })).json();
    const group = groups.items[0];
    const res = await hub.request({ method: 'POST', url: `/api/v1/groups/${group.id}/members`, payload: { individual_id: person.id, role: 'child' } });
    t.ok(res.statusCode < 300, 'joined', { body: res.body });
    const notified = await server.next('/dci/registry/notify', (r) => r.body.message.notify_event[0].data.reg_event_type === 'NewHouseHoldMember');
    const body = await verifiedCallback(t, hub, notified, 'notify.request.json');
    t.equal(body.message.notify_event[0].data.reg_record_type, 'Group');
  });

  t.test('updates notify with the hub event UPDATE (a documented extension of the enum)', async (t) => {
    const found = (await hub.request({ method: 'GET', url: '/api/v1/individuals?identifier_type=UIN&identifier_value=TEST-001' })).json();
    const amina = found.items[0];
    const res = await hub.request({ method: 'PATCH', url: `/api/v1/individuals/${amina.id}`, payload: { phone: '+25770000099' }, headers: { 'if-match': `"${amina.version}"` } });
    t.equal(res.statusCode, 200, res.body);
    const notified = await server.next('/dci/registry/notify', (r) => r.body.message.notify_event[0].data.reg_event_type === 'UPDATE');
    const body = await verifiedCallback(t, hub, notified, 'notify.hub-events.request.json');
    t.equal(body.message.notify_event[0].data.reg_records.name.given_name, 'Amina');
  });

  t.test('a partner scoped to the north region is not told about changes elsewhere', async (t) => {
    const northServer = await fakePartner(t);
    const north = await registerPartner(hub, { scopes: ['dci:search', 'dci:subscribe'], dci: { callback_url: northServer.base }, extra: { location_id: locations.north } });
    await subscribe(t, hub, north, northServer, [subscription({ reg_event_type: 'REGISTER', notify_record_type: 'Member', ...females })]);
    t.equal((await createPerson(hub, { given_name: 'Central', sex: 'female', location_id: locations.central })).statusCode, 201);
    t.equal((await createPerson(hub, { given_name: 'Northern', sex: 'female', location_id: locations.north })).statusCode, 201);
    const notified = await northServer.next('/dci/registry/notify');
    t.same(notified.body.message.notify_event.map((e: any) => e.data.reg_records.name.given_name), ['Northern']);
    const central = await server.next('/dci/registry/notify', (r) => r.body.message.notify_event.some((e: any) => e.data.reg_records.name?.given_name === 'Central'));
    t.ok(central, 'the unrestricted partner hears of both');
  });

  t.test('unsubscribe: all codes or none; no notification after it', async (t) => {
    const unsubscribe = async (codes: string[]) => {
      const ack = expectAck(t, await send(hub, partner, '/registry/unsubscribe', {
        header: header(partner, { action: 'unsubscribe', total_count: codes.length }),
        message: { transaction_id: randomUUID(), timestamp: new Date().toISOString(), subscription_codes: codes },
      }));
      const answer = await server.next('/dci/registry/on-unsubscribe', (r) => r.body.message?.correlation_id === ack);
      return (await verifiedCallback(t, hub, answer, 'on-unsubscribe.request.json')).message;
    };
    const code = registered.subscriptions[0].code;
    const unknown = await unsubscribe([code, randomUUID()]);
    t.equal(unknown.status, 'rjct');
    t.equal(unknown.status_reason_code, 'rjct.subscription_code.invalid');
    const done = await unsubscribe([code]);
    t.equal(done.status, 'succ');
    t.same(done.subscription_status, [{ code, status: 'unsubscribe' }]);
    const twice = await unsubscribe([code]);
    t.equal(twice.status_reason_code, 'rjct.event.already_unsubscribed');

    server.received.length = 0;
    t.equal((await createPerson(hub, { given_name: 'Late', sex: 'female' })).statusCode, 201);
    await new Promise((r) => setTimeout(r, 1500));
    t.same(server.received.filter((r) => r.path === '/dci/registry/notify'), [], 'unsubscribed: nothing more');
  });
});

