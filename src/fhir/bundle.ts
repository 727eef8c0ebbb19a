import type { Bundle, BundleEntry, BundleLink, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { Position } from '../db/sorted-keyset.js';
import { encodeSearchCursor } from './search/cursor.js';
import type { ParsedSearch } from './search/request.js';

export interface SearchResult {
  resourceType: string;
  total: number;
  matches: Resource[];
  included: Resource[];
  /** Where the next page starts, when another page follows. */
  next?: Position;
  warning?: OperationOutcome;
}

const query = (pairs: [string, string][]) => new URLSearchParams(pairs).toString();

/**
 * A searchset Bundle. `self` shows the parameters actually applied (ignored ones left out, as R4 asks); `next`
 * repeats them with `_cursor`, the last id (and sort value) of this page, so the next page is a keyset seek (it
 * stays cheap at any depth and does not shift when records are added before the position already read).
 */
export function searchsetBundle(base: string, search: ParsedSearch, result: SearchResult): Bundle {
  const url = `${base}/${result.resourceType}`;
  // A later page's self link keeps its cursor, so it fetches that page again.
  const self = query(search.after === undefined ? search.applied : [...search.applied, ['_cursor', encodeSearchCursor(search.after, search.sort)]]);
  const link: BundleLink[] = [{ relation: 'self', url: self ? `${url}?${self}` : url }];
  if (result.next !== undefined) {
    link.push({ relation: 'next', url: `${url}?${query([...search.applied, ['_cursor', encodeSearchCursor(result.next, search.sort)]])}` });
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

/**
 * An instance history Bundle, newest first: the first version was a create (POST), later ones updates (PUT), and a
 * delete has no resource (R4 §3.1.0.11).
 */
export function historyBundle(base: string, type: string, id: string, versions: { resource: Resource; deleted: boolean }[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'history',
    meta: { lastUpdated: new Date().toISOString() },
    total: versions.length,
    link: [{ relation: 'self', url: `${base}/${type}/${id}/_history` }],
    ...(versions.length > 0
      ? {
          entry: versions.map(({ resource, deleted }): BundleEntry => {
            const version = resource.meta!.versionId!;
            const response = { etag: `W/"${version}"`, lastModified: resource.meta!.lastUpdated! };
            if (deleted) {
              return { fullUrl: `${base}/${type}/${id}`, request: { method: 'DELETE', url: `${type}/${id}` }, response: { status: '204', ...response } };
            }
            return {
              fullUrl: `${base}/${type}/${id}`,
              resource,
              request: version === '1' ? { method: 'POST', url: type } : { method: 'PUT', url: `${type}/${id}` },
              response: { status: version === '1' ? '201' : '200', ...response },
            };
          }),
        }
      : {}),
  };
}

function entryOf(base: string, resource: Resource, mode: 'match' | 'include'): BundleEntry {
  return { fullUrl: `${base}/${resource.resourceType}/${resource.id}`, resource, search: { mode } };
}
