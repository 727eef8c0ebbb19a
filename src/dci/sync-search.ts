import type { ErrorObject } from 'ajv';
import { DciError, ItemRejection, type SearchReasonCode } from './codes.js';
import type { DciContext, ExchangeHandler } from './exchange.js';
import { describeErrors, validator } from './schemas.js';
import { regRecordType, runSearch, type SearchCriteria } from './search.js';

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

const DEFAULT_REG_TYPE = 'ns:org:RegistryType:Social';

/** Which reason a schema error inside one search_request item earns, by where it is. */
function reasonOf(errors: ErrorObject[], prefix: string): SearchReasonCode {
  // A missing member is reported on its parent; place it where it belongs.
  const paths = errors.map((e) => {
    const missing = e.keyword === 'required' ? `/${String(e.params.missingProperty)}` : '';
    return e.instancePath.slice(prefix.length) + missing;
  });
  const all = (start: string) => paths.every((p) => p.startsWith(start));
  if (all('/reference_id')) return 'rjct.reference_id.invalid';
  if (all('/timestamp')) return 'rjct.timestamp.invalid';
  if (all('/search_criteria/sort')) return 'rjct.sort.invalid';
  if (all('/search_criteria/pagination')) return 'rjct.pagination.invalid';
  return 'rjct.search_criteria.invalid';
}

/**
 * Schema errors of the message, split into the items they belong to; an error outside every item (no
 * transaction_id, search_request not a list) makes the whole message an err.request.bad.
 */
function itemErrors(message: Record<string, unknown>): Map<number, ItemRejection> {
  const check = validator('SearchRequest');
  const byItem = new Map<number, ItemRejection>();
  if (check(message)) return byItem;
  const grouped = new Map<number, ErrorObject[]>();
  for (const error of check.errors ?? []) {
    const match = /^\/search_request\/(\d+)(\/|$)/.exec(error.instancePath);
    if (!match) throw new DciError(400, 'err.request.bad', describeErrors([error], '/message'));
    const index = Number(match[1]);
    grouped.set(index, [...(grouped.get(index) ?? []), error]);
  }
  for (const [index, errors] of grouped) {
    const prefix = `/search_request/${index}`;
    byItem.set(index, new ItemRejection(reasonOf(errors, prefix), describeErrors(errors, '/message')));
  }
  return byItem;
}

const purposeOf = (item: SearchItem) => {
  const purpose = (item.search_criteria?.consent as { purpose?: unknown } | undefined)?.purpose;
  return purpose ?? null;
};

/** `registry/sync/search`: every search_request item answered in order, each succeeding or rejected on its own. */
export function syncSearchHandler(ctx: DciContext): ExchangeHandler<SearchRequest> {
  return {
    action: 'search',
    answerAction: 'on-search',
    count(message) {
      if (!Array.isArray(message.search_request)) throw new DciError(400, 'err.request.bad', '/message/search_request must be a list');
      itemErrors(message);
      return message.search_request.length;
    },
    async process(tx, { actor, message, row }) {
      const rejected = itemErrors(message as unknown as Record<string, unknown>);
      const seen = new Set<string>();
      const responses: Record<string, unknown>[] = [];
      const audit: Record<string, unknown>[] = [];
      const consent: Record<string, { consent?: unknown; authorize?: unknown }> = {};
      let recordCount = 0;
      for (const [index, raw] of message.search_request.entries()) {
        const item = raw as SearchItem;
        const base = { reference_id: typeof item?.reference_id === 'string' ? item.reference_id : '', timestamp: new Date().toISOString() };
        try {
          const invalid = rejected.get(index);
          if (invalid) throw invalid;
          if (item.reference_id === '') throw new ItemRejection('rjct.reference_id.invalid', 'reference_id must not be empty');
          if (seen.has(item.reference_id)) throw new ItemRejection('rjct.reference_id.duplicate', `reference_id ${item.reference_id} appears twice`);
          seen.add(item.reference_id);
          consent[item.reference_id] = { consent: item.search_criteria.consent, authorize: item.search_criteria.authorize };
          const result = await runSearch(tx, actor, item.search_criteria, ctx.config);
          recordCount += result.records.length;
          responses.push({
            ...base,
            status: 'succ',
            data: {
              version: '1.0.0',
              reg_type: item.search_criteria.reg_type ?? DEFAULT_REG_TYPE,
              reg_record_type: regRecordType(result.entity),
              reg_records: result.records,
            },
            pagination: result.pagination,
            ...(item.locale ? { locale: item.locale } : {}),
          });
          audit.push({ reference_id: item.reference_id, query_type: item.search_criteria.query_type, purpose: purposeOf(item), status: 'succ', records: result.records.length, total: result.pagination.total_count });
        } catch (err) {
          if (!(err instanceof ItemRejection)) throw err;
          responses.push({ ...base, status: 'rjct', status_reason_code: err.code, status_reason_message: err.message.slice(0, 999) });
          audit.push({ reference_id: base.reference_id, status: 'rjct', reason: err.code });
        }
      }
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
