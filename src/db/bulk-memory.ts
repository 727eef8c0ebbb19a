import { sql } from 'drizzle-orm';
import type { Db } from './client.js';

/**
 * Memory for sorts and hashes of the registry-wide statements of one transaction (eligibility, enrolment, payment
 * cycles). With the server's default (4 MB) grouping a million memberships by household and ranking the candidates
 * spill to disk; the setting ends with the transaction, so ordinary requests keep the default.
 */
const BULK_WORK_MEM = '128MB';

export async function useBulkMemory(tx: Db): Promise<void> {
  await tx.execute(sql.raw(`SET LOCAL work_mem = '${BULK_WORK_MEM}'`));
}
