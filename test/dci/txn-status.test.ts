import { randomUUID } from 'node:crypto';
import t from 'tap';
import { header, registerPartner, schemaErrors, searchItem, searchMessage, send } from '../helpers/dci.js';
import { namesOf, seedRegistry } from '../helpers/dci-registry.js';
import { testHub } from '../helpers/hub.js';

const STATUS = '/registry/sync/txn/status';

t.test('sync txn status replays the answer to an earlier search, found three ways, only for its sender', async (t) => {
  const hub = await testHub(t);
  await seedRegistry(hub);
  const partner = await registerPartner(hub);
  const transactionId = randomUUID();
  const searched = await send(hub, partner, '/registry/sync/search', {
    header: header(partner, { total_count: 2 }),
    message: searchMessage(
      [
        searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' } }, 'ref-1'),
        searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-003' } }, 'ref-2'),
      ],
      transactionId,
    ),
  });
  const correlationId = searched.json().message.correlation_id;

  const status = async (who: typeof partner, request: Record<string, unknown>) => {
    const res = await send(hub, who, STATUS, {
      header: header(who, { action: 'txn-status' }),
      message: { transaction_id: randomUUID(), txnstatus_request: { reference_id: randomUUID(), txn_type: 'search', ...request } },
    });
    t.equal(res.statusCode, 200, res.body);
    const body = res.json();
    t.equal(schemaErrors('sync-txn-status.response.json', body), '', 'valid against the spec');
    t.equal(body.header.action, 'txn-on-status');
    t.equal(body.header.status, 'succ');
    return body.message.txnstatus_response;
  };

  const byTransaction = await status(partner, { attribute_type: 'transaction_id', attribute_value: transactionId });
  t.equal(byTransaction.txn_type, 'search');
  t.equal(byTransaction.txn_status.transaction_id, transactionId);
  t.equal(byTransaction.txn_status.correlation_id, correlationId);
  t.same(byTransaction.txn_status.search_response.map((r: any) => namesOf(r.data.reg_records)), [['Amina'], ['Fay']]);

  const byCorrelation = await status(partner, { attribute_type: 'correlation_id', attribute_value: correlationId });
  t.same(byCorrelation.txn_status, byTransaction.txn_status);

  const byReferences = await status(partner, { attribute_type: 'reference_id_list', attribute_value: ['ref-2'] });
  t.same(byReferences.txn_status.search_response.map((r: any) => r.reference_id), ['ref-2']);

  const unknown = await status(partner, { attribute_type: 'transaction_id', attribute_value: 'never-sent' });
  t.equal(unknown.txn_status.search_response[0].status, 'rjct');
  t.equal(unknown.txn_status.search_response[0].status_reason_code, 'rjct.reference_id.invalid');

  const other = await registerPartner(hub);
  const foreign = await status(other, { attribute_type: 'transaction_id', attribute_value: transactionId });
  t.equal(foreign.txn_status.search_response[0].status_reason_code, 'rjct.reference_id.invalid', "another partner's transactions are not visible");

  const misspelt = await status(partner, { txn_type: 'subscibe', attribute_type: 'transaction_id', attribute_value: transactionId });
  t.equal(misspelt.txn_type, 'subscribe', 'the upstream spelling is accepted, the corrected one answered');

  const bad = await send(hub, partner, STATUS, { header: header(partner, { action: 'txn-status' }), message: { transaction_id: 'x', txnstatus_request: { txn_type: 'search' } } });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().errors[0].code, 'err.request.bad');
  const wrongAction = await send(hub, partner, STATUS, {
    header: header(partner),
    message: { transaction_id: 'x', txnstatus_request: { reference_id: 'r', txn_type: 'search', attribute_type: 'transaction_id', attribute_value: transactionId } },
  });
  t.equal(wrongAction.json().header.status_reason_code, 'rjct.action.not_supported');
});
