import { DciError } from './codes.js';
import type { ExchangeHandler } from './exchange.js';
import type { DciRegistry } from './registry.js';
import { describeErrors, validator } from './schemas.js';
import { findSearches } from './transactions.js';

interface TxnStatusRequest {
  transaction_id: string;
  txnstatus_request: {
    reference_id: string;
    txn_type: 'search' | 'subscribe' | 'receipt';
    attribute_type: 'transaction_id' | 'reference_id_list' | 'correlation_id';
    attribute_value: string | string[];
    locale?: string;
  };
}

/** The upstream spec spells the txn_type `subscibe`; the corrected one `subscribe`. Both are accepted. */
function normaliseSpelling(message: Record<string, unknown>) {
  const request = message.txnstatus_request as Record<string, unknown> | undefined;
  if (request && request.txn_type === 'subscibe') request.txn_type = 'subscribe';
}

type Item = { reference_id: string } & Record<string, unknown>;

/** `registry/sync/txn/status`: replays the answers we gave to this sender's earlier searches. */
export function txnStatusHandler(registry: DciRegistry): ExchangeHandler<TxnStatusRequest> {
  return {
    registry: registry.name,
    action: 'txn-status',
    answerAction: 'txn-on-status',
    count(message) {
      normaliseSpelling(message);
      const check = validator('TxnStatusRequest', registry.spec);
      if (!check(message)) throw new DciError(400, 'err.request.bad', describeErrors(check.errors, '/message'));
      return 1;
    },
    async process(tx, { partner, message, row }) {
      const request = message.txnstatus_request;
      const value = request.attribute_value;
      let items: Item[] = [];
      let found: { transaction_id: string; correlation_id: string } | undefined;
      if (request.txn_type === 'search') {
        if (request.attribute_type === 'reference_id_list') {
          const wanted = Array.isArray(value) ? value : [value];
          for (const referenceId of wanted.slice(0, 100)) {
            const [latest] = await findSearches(tx, registry.name, partner.senderId, { referenceId });
            const item = ((latest?.response?.search_response as Item[] | undefined) ?? []).find((i) => i.reference_id === referenceId);
            if (latest && item) {
              items.push(item);
              found ??= { transaction_id: String(latest.response?.transaction_id), correlation_id: latest.correlationId };
            }
          }
        } else if (typeof value === 'string') {
          const [latest] = await findSearches(
            tx,
            registry.name,
            partner.senderId,
            request.attribute_type === 'transaction_id' ? { transactionId: value } : { correlationId: value },
          );
          if (latest?.status === 'pdng') {
            // Accepted asynchronously and not answered yet.
            items = [{ reference_id: request.reference_id, timestamp: new Date().toISOString(), status: 'pdng' }];
            found = { transaction_id: String(latest.transactionId), correlation_id: latest.correlationId };
          } else if (latest?.response) {
            items = latest.response.search_response as Item[];
            found = { transaction_id: String(latest.response.transaction_id), correlation_id: latest.correlationId };
          }
        }
      }
      const txnStatus =
        items.length > 0 && found
          ? { ...found, search_response: items }
          : {
              transaction_id: message.transaction_id,
              correlation_id: row.correlationId,
              search_response: [
                {
                  reference_id: request.reference_id,
                  timestamp: new Date().toISOString(),
                  status: 'rjct',
                  status_reason_code: 'rjct.reference_id.invalid',
                  status_reason_message: `no ${request.txn_type} transaction of yours matches this ${request.attribute_type}`,
                },
              ],
            };
      return {
        message: {
          transaction_id: message.transaction_id,
          correlation_id: row.correlationId,
          txnstatus_response: { txn_type: request.txn_type, txn_status: txnStatus },
        },
        completed: 1,
        recordCount: 0,
        audit: { txn_type: request.txn_type, attribute_type: request.attribute_type, found: items.length },
      };
    },
  };
}
