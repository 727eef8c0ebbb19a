import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { queryRows } from '../db/query-rows.js';

/**
 * Flagging of possible duplicates, in set-based SQL so an import batch costs one statement whatever its size.
 * Nothing here merges: it only stores candidates (duplicate_candidates) for a person to dismiss or merge.
 */

/** Two full names at least this similar (pg_trgm similarity of the folded "given family") can be one person. */
export const NAME_SIMILARITY = 0.6;
/** An import row whose name is less similar than this to the identifier holder's describes someone else. */
export const OTHER_PERSON_SIMILARITY = 0.5;

/**
 * Probable duplicates: two living records in the same location, born the same year, not of the opposite sex, with
 * similar names. Score: 60 × name similarity + 40 for the same birth date (20 for the same year only). A pair is
 * stored once (smaller id first); a decided pair is never re-opened. Answers how many new candidates were stored.
 *
 * `ids` (a subquery of ids): the pairs of those individuals. Blocking on (location, birth year) keeps each lookup to
 * a handful of rows through individuals_location_birth_idx, instead of comparing names across the registry.
 * `'everyone'`: every pair in the registry, in hash joins on (location, birth year) — cheaper than a lookup per
 * person when a bulk load has just filled an empty registry. Men and women are paired only within their sex (the
 * sex is part of the join key), so names are compared for half the pairs; people of another or unknown sex are
 * paired with everyone (a pair of two of them comes twice and is stored once).
 */
export async function flagProbableDuplicates(db: Db, among: SQL | 'everyone'): Promise<number> {
  const columns = sql`least(a.id, b.id) AS first_id, greatest(a.id, b.id) AS second_id, a.location_id,
                 similarity(a.search_name, b.search_name) AS sim, a.birth_date = b.birth_date AS same_date,
                 CASE WHEN a.id < b.id THEN a.birth_date ELSE b.birth_date END AS first_birth,
                 CASE WHEN a.id < b.id THEN b.birth_date ELSE a.birth_date END AS second_birth`;
  const similar = sql`similarity(a.search_name, b.search_name) >= ${NAME_SIMILARITY}`;
  const sameYear = sql`date_trunc('year', b.birth_date) = date_trunc('year', a.birth_date)`;
  const pairs =
    among === 'everyone'
      ? sql`SELECT ${columns} FROM individuals a
            JOIN individuals b ON b.location_id = a.location_id AND ${sameYear} AND b.sex = a.sex
              AND b.id > a.id AND b.deleted_at IS NULL
            WHERE a.deleted_at IS NULL AND a.sex IN ('male', 'female') AND ${similar}
            UNION ALL
            SELECT ${columns} FROM individuals a
            JOIN individuals b ON b.location_id = a.location_id AND ${sameYear} AND b.id <> a.id AND b.deleted_at IS NULL
            WHERE a.deleted_at IS NULL AND a.sex NOT IN ('male', 'female') AND ${similar}`
      : sql`SELECT ${columns} FROM individuals a
            JOIN individuals b ON b.location_id = a.location_id
              AND b.birth_date >= date_trunc('year', a.birth_date)::date
              AND b.birth_date < (date_trunc('year', a.birth_date) + interval '1 year')::date
              AND b.id <> a.id AND b.deleted_at IS NULL
            WHERE a.id IN ${among} AND a.deleted_at IS NULL
              AND NOT (a.sex IN ('male', 'female') AND b.sex IN ('male', 'female') AND a.sex <> b.sex)
              AND ${similar}`;
  const [row] = await queryRows<{ n: string }>(
    db,
    sql`WITH pairs AS (
          ${pairs}
        ), stored AS (
          INSERT INTO duplicate_candidates (key, kind, individual_id, other_id, score, reasons)
          SELECT first_id::text || ':' || second_id::text, 'probable', first_id, second_id,
                 round(60 * sim + CASE WHEN same_date THEN 40 ELSE 20 END)::int,
                 jsonb_build_array(
                   jsonb_build_object('rule', 'similar_names', 'similarity', round(sim::numeric, 2)),
                   CASE WHEN same_date THEN jsonb_build_object('rule', 'same_birth_date', 'birth_date', first_birth)
                        ELSE jsonb_build_object('rule', 'same_birth_year', 'birth_dates', jsonb_build_array(first_birth, second_birth)) END,
                   jsonb_build_object('rule', 'same_location', 'location_id', location_id))
          FROM pairs
          ON CONFLICT (key) DO NOTHING
          RETURNING 1
        )
        SELECT count(*) AS n FROM stored`,
  );
  return Number(row?.n ?? 0);
}

export interface HeldRow {
  line: number;
  candidate_id: string | null;
  individual_id: string;
}

/**
 * Rows of an import staging table (identifier_type, identifier_value, given_name, family_name, birth_date …, and
 * individual_id: who holds the identifier already) whose identifier belongs to a living individual whose name is
 * clearly another (similarity below OTHER_PERSON_SIMILARITY) or whose birth year differs: applying them would turn
 * one person into another. They are held back and stored as
 * `identifier` candidates carrying the row, unless an identical row was already reviewed and dismissed (then the
 * import applies it). Answers the held lines, with the new candidate's id (null when it was already flagged).
 */
export async function holdIdentifierConflicts(db: Db, stage: string): Promise<HeldRow[]> {
  return queryRows<HeldRow>(
    db,
    sql`WITH matched AS (
          SELECT s.line, x.id AS individual_id, x.given_name AS registered_given, x.family_name AS registered_family,
                 x.birth_date AS registered_birth,
                 jsonb_strip_nulls(jsonb_build_object(
                   'identifier_type', s.identifier_type, 'identifier_value', s.identifier_value, 'given_name', s.given_name,
                   'family_name', s.family_name, 'middle_name', s.middle_name, 'sex', s.sex, 'birth_date', s.birth_date,
                   'location_code', s.location_code)) AS incoming,
                 similarity(x.search_name, hub_normalise(s.given_name || ' ' || s.family_name)) AS sim,
                 s.birth_date AS incoming_birth
          FROM ${sql.raw(stage)} s
          JOIN individuals x ON x.id = s.individual_id AND x.deleted_at IS NULL
        ), conflicts AS (
          SELECT m.*, 'identifier:' || m.individual_id::text || ':' || md5(m.incoming::text) AS key
          FROM matched m
          WHERE m.sim < ${OTHER_PERSON_SIMILARITY}
             OR date_part('year', m.registered_birth) <> date_part('year', m.incoming_birth)
        ), held AS (
          SELECT c.* FROM conflicts c
          WHERE NOT EXISTS (SELECT 1 FROM duplicate_candidates k WHERE k.key = c.key AND k.status = 'dismissed')
        ), stored AS (
          INSERT INTO duplicate_candidates (key, kind, individual_id, score, reasons, incoming)
          SELECT key, 'identifier', individual_id, 100,
                 jsonb_build_array(jsonb_build_object(
                   'rule', 'same_identifier', 'identifier_type', incoming->>'identifier_type',
                   'identifier_value', incoming->>'identifier_value', 'name_similarity', round(sim::numeric, 2),
                   'registered', jsonb_strip_nulls(jsonb_build_object('given_name', registered_given, 'family_name', registered_family,
                                                                      'birth_date', registered_birth)))),
                 incoming
          FROM held
          ON CONFLICT (key) DO NOTHING
          RETURNING id, key
        )
        SELECT h.line, s.id AS candidate_id, h.individual_id FROM held h LEFT JOIN stored s ON s.key = h.key`,
  );
}
