import { and, asc, desc, eq, gt, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { decodeCursor, toPage, type Page } from '../db/keyset.js';
import { auditLog } from '../db/schema/index.js';
import type { Actor } from '../security/actor.js';
import { digest } from './digest.js';

/** Every append takes this transaction-scoped lock, so the chain stays linear across connections and instances. */
const CHAIN_LOCK = 7_244_002;
const GENESIS = '0'.repeat(64);

export interface AuditEntry {
  action: string;
  entityType: string;
  entityId: string;
  before?: unknown;
  after?: unknown;
}

type Row = typeof auditLog.$inferSelect;

function linkHash(row: Omit<Row, 'seq' | 'hash'>): string {
  return digest({
    prev: row.prevHash,
    at: row.at.toISOString(),
    actor: row.actor,
    action: row.action,
    entityType: row.entityType,
    entityId: row.entityId,
    before: row.beforeDigest,
    after: row.afterDigest,
  });
}

/** Appends one entry; must run inside the transaction that makes the change, so both commit or neither does. */
export async function appendAudit(tx: Db, actor: Pick<Actor, 'id'>, entry: AuditEntry): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`);
  const [last] = await tx.select({ hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1);
  const row = {
    at: new Date(),
    actor: actor.id,
    action: entry.action,
    entityType: entry.entityType,
    entityId: entry.entityId,
    beforeDigest: entry.before === undefined ? null : digest(entry.before),
    afterDigest: entry.after === undefined ? null : digest(entry.after),
    prevHash: last?.hash ?? GENESIS,
  };
  await tx.insert(auditLog).values({ ...row, hash: linkHash(row) });
}

export interface ChainReport {
  ok: boolean;
  checked: number;
  firstBroken?: { seq: number; reason: string };
  /**
   * The last entry verified. A chain cannot show that entries were cut off its end; keeping the head seen at each
   * check somewhere else (a report, a ticket) and comparing it with a later check can.
   */
  head?: { seq: number; hash: string };
}

/** Walks the whole chain in order and reports the first entry whose link or content does not verify. */
export async function verifyAuditChain(db: Db, batchSize = 5000): Promise<ChainReport> {
  let prev = GENESIS;
  let after = 0;
  let checked = 0;
  let head: ChainReport['head'];
  for (;;) {
    const rows = await db.select().from(auditLog).where(gt(auditLog.seq, after)).orderBy(asc(auditLog.seq)).limit(batchSize);
    for (const row of rows) {
      if (row.prevHash !== prev) {
        return { ok: false, checked, firstBroken: { seq: row.seq, reason: 'prev_hash does not match the previous entry' } };
      }
      if (linkHash(row) !== row.hash) {
        return { ok: false, checked, firstBroken: { seq: row.seq, reason: 'hash does not match the entry content' } };
      }
      prev = row.hash;
      head = { seq: row.seq, hash: row.hash };
      checked++;
    }
    if (rows.length < batchSize) return head ? { ok: true, checked, head } : { ok: true, checked };
    after = rows[rows.length - 1]!.seq;
  }
}

export interface AuditRecord {
  seq: number;
  at: string;
  actor: string;
  action: string;
  entity_type: string;
  entity_id: string;
  before_digest: string | null;
  after_digest: string | null;
  hash: string;
}

/** A cursor of another list (or a forged one) holds a key that is not a seq: refused like any malformed cursor. */
const seqOf = (cursor: string) => Number(decodeCursor(cursor, (key) => /^\d{1,15}$/.test(key)));

/** Newest first; filters by entity and actor. The cursor is the last seq seen. */
export async function listAudit(
  db: Db,
  filters: { entity_type?: string; entity_id?: string; actor?: string },
  limit: number,
  cursor: string | undefined,
): Promise<Page<AuditRecord>> {
  const rows = await db
    .select()
    .from(auditLog)
    .where(
      and(
        cursor === undefined ? undefined : lt(auditLog.seq, seqOf(cursor)),
        filters.entity_type ? eq(auditLog.entityType, filters.entity_type) : undefined,
        filters.entity_id ? eq(auditLog.entityId, filters.entity_id) : undefined,
        filters.actor ? eq(auditLog.actor, filters.actor) : undefined,
      ),
    )
    .orderBy(desc(auditLog.seq))
    .limit(limit + 1);
  return toPage(
    rows.map((r) => ({
      seq: r.seq,
      at: r.at.toISOString(),
      actor: r.actor,
      action: r.action,
      entity_type: r.entityType,
      entity_id: r.entityId,
      before_digest: r.beforeDigest,
      after_digest: r.afterDigest,
      hash: r.hash,
    })),
    limit,
    (r) => String(r.seq),
  );
}
