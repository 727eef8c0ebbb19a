import { and, asc, desc, eq, gt, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { decodeCursor, toPage, type Page } from '../db/keyset.js';
import { queryRows } from '../db/query-rows.js';
import { auditLog } from '../db/schema/index.js';
import type { Actor } from '../security/actor.js';
import { digest } from './digest.js';

/**
 * How many independent chains appends spread over. Each is locked by the transaction appending to it until it
 * commits, so this many transactions can append at once; more only wait for a free chain. Changing it later is safe:
 * verification follows whichever chains the entries name.
 */
export const AUDIT_CHAINS = 16;
const GENESIS = '0'.repeat(64);

export interface AuditEntry {
  action: string;
  entityType: string;
  entityId: string;
  before?: unknown;
  after?: unknown;
}

type Row = typeof auditLog.$inferSelect;

/** Chain 0 is left out of the hashed content, so entries written before there were several chains verify unchanged. */
function linkHash(row: Omit<Row, 'seq' | 'hash'>): string {
  return digest({
    ...(row.chain === 0 ? {} : { chain: row.chain }),
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

/**
 * Appends one entry; must run inside the transaction that makes the change, so both commit or neither does. The
 * entry joins the first chain no other transaction holds (migration 0020, audit_chain_head), which stays locked to
 * this transaction until it ends: each chain stays linear, and concurrent writers do not queue behind one lock.
 */
export async function appendAudit(tx: Db, actor: Pick<Actor, 'id'>, entry: AuditEntry): Promise<void> {
  const [head] = await queryRows<{ chain: number; hash: string | null }>(tx, sql`SELECT chain, hash FROM audit_chain_head(${AUDIT_CHAINS}::int)`);
  const row = {
    at: new Date(),
    actor: actor.id,
    action: entry.action,
    entityType: entry.entityType,
    entityId: entry.entityId,
    beforeDigest: entry.before === undefined ? null : digest(entry.before),
    afterDigest: entry.after === undefined ? null : digest(entry.after),
    chain: Number(head!.chain),
    prevHash: head!.hash ?? GENESIS,
  };
  await tx.insert(auditLog).values({ ...row, hash: linkHash(row) });
}

export interface ChainHead {
  chain: number;
  seq: number;
  hash: string;
}

export interface ChainReport {
  ok: boolean;
  checked: number;
  firstBroken?: { seq: number; chain: number; reason: string };
  /** The newest entry verified. */
  head?: { seq: number; hash: string };
  /**
   * The last entry of every chain. A chain cannot show that entries were cut off its end; keeping these heads
   * somewhere else (a report, a ticket) and comparing them with a later check can.
   */
  heads?: ChainHead[];
}

/**
 * Walks the log in seq order — within a chain, seq order is chain order, as each chain is locked from an append
 * until its commit — checking every entry against the previous entry of its chain; reports the first that does not
 * verify.
 */
export async function verifyAuditChain(db: Db, batchSize = 5000): Promise<ChainReport> {
  const heads = new Map<number, ChainHead>();
  let after = 0;
  let checked = 0;
  for (;;) {
    const rows = await db.select().from(auditLog).where(gt(auditLog.seq, after)).orderBy(asc(auditLog.seq)).limit(batchSize);
    for (const row of rows) {
      const broken = (reason: string): ChainReport => ({ ok: false, checked, firstBroken: { seq: row.seq, chain: row.chain, reason } });
      if (row.prevHash !== (heads.get(row.chain)?.hash ?? GENESIS)) return broken('prev_hash does not match the previous entry of its chain');
      if (linkHash(row) !== row.hash) return broken('hash does not match the entry content');
      heads.set(row.chain, { chain: row.chain, seq: row.seq, hash: row.hash });
      checked++;
    }
    if (rows.length < batchSize) break;
    after = rows[rows.length - 1]!.seq;
  }
  if (heads.size === 0) return { ok: true, checked };
  const all = [...heads.values()].sort((a, b) => a.chain - b.chain);
  const newest = all.reduce((a, b) => (b.seq > a.seq ? b : a));
  return { ok: true, checked, head: { seq: newest.seq, hash: newest.hash }, heads: all };
}

export interface AuditRecord {
  seq: number;
  chain: number;
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
      chain: r.chain,
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
