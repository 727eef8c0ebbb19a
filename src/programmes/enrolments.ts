import { and, asc, inArray, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client.js';
import { queryRows } from '../db/query-rows.js';
import { beneficiaries, beneficiaryEvents, groups, individuals, programmes } from '../db/schema/index.js';
import { keyset, sortedPage } from '../db/sorted-keyset.js';
import { notFound } from '../errors.js';
import type { Found, Selection } from '../registry/scoped-search.js';
import type { Actor } from '../security/actor.js';
import { withinScope } from '../security/geo-scope.js';
import type { BeneficiaryStatus } from './schemas.js';
import type { Subject } from './vocabulary.js';

/**
 * A beneficiary seen from the person's side (the FHIR EpisodeOfCare view): the programme, the status with its
 * history, and the person it is about — the individual enrolled, or for a household its head (the oldest current
 * member when it has no head) among the members the reader may see.
 */
export interface Enrolment {
  id: string;
  status: BeneficiaryStatus;
  programme: { id: string; code: string; name: string; subject: Subject; operator_id: string | null };
  subject_id: string;
  person_id: string;
  history: { from: BeneficiaryStatus | null; to: BeneficiaryStatus; at: string }[];
  version: number;
  created_at: string;
  updated_at: string;
}

const member = alias(individuals, 'member');

/**
 * Expressions searches may filter on. The household's representative comes from a LATERAL subquery named
 * `representative`; `personId` is the individual enrolled or that representative.
 */
export const enrolmentColumns = {
  personId: sql`coalesce(${individuals.id}, representative.individual_id)`,
  /** Whether the subject is an individual (false: a household). */
  individualSubject: sql`(${individuals.id} IS NOT NULL)`,
};

/**
 * FROM and visibility of enrolments: the subject exists, is not deleted and lies inside the actor's geographic
 * scope (a household also needs a visible current member to stand for it). The programme's own area does not
 * restrict the view, as the admin API's benefits of a person do not: it is about the person.
 */
function source(actor: Actor) {
  const representative = sql`LEFT JOIN LATERAL (
      SELECT m.individual_id FROM group_members m JOIN individuals ${member} ON ${member.id} = m.individual_id
      WHERE m.group_id = ${groups.id} AND m.end_date IS NULL AND ${member.deletedAt} IS NULL
        ${scopeAnd(withinScope(actor, member.locationId))}
      ORDER BY (m.role = 'head') DESC, ${member.birthDate} ASC NULLS LAST, ${member.id}
      LIMIT 1) representative ON true`;
  const from = sql`${beneficiaries}
    JOIN ${programmes} ON ${programmes.id} = ${beneficiaries.programmeId}
    LEFT JOIN ${individuals} ON ${programmes.subject} = 'individual' AND ${individuals.id} = ${beneficiaries.subjectId}
      AND ${individuals.deletedAt} IS NULL ${scopeAnd(withinScope(actor, individuals.locationId))}
    LEFT JOIN ${groups} ON ${programmes.subject} = 'group' AND ${groups.id} = ${beneficiaries.subjectId}
      AND ${groups.deletedAt} IS NULL ${scopeAnd(withinScope(actor, groups.locationId))}
    ${representative}`;
  const visible = sql`(${individuals.id} IS NOT NULL OR representative.individual_id IS NOT NULL)`;
  return { from, visible };
}

const scopeAnd = (condition: SQL | undefined) => (condition ? sql`AND ${condition}` : sql``);

interface Row {
  id: string;
  status: BeneficiaryStatus;
  subject_id: string;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
  programme_id: string;
  programme_code: string;
  programme_name: string;
  programme_subject: Subject;
  operator_id: string | null;
  person_id: string;
  sort_value: string | null;
}

const iso = (value: Date | string) => new Date(value).toISOString();

export async function findEnrolments(db: Db, actor: Actor, sel: Selection): Promise<Found<Enrolment>> {
  const { from, visible } = source(actor);
  const seek = keyset(beneficiaries.id, sel.order, sel.after);
  const rows = await queryRows<Row>(
    db,
    sql`SELECT ${beneficiaries.id} AS id, ${beneficiaries.status} AS status, ${beneficiaries.subjectId} AS subject_id,
          ${beneficiaries.version} AS version, ${beneficiaries.createdAt} AS created_at, ${beneficiaries.updatedAt} AS updated_at,
          ${programmes.id} AS programme_id, ${programmes.code} AS programme_code, ${programmes.name} AS programme_name,
          ${programmes.subject} AS programme_subject, ${programmes.operatorId} AS operator_id,
          ${enrolmentColumns.personId} AS person_id, ${seek.value} AS sort_value
        FROM ${from}
        WHERE ${and(visible, ...sel.where, seek.where)}
        ORDER BY ${sql.join(seek.orderBy, sql`, `)}
        LIMIT ${sel.limit + 1}`,
  );
  const { page, next } = sortedPage(
    rows.map((r) => ({ ...r, sortValue: r.sort_value })),
    sel.limit,
    (r) => r.id,
  );
  const history = await historyOf(db, page.map((r) => r.id));
  return {
    items: page.map((r) => ({
      id: r.id,
      status: r.status,
      programme: { id: r.programme_id, code: r.programme_code, name: r.programme_name, subject: r.programme_subject, operator_id: r.operator_id },
      subject_id: r.subject_id,
      person_id: r.person_id,
      history: history.get(r.id) ?? [],
      version: Number(r.version),
      created_at: iso(r.created_at),
      updated_at: iso(r.updated_at),
    })),
    ...(next ? { next } : {}),
  };
}

export async function countEnrolments(db: Db, actor: Actor, where: SQL[]): Promise<number> {
  const { from, visible } = source(actor);
  const [row] = await queryRows<{ n: number | string }>(db, sql`SELECT count(*) AS n FROM ${from} WHERE ${and(visible, ...where)}`);
  return Number(row?.n ?? 0);
}

export async function getEnrolment(db: Db, actor: Actor, id: string): Promise<Enrolment> {
  const found = await findEnrolments(db, actor, { where: [inArray(beneficiaries.id, [id])], limit: 1 });
  if (!found.items[0]) throw notFound('beneficiary', id);
  return found.items[0];
}

/**
 * Every version of an enrolment, newest first. A beneficiary changes only by a status move, each recorded in
 * beneficiary_events with the version bump in one statement, so version n is the state right after its n-th move:
 * that status, the moves up to it, and the move's time as the last update. The programme and (for a household)
 * the person standing for it are as they are now, as in the current version.
 */
export async function enrolmentVersions(db: Db, actor: Actor, id: string): Promise<Enrolment[]> {
  const current = await getEnrolment(db, actor, id);
  const moves = current.history;
  return moves
    .map((move, i) => ({
      ...current,
      status: move.to,
      history: moves.slice(0, i + 1),
      version: current.version - (moves.length - 1 - i),
      updated_at: move.at,
    }))
    .reverse();
}

/** Status moves of each beneficiary, oldest first. */
async function historyOf(db: Db, ids: string[]) {
  const byId = new Map<string, Enrolment['history']>();
  if (ids.length === 0) return byId;
  const rows = await db
    .select()
    .from(beneficiaryEvents)
    .where(inArray(beneficiaryEvents.beneficiaryId, ids))
    .orderBy(asc(beneficiaryEvents.seq));
  for (const e of rows) {
    const list = byId.get(e.beneficiaryId) ?? [];
    list.push({ from: e.fromStatus as BeneficiaryStatus | null, to: e.toStatus as BeneficiaryStatus, at: e.at.toISOString() });
    byId.set(e.beneficiaryId, list);
  }
  return byId;
}
