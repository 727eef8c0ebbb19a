import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { queryRows } from '../db/query-rows.js';
import type { BeneficiaryStatus } from '../programmes/schemas.js';
import { ALLOWED_FROM, applyStatusChange, beneficiariesWithProgramme, deceasedSubject } from '../programmes/status.js';
import type { Actor } from '../security/actor.js';
import type { Task, TaskKind } from './schemas.js';
import { awaitingSameChange, createTask } from './tasks.js';

export interface StatusRequest {
  /** Which beneficiaries: a condition over `b` (beneficiaries) and `p` (their programmes), in any programmes. */
  selection: SQL;
  to: BeneficiaryStatus;
  reason: string;
  /** The approval rule the change falls under; activating a POTENTIAL beneficiary always falls under enrolment. */
  kind: TaskKind;
  /** What asked for it (a beneficiary, a bulk filter, a death …), kept on the tasks it creates. */
  origin: Record<string, unknown>;
}

export interface StatusOutcome {
  /** Beneficiaries changed at once. */
  changed: string[];
  /** Tasks waiting for approval: one per programme and approval rule. */
  tasks: Task[];
}

/**
 * The one path every beneficiary status change takes: enrolment's activation, single and bulk changes, and the
 * suspensions a recorded death causes (admin API, civil events, external CRVS, imports). Each programme's
 * `approvals` rule decides: with no level for the change's kind it is applied now, in the caller's transaction;
 * otherwise the beneficiaries it would move (in the status they have now) become a maker-checker task whose last
 * approval applies it. A beneficiary already waiting in a pending task for the same move is not asked for again,
 * so receiving a death twice or re-running an import does not pile up tasks.
 */
export async function requestStatusChange(tx: Db, actor: Actor, request: StatusRequest): Promise<StatusOutcome> {
  const from = ALLOWED_FROM[request.to];
  if (from.length === 0) return { changed: [], tasks: [] };
  const kind = sql`(CASE WHEN b.status = 'POTENTIAL' THEN 'enrolment' ELSE ${request.kind}::text END)`;
  const levels = sql`COALESCE((p.approvals ->> ${kind})::int, 0)`;
  const changed = await applyStatusChange(tx, actor, sql`${request.selection} AND ${levels} = 0`, request.to, request.reason);
  const waiting = sql`${request.selection} AND b.status IN ${from} AND ${levels} > 0 AND NOT ${awaitingSameChange(request.to)}
    ${request.to === 'ACTIVE' ? sql`AND NOT ${deceasedSubject}` : sql``}`;
  const groups = await queryRows<{ programme_id: string; kind: TaskKind; levels: number }>(
    tx,
    sql`SELECT DISTINCT b.programme_id, ${kind} AS kind, ${levels} AS levels FROM ${beneficiariesWithProgramme} WHERE ${waiting}
        ORDER BY 1, 2`,
  );
  const tasks: Task[] = [];
  for (const group of groups) {
    const change = { to: request.to, reason: request.reason, origin: request.origin };
    tasks.push(
      await createTask(
        tx,
        actor,
        { kind: group.kind, programmeId: group.programme_id, levels: Number(group.levels), change },
        sql`${waiting} AND b.programme_id = ${group.programme_id} AND ${kind} = ${group.kind}`,
      ),
    );
  }
  return { changed, tasks };
}
