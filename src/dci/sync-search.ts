import { DciError, type SearchReasonCode } from './codes.js';
import type { DciContext, ExchangeHandler } from './exchange.js';
import { answerEach, itemErrors } from './item-errors.js';
import type { DciRegistry } from './registry.js';
import { runSearch, type SearchCriteria } from './search.js';

interface SearchItem {
  reference_id: string;
  timestamp: string;
  search_criteria: SearchCriteria;
  locale?: string;
}

interface SearchRequest {
  transaction_id: string;
  search_request: unknown[];
}

/** Which reason schema errors inside one search_request item earn, by where they are. */
function reasonOf(paths: string[]): SearchReasonCode {
  const all = (start: string) => paths.every((p) => p.startsWith(start));
  if (all('/reference_id')) return 'rjct.reference_id.invalid';
  if (all('/timestamp')) return 'rjct.timestamp.invalid';
  if (all('/search_criteria/sort')) return 'rjct.sort.invalid';
  if (all('/search_criteria/pagination')) return 'rjct.pagination.invalid';
  return 'rjct.search_criteria.invalid';
}

const purposeOf = (item: SearchItem) => {
  const purpose = (item.search_criteria?.consent as { purpose?: unknown } | undefined)?.purpose;
  return purpose ?? null;
};

/** `registry/sync/search`: every search_request item answered in order, each succeeding or rejected on its own. */
export function syncSearchHandler(ctx: DciContext, registry: DciRegistry): ExchangeHandler<SearchRequest> {
  return {
    registry: registry.name,
    action: 'search',
    answerAction: 'on-search',
    count(message) {
      if (!Array.isArray(message.search_request)) throw new DciError(400, 'err.request.bad', '/message/search_request must be a list');
      itemErrors(message, registry.spec, 'SearchRequest', 'search_request', reasonOf);
      return message.search_request.length;
    },
    async process(tx, { actor, message, row }) {
      const rejected = itemErrors(message as unknown as Record<string, unknown>, registry.spec, 'SearchRequest', 'search_request', reasonOf);
      const consent: Record<string, { consent?: unknown; authorize?: unknown }> = {};
      let recordCount = 0;
      const { responses, audit } = await answerEach(message.search_request as SearchItem[], rejected, async (item) => {
        consent[item.reference_id] = { consent: item.search_criteria.consent, authorize: item.search_criteria.authorize };
        const result = await runSearch(tx, actor, registry, item.search_criteria, ctx.config);
        recordCount += result.records.length;
        return {
          answer: {
            data: {
              version: '1.0.0',
              reg_type: item.search_criteria.reg_type ?? registry.defaultRegType,
              reg_record_type: result.kind.regRecordType,
              reg_records: result.records,
            },
            pagination: result.pagination,
            ...(item.locale ? { locale: item.locale } : {}),
          },
          audit: { query_type: item.search_criteria.query_type, purpose: purposeOf(item), records: result.records.length, total: result.pagination.total_count },
        };
      });
      return {
        message: { transaction_id: message.transaction_id, correlation_id: row.correlationId, search_response: responses },
        completed: responses.length,
        recordCount,
        consent,
        audit,
      };
    },
  };
}
