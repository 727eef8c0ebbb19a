import { sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';

/**
 * A sort key for keyset pages: an SQL expression over the listed table and the type its text form is read back
 * as. Rows come ordered by the key, then by id in the same direction; rows without a value come last.
 */
export interface SortKey {
  expression: SQL;
  type: 'date' | 'timestamptz' | 'text';
  nullable: boolean;
}

export interface Ordering {
  /** None: by id alone. */
  key?: SortKey;
  descending: boolean;
}

/** Where a page ended: the last row's id and its sort key value (as text; null when it had none). */
export interface Position {
  id: string;
  value: string | null;
}

export interface Keyset {
  /** The condition "after `after`", undefined on a first page. */
  where: SQL | undefined;
  orderBy: SQL[];
  /** The sort key value of a row as text, selected so the page can say where it ended. */
  value: SQL<string | null>;
}

/**
 * ORDER BY and the seek condition of a keyset page in any order. The seek compares (key, id) as a row value, which
 * a B-tree index on (key, id) serves directly; it never skips or repeats a row, however deep the page.
 */
export function keyset(id: AnyPgColumn, order: Ordering = { descending: false }, after?: Position): Keyset {
  const direction = sql.raw(order.descending ? 'DESC' : 'ASC');
  const beyond = sql.raw(order.descending ? '<' : '>');
  const { key } = order;
  if (!key) {
    return {
      where: after ? sql`${id} ${beyond} ${after.id}` : undefined,
      orderBy: [sql`${id} ${direction}`],
      value: sql<string | null>`NULL::text`,
    };
  }
  let where: SQL | undefined;
  if (after && after.value === null) {
    where = sql`(${key.expression} IS NULL AND ${id} ${beyond} ${after.id})`;
  } else if (after) {
    const seek = sql`(${key.expression}, ${id}) ${beyond} (${after.value}::${sql.raw(key.type)}, ${after.id}::uuid)`;
    where = key.nullable ? sql`(${seek} OR ${key.expression} IS NULL)` : seek;
  }
  return {
    where,
    orderBy: [sql`${key.expression} ${direction} NULLS LAST`, sql`${id} ${direction}`],
    value: sql<string | null>`(${key.expression})::text`,
  };
}

/** `limit + 1` rows (each with its `sortValue`) as a page: the extra row only says that another page exists. */
export function sortedPage<T extends { sortValue: string | null }>(rows: T[], limit: number, idOf: (row: T) => string) {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const next: Position | undefined = rows.length > limit && last ? { id: idOf(last), value: last.sortValue } : undefined;
  return { page, next };
}
