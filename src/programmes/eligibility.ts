import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { subtreeIds } from '../db/location-tree.js';
import { queryRows } from '../db/query-rows.js';
import type { Actor } from '../security/actor.js';
import { getProgramme } from './programmes.js';
import type { Preview, PreviewInput, Programme } from './schemas.js';
import { compileProgrammeFormula, SUBJECT_ALIAS, vocabularyFor } from './vocabulary.js';

interface Candidates {
  /** FROM clause giving the subject rows under SUBJECT_ALIAS. */
  from: SQL;
  sex: SQL;
  /** How a subject is named in the sample. */
  label: SQL;
}

const s = sql.identifier(SUBJECT_ALIAS);

/** People are counted by their own sex; households by their head's. */
const CANDIDATES: Record<'individual' | 'group', Candidates> = {
  individual: {
    from: sql`individuals ${s}`,
    sex: sql`${s}.sex`,
    label: sql`${s}.given_name || ' ' || ${s}.family_name`,
  },
  group: {
    from: sql`groups ${s}`,
    sex: sql`COALESCE((SELECT h.sex FROM group_members hm JOIN individuals h ON h.id = hm.individual_id
      WHERE hm.group_id = ${s}.id AND hm.role = 'head' AND hm.end_date IS NULL), 'unknown')`,
    label: sql`${s}.code`,
  },
};

/**
 * The `considered` rows of a programme on `asOf`: every live subject inside the programme's area and the caller's
 * geographic scope (living people only), with `eligible` and `score` computed from the programme's formulas.
 */
export async function consideredSubjects(db: Db, actor: Actor, programme: Programme, asOf: string): Promise<SQL> {
  const vocabulary = await vocabularyFor(db, programme.subject, asOf);
  const eligible = programme.eligibility
    ? compileProgrammeFormula(programme.eligibility, vocabulary, 'boolean', '/eligibility')
    : sql`TRUE`;
  const score = programme.score ? compileProgrammeFormula(programme.score, vocabulary, 'number', '/score') : sql`NULL::numeric`;
  const candidates = CANDIDATES[programme.subject];
  const location = sql`${s}.location_id`;
  const conditions = [
    sql`${s}.deleted_at IS NULL`,
    // The geographic scope, applied to the aliased subject rows (the column helpers name the table).
    actor.locationId === null ? undefined : sql`${location} IN ${subtreeIds(actor.locationId)}`,
    programme.location_id === null ? undefined : sql`${location} IN ${subtreeIds(programme.location_id)}`,
    programme.subject === 'individual' ? sql`${s}.death_date IS NULL` : undefined,
  ].filter((c): c is SQL => c !== undefined);
  return sql`SELECT ${s}.id, ${location} AS location_id, ${candidates.sex} AS sex, ${candidates.label} AS label,
                    (${eligible}) IS TRUE AS eligible, (${score})::numeric AS score
             FROM ${candidates.from}
             WHERE ${sql.join(conditions, sql` AND `)}`;
}

/**
 * Who would qualify on `as_of`, without enrolling anyone: counts overall, by area at one level of the location
 * tree and by sex, and the best-ranked eligible subjects. One pass over the registry, inside PostgreSQL.
 */
export async function previewEligibility(db: Db, actor: Actor, programmeId: string, input: PreviewInput): Promise<Preview> {
  const programme = await getProgramme(db, actor, programmeId);
  const asOf = input.as_of ?? new Date().toISOString().slice(0, 10);
  const considered = await consideredSubjects(db, actor, programme, asOf);
  const level = input.by_level ?? 1;
  const sampleSize = input.sample ?? 10;
  // One statement: the registry is scanned once (the CTE is materialised) and every figure is read from it.
  const [row] = await queryRows<{
    considered: string | number;
    eligible: string | number;
    by_location: { location_id: string; code: string; name: string; eligible: number }[];
    by_sex: { sex: string; eligible: number }[];
    sample: { id: string; label: string; score: string | number | null }[];
  }>(
    db,
    sql`WITH considered AS MATERIALIZED (${considered})
        SELECT
          (SELECT count(*) FROM considered) AS considered,
          (SELECT count(*) FROM considered WHERE eligible) AS eligible,
          (SELECT COALESCE(json_agg(x ORDER BY x.code), '[]'::json) FROM (
             SELECT r.id AS location_id, r.code, r.name, count(*)::int AS eligible
             FROM considered c JOIN locations l ON l.id = c.location_id
             JOIN locations r ON r.path = subpath(l.path, 0, ${level}::int)
             WHERE c.eligible AND nlevel(l.path) >= ${level}::int
             GROUP BY r.id, r.code, r.name) x) AS by_location,
          (SELECT COALESCE(json_agg(y ORDER BY y.sex), '[]'::json) FROM (
             SELECT sex, count(*)::int AS eligible FROM considered WHERE eligible GROUP BY sex) y) AS by_sex,
          (SELECT COALESCE(json_agg(z), '[]'::json) FROM (
             SELECT id, label, score FROM considered WHERE eligible
             ORDER BY score ASC NULLS LAST, id LIMIT ${sampleSize}::int) z) AS sample`,
  );
  return {
    as_of: asOf,
    considered: Number(row!.considered),
    eligible: Number(row!.eligible),
    by_location: row!.by_location,
    by_sex: row!.by_sex,
    sample: row!.sample.map((r) => ({ id: r.id, label: r.label, score: r.score === null ? null : Number(r.score) })),
  };
}
