import { sql, type SQL } from 'drizzle-orm';
import type { Db, SqlExecutor } from './client.js';
import { asPgValue } from './pg-value.js';
import { queryRows } from './query-rows.js';

/**
 * `$1 … $n` text + values as a Drizzle SQL object. A repeated placeholder becomes one parameter per use, which is
 * the same value each time.
 */
export function positionalSql(text: string, values: unknown[]): SQL {
  const parts = text.split(/\$(\d+)/);
  const chunks = parts.map((part, i) => (i % 2 === 0 ? sql.raw(part) : sql`${asPgValue(values[Number(part) - 1])}`));
  return sql.join(chunks);
}

/** Runs plain parameterised SQL inside a Drizzle transaction, so work done by such a library commits with it. */
export const transactionExecutor = (tx: Db): SqlExecutor => ({
  executeSql: async (text, values = []) => ({ rows: await queryRows(tx, positionalSql(text, values)) }),
});
