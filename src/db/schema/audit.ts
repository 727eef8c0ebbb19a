import { bigserial, index, pgTable, smallint, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Append-only record of every write (a trigger refuses UPDATE and DELETE), hash-chained in several independent
 * chains: each entry links to the previous entry of its own `chain`, so concurrent writers need not queue on one lock.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    /** The chain the entry belongs to; entries written before chains existed are all in chain 0. */
    chain: smallint('chain').notNull().default(0),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    entityType: text('entity_type').notNull(),
    entityId: text('entity_id').notNull(),
    beforeDigest: text('before_digest'),
    afterDigest: text('after_digest'),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [index('audit_log_entity_idx').on(t.entityType, t.entityId), index('audit_log_chain_idx').on(t.chain, t.seq)],
);
