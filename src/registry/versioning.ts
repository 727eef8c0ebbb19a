import { HubError, gone, notFound } from '../errors.js';

interface VersionedRow {
  version: number;
  deletedAt: Date | null;
}

/**
 * Checks a row read FOR UPDATE before a write: missing (or outside the caller's scope) is 404, soft-deleted is 410,
 * and a version other than the one the caller last read is 412 — optimistic concurrency.
 */
export function checkWritable<T extends VersionedRow>(
  row: T | undefined,
  what: string,
  id: string,
  expectedVersion: number | undefined,
): T {
  if (!row) throw notFound(what, id);
  if (row.deletedAt) throw gone(what, id);
  if (expectedVersion !== undefined && row.version !== expectedVersion) {
    throw new HubError(
      'precondition_failed',
      `${what} ${id} is at version ${row.version}, not ${expectedVersion}: read it again and reapply your change`,
    );
  }
  return row;
}

/** Same visibility rule for reads: 404 when absent or out of scope, 410 when soft-deleted (naming the survivor of a merge). */
export function checkReadable<T extends { deletedAt: Date | null; mergedInto?: string | null }>(row: T | undefined, what: string, id: string): T {
  if (!row) throw notFound(what, id);
  if (row.mergedInto) throw new HubError('gone', `${what} ${id} was merged into ${row.mergedInto}`);
  if (row.deletedAt) throw gone(what, id);
  return row;
}
