import { sql, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { queryRows } from '../db/query-rows.js';
import type { Actor } from '../security/actor.js';
import type { BeneficiaryStatus } from './schemas.js';

/** The statuses a beneficiary may come from to reach each status. POTENTIAL is entered only by enrolment. */
export const ALLOWED_FROM: Record<BeneficiaryStatus, BeneficiaryStatus[]> = {
  POTENTIAL: [],
  ACTIVE: ['POTENTIAL', 'SUSPENDED'],
  SUSPENDED: ['ACTIVE'],
  GRADUATED: ['ACTIVE', 'SUSPENDED'],
};

/** The beneficiary `b` is a person recorded as deceased: their benefit never becomes ACTIVE again. */
export const deceasedSubject = sql`EXISTS (SELECT 1 FROM individuals d WHERE d.id = b.subject_id AND d.death_date IS NOT NULL)`;

/** Rows of beneficiaries `b` joined to their programme `p`, which selections may both use. */
export const beneficiariesWithProgramme = sql`beneficiaries b JOIN programmes p ON p.id = b.programme_id`;

/** The maker-checker task a change was approved through: history names its maker as the one who asked. */
export interface ApprovedTask {
  id: string;
  maker: string;
}

/**
 * Applies a status change now to the beneficiaries `selection` picks (a condition over `b` and its programme `p`):
 * the change, its history rows and one audit entry (by `actor`), in the caller's transaction. Rows whose current
 * status cannot move to `to` are left alone, and so is a deceased person's benefit that would become ACTIVE.
 * Answers the ids changed. Callers go through the workflow's requestStatusChange, which decides whether a change
 * is applied at once or waits for approval; a task's last approval applies it here.
 */
export async function applyStatusChange(
  tx: Db,
  actor: Actor,
  selection: SQL,
  to: BeneficiaryStatus,
  reason: string,
  task?: ApprovedTask,
): Promise<string[]> {
  const from = ALLOWED_FROM[to];
  if (from.length === 0) return [];
  const changed = await queryRows<{ id: string }>(
    tx,
    sql`WITH target AS (
          SELECT b.id, b.status FROM ${beneficiariesWithProgramme}
          WHERE ${selection} AND b.status IN ${from} ${to === 'ACTIVE' ? sql`AND NOT ${deceasedSubject}` : sql``}
          FOR UPDATE OF b),
        updated AS (
          UPDATE beneficiaries SET status = ${to}, reason = ${reason}, version = beneficiaries.version + 1, updated_at = now()
          FROM target WHERE beneficiaries.id = target.id
          RETURNING beneficiaries.id, target.status AS from_status)
        INSERT INTO beneficiary_events (beneficiary_id, from_status, to_status, reason, actor, task_id)
        SELECT id, from_status, ${to}, ${reason}, ${task?.maker ?? actor.id}, ${task?.id ?? null}::uuid FROM updated
        RETURNING beneficiary_id AS id`,
  );
  if (changed.length > 0) {
    await appendAudit(tx, actor, {
      action: 'beneficiary.status',
      entityType: 'beneficiary',
      entityId: changed.length === 1 ? changed[0]!.id : `${changed.length} beneficiaries`,
      after: { to, reason, ids: changed.map((c) => c.id).sort(), ...(task ? { task_id: task.id, maker: task.maker } : {}) },
    });
  }
  return changed.map((c) => c.id);
}
