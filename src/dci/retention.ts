import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { queryRows } from '../db/query-rows.js';

/**
 * Deletes exchanges received more than `days` ago, a batch at a time — never one still being worked (`pdng`) or
 * whose answer has not reached the partner (pending or failed delivery: still listed, and retryable). Answers how
 * many went.
 */
export async function sweepTransactions(db: Db, days: number, batchSize = 1000): Promise<number> {
  let deleted = 0;
  for (;;) {
    const rows = await queryRows<{ id: string }>(
      db,
      sql`DELETE FROM dci_transactions WHERE id IN (
            SELECT id FROM dci_transactions
            WHERE received_at < now() - ${days} * interval '1 day'
              AND status <> 'pdng'
              AND (callback_status IS NULL OR callback_status = 'delivered')
            LIMIT ${batchSize} FOR UPDATE SKIP LOCKED)
          RETURNING id`,
    );
    deleted += rows.length;
    if (rows.length < batchSize) return deleted;
  }
}

/** Sweeps at start and then every `intervalMs` (a tick finding a sweep still running skips); `stop` waits for it. */
export function startRetentionSweep(db: Db, options: { days: number; intervalMs: number; onSwept: (n: number) => void; onError: (err: unknown) => void }) {
  let running: Promise<void> | undefined;
  const sweep = () => {
    running ??= sweepTransactions(db, options.days)
      .then((n) => (n > 0 ? options.onSwept(n) : undefined), options.onError)
      .finally(() => {
        running = undefined;
      });
  };
  sweep();
  const timer = setInterval(sweep, options.intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
