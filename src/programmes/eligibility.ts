import { sql, type SQL } from 'drizzle-orm';
import { useBulkMemory } from '../db/bulk-memory.js';
import type { Db } from '../db/client.js';
import { subtreeIds } from '../db/location-tree.js';
import { queryRows } from '../db/query-rows.js';
import type { Actor } from '../security/actor.js';
import { getProgramme } from './programmes.js';
import type { Preview, PreviewInput, Programme } from './schemas.js';
import { MEMBER_ALIAS, MEMBERSHIP_ALIAS } from './formula/member-aggregates.js';
import { compileProgrammeFormula, SUBJECT_ALIAS, vocabularyFor, type SubjectVocabulary } from './vocabulary.js';

const s = sql.identifier(SUBJECT_ALIAS);
const fm = sql.identifier(MEMBERSHIP_ALIAS);
const fi = sql.identifier(MEMBER_ALIAS);

/**
 * The `considered` rows of a programme: every live subject inside the programme's area and the caller's geographic
 * scope (living people only), with `eligible`, `score` and `cost` (the projected cost given, else 0) computed by
 * expressions compiled with `vocabulary`, whose members' pass is joined once. People are counted by their own sex,
 * households by their head's (read in the same members' pass).
 */
export function consideredSubjects(actor: Actor, programme: Programme, vocabulary: SubjectVocabulary, cost?: SQL): SQL {
  const eligible = programme.eligibility
    ? compileProgrammeFormula(programme.eligibility, vocabulary, 'boolean', '/eligibility')
    : sql`TRUE`;
  const score = programme.score ? compileProgrammeFormula(programme.score, vocabulary, 'number', '/score') : sql`NULL::numeric`;
  const individual = programme.subject === 'individual';
  const sex = vocabulary.aggregates
    ? sql`COALESCE(${vocabulary.aggregates.aggregate(sql`min(${fi}.sex) FILTER (WHERE ${fm}.role = 'head')`)}, 'unknown')`
    : sql`${s}.sex`;
  const label = individual ? sql`${s}.given_name || ' ' || ${s}.family_name` : sql`${s}.code`;
  const location = sql`${s}.location_id`;
  const conditions = [
    sql`${s}.deleted_at IS NULL`,
    // The geographic scope, applied to the aliased subject rows (the column helpers name the table).
    actor.locationId === null ? undefined : sql`${location} IN ${subtreeIds(actor.locationId)}`,
    programme.location_id === null ? undefined : sql`${location} IN ${subtreeIds(programme.location_id)}`,
    individual ? sql`${s}.death_date IS NULL` : undefined,
  ].filter((c): c is SQL => c !== undefined);
  const table = sql.identifier(individual ? 'individuals' : 'groups');
  const where = sql.join(conditions, sql` AND `);
  // Inside an area, the members' pass needs to see only that area's households.
  const within = actor.locationId === null && programme.location_id === null ? undefined : sql`SELECT ${s}.id FROM ${table} ${s} WHERE ${where}`;
  return sql`SELECT ${s}.id, ${location} AS location_id, ${sex} AS sex, ${label} AS label,
                    (${eligible}) IS TRUE AS eligible, (${score})::numeric AS score, (${cost ?? sql`0`})::numeric AS cost
             FROM ${table} ${s}${vocabulary.joins(within)}
             WHERE ${where}`;
}

/**
 * Who would qualify on `as_of`, without enrolling anyone: counts overall, by area at one level of the location
 * tree and by sex, and the best-ranked eligible subjects. One pass over the registry, inside PostgreSQL.
 */
export async function previewEligibility(db: Db, actor: Actor, programmeId: string, input: PreviewInput): Promise<Preview> {
  const programme = await getProgramme(db, actor, programmeId);
  const asOf = input.as_of ?? new Date().toISOString().slice(0, 10);
  const considered = consideredSubjects(actor, programme, await vocabularyFor(db, programme.subject, asOf));
  const level = input.by_level ?? 1;
  const sampleSize = input.sample ?? 10;
  // One statement: the registry is scanned once (the CTE is materialised) and every figure is read from it.
  const [row] = await db.transaction(async (tx) => {
    await useBulkMemory(tx);
    return queryRows<{
    considered: string | number;
    eligible: string | number;
    by_location: { location_id: string; code: string; name: string; eligible: number }[];
    by_sex: { sex: string; eligible: number }[];
    sample: { id: string; label: string; score: string | number | null }[];
  }>(
    tx,
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
  });
  return {
    as_of: asOf,
    considered: Number(row!.considered),
    eligible: Number(row!.eligible),
    by_location: row!.by_location,
    by_sex: row!.by_sex,
    sample: row!.sample.map((r) => ({ id: r.id, label: r.label, score: r.score === null ? null : Number(r.score) })),
  };
}
