import type { Position } from '../../db/sorted-keyset.js';
import { isUuid } from '../../db/keyset.js';
import { badRequest } from '../outcome.js';

/**
 * The `_cursor` of a next link: where the previous page ended (last id and its sort value) and the `_sort` it was
 * made for, so a cursor pasted onto another sort is refused rather than silently skipping rows.
 */
export function encodeSearchCursor(position: Position, sort: string): string {
  return Buffer.from(JSON.stringify({ k: position.id, v: position.value, s: sort })).toString('base64url');
}

export function decodeSearchCursor(cursor: string, sort: string): Position {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const { k, v, s } = (parsed && typeof parsed === 'object' ? parsed : {}) as { k?: unknown; v?: unknown; s?: unknown };
  if (typeof k !== 'string' || !isUuid(k) || !(v === null || typeof v === 'string') || typeof s !== 'string') {
    throw badRequest('_cursor is not one this server issued', ['_cursor']);
  }
  if (s !== sort) throw badRequest(`_cursor was issued for _sort=${s}, not _sort=${sort}: follow the next link as given`, ['_cursor']);
  return { id: k.toLowerCase(), value: v };
}
