import { AsyncLocalStorage } from 'node:async_hooks';
import type postgres from 'postgres';

/**
 * Bounds on the statements one piece of work (an HTTP request) runs: each is cancelled on the server (SQLSTATE
 * 57014) when it runs longer than `timeoutMs`, or at once when `signal` aborts (the client went away). Work outside
 * any bounds (imports, jobs, migrations) runs unbounded.
 */
export interface StatementLimits {
  timeoutMs: number;
  signal?: AbortSignal;
}

const current = new AsyncLocalStorage<StatementLimits>();

/** Runs `work` (and everything it starts) under these limits. */
export const withStatementLimits = <T>(limits: StatementLimits, work: () => T): T => current.run(limits, work);

type Pending = postgres.PendingQuery<postgres.Row[]>;

/** Arms the query's cancellation: a timer and the abort signal, both disarmed once it settles. */
function bounded(query: Pending): Pending {
  const limits = current.getStore();
  if (!limits || (limits.timeoutMs === 0 && !limits.signal)) return query;
  // A cancel after the query settled would hit whatever the connection runs next: disarm first.
  const cancel = () => void query.cancel();
  const timer = limits.timeoutMs > 0 ? setTimeout(cancel, limits.timeoutMs) : undefined;
  if (limits.signal?.aborted) cancel();
  limits.signal?.addEventListener('abort', cancel, { once: true });
  const disarm = () => {
    clearTimeout(timer);
    limits.signal?.removeEventListener('abort', cancel);
  };
  // postgres.js starts a query on its first then() a tick later, so the caller's .values() still applies.
  query.then(disarm, disarm);
  return query;
}

type Begin = (...args: unknown[]) => Promise<unknown>;

/**
 * The client with every statement bounded by the limits of the work that runs it, in and out of transactions
 * (Drizzle runs all of its SQL through `unsafe`, `begin` and `savepoint`). `prepare` keeps one prepared statement
 * per query text on each connection, outside transactions.
 */
export function boundedClient(client: postgres.Sql, prepare: boolean): postgres.Sql {
  const unsafe = client.unsafe.bind(client);
  client.unsafe = ((query: string, args?: unknown[], options?: postgres.UnsafeQueryOptions) =>
    bounded(unsafe(query, args as never, { ...options, ...(prepare ? { prepare: true } : {}) }) as Pending)) as typeof client.unsafe;
  for (const method of ['begin', 'savepoint'] as const) {
    const original = (client as unknown as Record<string, Begin | undefined>)[method];
    if (!original) continue;
    // The callback is the last argument (begin takes optional options first).
    (client as unknown as Record<string, Begin>)[method] = (...args: unknown[]) => {
      const run = args.pop() as (tx: postgres.Sql) => unknown;
      return original.call(client, ...args, (tx: postgres.Sql) => run(boundedClient(tx, false)));
    };
  }
  return client;
}
