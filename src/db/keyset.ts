import { HubError } from '../errors.js';

/** A page of a keyset-paginated list: `next_cursor` is opaque and null on the last page. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export function encodeCursor(lastKey: string): string {
  return Buffer.from(JSON.stringify({ k: lastKey })).toString('base64url');
}

export const isUuid = (key: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(key);

/** The key inside a cursor; `valid` checks it has the shape of the list's key, so a forged cursor is a 400. */
export function decodeCursor(cursor: string, valid: (key: string) => boolean): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const key = parsed && typeof parsed === 'object' ? (parsed as { k: unknown }).k : undefined;
    if (typeof key === 'string' && valid(key)) return key;
  } catch {
    // fall through to the error below
  }
  throw new HubError('invalid', 'cursor is not one this server issued', [
    { parameter: 'cursor', detail: 'malformed cursor' },
  ]);
}

/** Turns `limit + 1` fetched rows into a page: the extra row only says that another page exists. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next_cursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}
