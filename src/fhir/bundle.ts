import type { Bundle, BundleEntry, BundleLink, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { encodeCursor } from '../db/keyset.js';
import type { ParsedSearch } from './search/request.js';

export interface SearchResult {
  resourceType: string;
  total: number;
  matches: Resource[];
  included: Resource[];
  /** Id of the last match when another page follows. */
  nextAfter?: string;
  warning?: OperationOutcome;
}

const query = (pairs: [string, string][]) => new URLSearchParams(pairs).toString();

/**
 * A searchset Bundle. `self` shows the parameters actually applied (ignored ones left out, as R4 asks); `next`
 * repeats them with `_cursor`, the last id of this page, so the next page is a keyset seek (it stays cheap at any
 * depth and does not shift when records are added before the position already read).
 */
export function searchsetBundle(base: string, search: ParsedSearch, result: SearchResult): Bundle {
  const url = `${base}/${result.resourceType}`;
  const self = query(search.applied);
  const link: BundleLink[] = [{ relation: 'self', url: self ? `${url}?${self}` : url }];
  if (result.nextAfter !== undefined) {
    link.push({ relation: 'next', url: `${url}?${query([...search.applied, ['_cursor', encodeCursor(result.nextAfter)]])}` });
  }
  const entry: BundleEntry[] = [
    ...result.matches.map((resource) => entryOf(base, resource, 'match')),
    ...result.included.map((resource) => entryOf(base, resource, 'include')),
    ...(result.warning ? [{ resource: result.warning, search: { mode: 'outcome' as const } }] : []),
  ];
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    meta: { lastUpdated: new Date().toISOString() },
    total: result.total,
    link,
    ...(entry.length > 0 ? { entry } : {}),
  };
}

function entryOf(base: string, resource: Resource, mode: 'match' | 'include'): BundleEntry {
  return { fullUrl: `${base}/${resource.resourceType}/${resource.id}`, resource, search: { mode } };
}
