import { and, asc, eq, gt, sql, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { decodeCursor, isUuid, toPage, type Page } from '../db/keyset.js';
import { subtreeIds } from '../db/location-tree.js';
import { queryRows } from '../db/query-rows.js';
import { taskItems, tasks, type TaskDecision } from '../db/schema/index.js';
import { conflict, HubError, notFound } from '../errors.js';
import { applyStatusChange, beneficiariesWithProgramme } from '../programmes/status.js';
import type { BeneficiaryStatus } from '../programmes/schemas.js';
import type { Actor } from '../security/actor.js';
import type { Task, TaskItem, TaskKind, TaskStatus } from './schemas.js';

type Row = typeof tasks.$inferSelect;

/** What a beneficiary status change task carries in its payload. */
export interface StatusChangePayload {
  to: BeneficiaryStatus;
  reason: string;
  origin: Record<string, unknown>;
}

type Counts = Task['items'];

async function countsOf(db: Db, ids: string[]): Promise<Map<string, Counts>> {
  const counts = new Map<string, Counts>();
  if (ids.length === 0) return counts;
  const rows = await queryRows<{ task_id: string; total: string | number; applied: string | number; not_applied: string | number }>(
    db,
    sql`SELECT task_id, count(*) AS total, count(*) FILTER (WHERE outcome = 'applied') AS applied,
          count(*) FILTER (WHERE outcome <> 'applied') AS not_applied
        FROM task_items WHERE task_id IN ${ids} GROUP BY task_id`,
  );
  for (const r of rows) counts.set(r.task_id, { total: Number(r.total), applied: Number(r.applied), not_applied: Number(r.not_applied) });
  return counts;
}

function toTask(row: Row, counts: Counts | undefined): Task {
  const payload = row.payload as unknown as StatusChangePayload;
  return {
    id: row.id,
    kind: row.kind as TaskKind,
    status: row.status as TaskStatus,
    programme_id: row.programmeId,
    change: { to: payload.to, reason: payload.reason, origin: payload.origin },
    maker: row.maker,
    required_levels: row.requiredLevels,
    decisions: row.decisions,
    items: counts ?? { total: 0, applied: 0, not_applied: 0 },
    created_at: row.createdAt.toISOString(),
    decided_at: row.decidedAt?.toISOString() ?? null,
    version: row.version,
  };
}

/**
 * A client with a geographic scope sees (and decides) the tasks whose every beneficiary lies inside its area: the
 * person enrolled, or the household.
 */
function visible(actor: Actor): SQL | undefined {
  if (actor.locationId === null) return undefined;
  return sql`NOT EXISTS (
    SELECT 1 FROM task_items vi JOIN beneficiaries vb ON vb.id = vi.beneficiary_id
      LEFT JOIN individuals vp ON vp.id = vb.subject_id LEFT JOIN groups vg ON vg.id = vb.subject_id
    WHERE vi.task_id = ${tasks.id}
      AND (coalesce(vp.location_id, vg.location_id) IS NULL
           OR coalesce(vp.location_id, vg.location_id) NOT IN ${subtreeIds(actor.locationId)}))`;
}

async function findTask(db: Db, actor: Actor, id: string, lock: boolean): Promise<Row> {
  const query = db.select().from(tasks).where(and(eq(tasks.id, id), visible(actor)));
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw notFound('task', id);
  return row;
}

export async function getTask(db: Db, actor: Actor, id: string): Promise<Task> {
  const row = await findTask(db, actor, id, false);
  return toTask(row, (await countsOf(db, [id])).get(id));
}

export async function listTasks(
  db: Db,
  actor: Actor,
  filters: { status?: TaskStatus; kind?: TaskKind; programme_id?: string },
  limit: number,
  cursor: string | undefined,
): Promise<Page<Task>> {
  const rows = await db
    .select()
    .from(tasks)
    .where(
      and(
        visible(actor),
        filters.status ? eq(tasks.status, filters.status) : undefined,
        filters.kind ? eq(tasks.kind, filters.kind) : undefined,
        filters.programme_id ? eq(tasks.programmeId, filters.programme_id) : undefined,
        cursor === undefined ? undefined : gt(tasks.id, decodeCursor(cursor, isUuid)),
      ),
    )
    .orderBy(asc(tasks.id))
    .limit(limit + 1);
  const counts = await countsOf(db, rows.slice(0, limit).map((r) => r.id));
  return toPage(rows.map((r) => toTask(r, counts.get(r.id))), limit, (t) => t.id);
}

/** The beneficiaries of a task, with what applying it found for each. */
export async function listTaskItems(
  db: Db,
  actor: Actor,
  id: string,
  filters: { outcome?: NonNullable<TaskItem['outcome']> },
  limit: number,
  cursor: string | undefined,
): Promise<Page<TaskItem>> {
  await findTask(db, actor, id, false);
  const rows = await queryRows<TaskItem>(
    db,
    sql`SELECT ti.beneficiary_id, b.subject_id, ti.from_status, ti.outcome, ti.found_status
        FROM task_items ti JOIN beneficiaries b ON b.id = ti.beneficiary_id
        WHERE ti.task_id = ${id}
          ${filters.outcome ? sql`AND ti.outcome = ${filters.outcome}` : sql``}
          ${cursor === undefined ? sql`` : sql`AND ti.beneficiary_id > ${decodeCursor(cursor, isUuid)}`}
        ORDER BY ti.beneficiary_id
        LIMIT ${limit + 1}`,
  );
  return toPage(rows, limit, (i) => i.beneficiary_id);
}

/**
 * A task for the beneficiaries `selection` picks (a condition over `b` and `p`), each kept with its current status,
 * made by `actor`; in the caller's transaction, audited.
 */
export async function createTask(
  tx: Db,
  actor: Actor,
  spec: { kind: TaskKind; programmeId: string; levels: number; change: StatusChangePayload },
  selection: SQL,
): Promise<Task> {
  const [row] = await tx
    .insert(tasks)
    .values({
      kind: spec.kind,
      programmeId: spec.programmeId,
      payload: spec.change as unknown as Record<string, unknown>,
      maker: actor.id,
      requiredLevels: spec.levels,
    })
    .returning();
  await tx.execute(
    sql`INSERT INTO task_items (task_id, beneficiary_id, from_status)
        SELECT ${row!.id}, b.id, b.status FROM ${beneficiariesWithProgramme} WHERE ${selection}`,
  );
  const task = toTask(row!, (await countsOf(tx, [row!.id])).get(row!.id));
  await appendAudit(tx, actor, { action: 'task.create', entityType: 'task', entityId: task.id, after: task });
  return task;
}

/**
 * Applies an approved task to its beneficiaries that are still in the status they had when it was made (and, to
 * become ACTIVE, still alive); records for each one whether it was applied or why not. Answers the task's status.
 */
async function applyTask(tx: Db, actor: Actor, row: Row): Promise<TaskStatus> {
  const change = row.payload as unknown as StatusChangePayload;
  const changed = await applyStatusChange(
    tx,
    actor,
    sql`b.id IN (SELECT ti.beneficiary_id FROM task_items ti WHERE ti.task_id = ${row.id} AND ti.from_status = b.status)`,
    change.to,
    change.reason,
    { id: row.id, maker: row.maker },
  );
  await tx.execute(
    sql`UPDATE task_items ti
        SET outcome = CASE WHEN e.beneficiary_id IS NOT NULL THEN 'applied'
                           WHEN b.status <> ti.from_status THEN 'status_changed'
                           ELSE 'deceased' END,
            found_status = CASE WHEN e.beneficiary_id IS NOT NULL THEN ti.from_status ELSE b.status END
        FROM beneficiaries b
          LEFT JOIN beneficiary_events e ON e.beneficiary_id = b.id AND e.task_id = ${row.id}
        WHERE ti.task_id = ${row.id} AND b.id = ti.beneficiary_id`,
  );
  return changed.length > 0 ? 'applied' : 'failed';
}

/** Four eyes: neither the maker nor an earlier approver may decide; a decided task cannot be decided again. */
function assertDecidable(row: Row, actor: Actor) {
  if (row.status !== 'pending') throw conflict(`the task is already ${row.status}`);
  if (row.maker === actor.id) {
    throw new HubError('forbidden', `the task was made by ${actor.id}: another client must decide it (four eyes)`);
  }
  if (row.decisions.some((d) => d.by === actor.id)) {
    throw new HubError('forbidden', `${actor.id} already approved a level of this task: each level needs another client`);
  }
}

async function decide(db: Db, actor: Actor, id: string, decision: TaskDecision['decision'], comment: string | null): Promise<Task> {
  return db.transaction(async (tx) => {
    const row = await findTask(tx, actor, id, true);
    assertDecidable(row, actor);
    const now = new Date();
    const level = row.decisions.length + 1;
    const decisions: TaskDecision[] = [...row.decisions, { level, decision, by: actor.id, at: now.toISOString(), comment }];
    let status: TaskStatus = 'pending';
    if (decision === 'reject') status = 'rejected';
    else if (level === row.requiredLevels) status = await applyTask(tx, actor, row);
    const [updated] = await tx
      .update(tasks)
      .set({ decisions, status, version: row.version + 1, ...(status === 'pending' ? {} : { decidedAt: now }) })
      .where(eq(tasks.id, id))
      .returning();
    const task = toTask(updated!, (await countsOf(tx, [id])).get(id));
    await appendAudit(tx, actor, { action: `task.${decision}`, entityType: 'task', entityId: id, before: { status: row.status, decisions: row.decisions }, after: task });
    return task;
  });
}

/** One level of approval; the last level applies the change in the same transaction. */
export const approveTask = (db: Db, actor: Actor, id: string, comment?: string) => decide(db, actor, id, 'approve', comment ?? null);

/** Refuses the change, with the reason; nothing is applied. */
export const rejectTask = (db: Db, actor: Actor, id: string, reason: string) => decide(db, actor, id, 'reject', reason);

/** The beneficiary `b` already waits in a pending task for the same move: it is not asked for twice. */
export const awaitingSameChange = (to: BeneficiaryStatus) =>
  sql`EXISTS (SELECT 1 FROM task_items wi JOIN tasks wt ON wt.id = wi.task_id
              WHERE wi.beneficiary_id = b.id AND wt.status = 'pending' AND wt.payload ->> 'to' = ${to})`;

/** The pending task, if any, already asking for this beneficiary to reach `to`. */
export async function pendingTaskFor(db: Db, beneficiaryId: string, to: BeneficiaryStatus): Promise<string | undefined> {
  const [row] = await db
    .select({ id: tasks.id })
    .from(tasks)
    .innerJoin(taskItems, eq(taskItems.taskId, tasks.id))
    .where(and(eq(taskItems.beneficiaryId, beneficiaryId), eq(tasks.status, 'pending'), sql`${tasks.payload} ->> 'to' = ${to}`))
    .limit(1);
  return row?.id;
}
