import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type { BulkTransaction, Db } from '../../db/client.js';
import { copyLine } from '../../db/copy-text.js';
import { queryRows } from '../../db/query-rows.js';
import { flagProbableDuplicates, holdIdentifierConflicts } from '../duplicate-flags.js';
import type { ImportType, Row } from './fields.js';

export interface StagedRow {
  line: number;
  row: Row;
}

export interface RowIssue {
  line: number;
  column?: string;
  reason: string;
}

export interface BatchResult {
  inserted: number;
  updated: number;
  /** New duplicate candidates stored (rows held for a shared identifier, probable duplicates). */
  flagged: number;
  issues: RowIssue[];
}

/**
 * Set-based merge of one batch: rows are COPYed into a temporary staging table, rows the database refuses (an
 * unknown location or household, a deleted record) are reported and dropped, then one INSERT … SELECT … ON CONFLICT
 * per target table writes the rest. Updates touch only the fields the file has (`present`), and only rows whose
 * values differ, so importing the same file again changes nothing. Custom attributes are merged key by key.
 */
interface Plan {
  columns: [name: string, type: string][];
  /**
   * Registry rows the batch refers to, looked up once per row into extra staging columns (`resolved`) by one
   * UPDATE before the checks and the merge, which then read those columns instead of each probing the registry.
   */
  resolved?: [name: string, type: string][];
  resolve?: string;
  /** Queries answering (line, column, reason) for rows to refuse before the merge. */
  rejects: (present: Set<string>) => SQL[];
  merge: (tx: BulkTransaction, present: Set<string>) => Promise<Omit<BatchResult, 'flagged'>>;
  /** The upsert key of a staged row, as SQL text: a second row with the same key in one file is refused. */
  key: string;
  keyColumn: string;
}

/** Civil events are recorded one by one through the registry's code (./civil-events.ts), not by a plan. */
type PlannedType = Exclude<ImportType, 'civil-events'>;

const STAGE = 'import_stage';
const JOIN_COLUMNS = new Set(['line', 'identifier_type', 'identifier_value', 'location_code', 'household_code', 'code', 'parent_code']);

/** The registry ids of the people in the batch just merged (a subquery; valid until the batch's transaction ends). */
export const stagedIndividuals = sql.raw(`(SELECT coalesce(s.individual_id, s.new_id) FROM ${STAGE} s)`);

/**
 * `t.col = <from>.col` for each field the file has (other fields keep their stored value), and whether any of them
 * differs; `from` names the new values (`excluded` in ON CONFLICT DO UPDATE).
 */
function updates(present: Set<string>, columns: Record<string, string>, from = 'excluded') {
  const names = Object.entries(columns).filter(([field]) => present.has(field)).map(([, column]) => column);
  return {
    set: names.map((c) => `${c} = ${from}.${c}`),
    differs: names.length === 0 ? 'false' : `(${names.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${names.map((c) => `${from}.${c}`).join(', ')})`,
  };
}

/** Custom attributes are merged key by key into the stored ones. */
const attributeMerge = (present: Set<string>, from = 'excluded') =>
  present.has('attributes')
    ? { set: [`attributes = t.attributes || ${from}.attributes`], differs: ` OR t.attributes IS DISTINCT FROM t.attributes || ${from}.attributes` }
    : { set: [], differs: '' };

/** The SET list of an update that changes the given fields and records a new version. */
const newVersion = (...fields: string[][]) => [...fields.flat(), 'version = t.version + 1', 'updated_at = now()'].join(', ');

async function counts(tx: BulkTransaction, statement: string): Promise<{ inserted: number; updated: number }> {
  const [row] = await queryRows<{ inserted: string; updated: string }>(tx.db, sql.raw(statement));
  return { inserted: Number(row?.inserted ?? 0), updated: Number(row?.updated ?? 0) };
}

const COUNT_UP = `SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated FROM up`;

const unknownLocation = sql.raw(
  `SELECT line, 'location_code' AS "column", 'no location with code ' || location_code AS reason FROM ${STAGE} s
   WHERE location_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM locations l WHERE l.code = s.location_code AND l.deleted_at IS NULL)`,
);

const PLANS: Record<PlannedType, Plan> = {
  individuals: {
    // Identifier types and codes hold no space, so space-joined keys cannot collide.
    key: `identifier_type || ' ' || identifier_value`,
    keyColumn: 'identifier_value',
    columns: [
      ['identifier_type', 'text'], ['identifier_value', 'text'], ['given_name', 'text'], ['family_name', 'text'],
      ['middle_name', 'text'], ['sex', 'text'], ['birth_date', 'date'], ['death_date', 'date'], ['location_code', 'text'],
      ['phone', 'text'], ['email', 'text'], ['attributes', 'jsonb'],
    ],
    // The person who holds the identifier already (individual_id, null for a new one), and whether deleted.
    resolved: [['individual_id', 'uuid'], ['individual_deleted', 'boolean']],
    resolve: `UPDATE ${STAGE} s SET individual_id = d.individual_id, individual_deleted = i.deleted_at IS NOT NULL
              FROM identifiers d JOIN individuals i ON i.id = d.individual_id
              WHERE d.type = s.identifier_type AND d.value = s.identifier_value`,
    rejects: () => [
      unknownLocation,
      sql.raw(`SELECT s.line, 'identifier_value' AS "column", 'the individual with this identifier has been deleted' AS reason
               FROM ${STAGE} s WHERE s.individual_deleted`),
    ],
    merge: async (tx, present) => {
      const u = updates(
        present,
        {
          given_name: 'given_name', family_name: 'family_name', middle_name: 'middle_name', sex: 'sex', birth_date: 'birth_date',
          death_date: 'death_date', location_code: 'location_id', phone: 'phone', email: 'email',
        },
        'src',
      );
      const a = attributeMerge(present, 'src');
      return {
        ...(await counts(
          tx,
          `WITH src AS (
             SELECT coalesce(s.individual_id, s.new_id) AS id, s.individual_id IS NULL AS is_new, s.identifier_type, s.identifier_value,
                    s.given_name, s.family_name, s.middle_name, coalesce(s.sex, 'unknown') AS sex, s.birth_date, s.death_date,
                    l.id AS location_id, s.phone, s.email, coalesce(s.attributes, '{}') AS attributes
             FROM ${STAGE} s
             LEFT JOIN locations l ON l.code = s.location_code AND l.deleted_at IS NULL
           ), inserted AS (
             INSERT INTO individuals (id, given_name, family_name, middle_name, sex, birth_date, death_date, location_id, phone, email, attributes)
             SELECT id, given_name, family_name, middle_name, sex, birth_date, death_date, location_id, phone, email, attributes
             FROM src WHERE is_new
             RETURNING 1
           ), updated AS (
             UPDATE individuals t SET ${newVersion(u.set, a.set)}
             FROM src WHERE t.id = src.id AND NOT src.is_new AND (${u.differs}${a.differs})
             RETURNING 1
           ), ids AS (
             INSERT INTO identifiers (individual_id, type, value) SELECT id, identifier_type, identifier_value FROM src WHERE is_new
           )
           SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM updated) AS updated`,
        )),
        issues: [],
      };
    },
  },
  households: {
    key: 'household_code',
    keyColumn: 'household_code',
    columns: [['household_code', 'text'], ['kind', 'text'], ['name', 'text'], ['location_code', 'text'], ['attributes', 'jsonb']],
    rejects: () => [
      unknownLocation,
      sql.raw(`SELECT s.line, 'household_code' AS "column", 'household ' || s.household_code || ' has been deleted' AS reason
               FROM ${STAGE} s JOIN groups g ON g.code = s.household_code WHERE g.deleted_at IS NOT NULL`),
    ],
    merge: async (tx, present) => {
      const u = updates(present, { kind: 'kind', name: 'name', location_code: 'location_id' });
      const a = attributeMerge(present);
      return {
        ...(await counts(
          tx,
          `WITH up AS (
             INSERT INTO groups AS t (id, code, kind, name, location_id, attributes)
             SELECT s.new_id, s.household_code, coalesce(s.kind, 'household'), s.name, l.id, coalesce(s.attributes, '{}')
             FROM ${STAGE} s LEFT JOIN locations l ON l.code = s.location_code AND l.deleted_at IS NULL
             ON CONFLICT (code) DO UPDATE SET ${newVersion(u.set, a.set)}
             WHERE ${u.differs}${a.differs}
             RETURNING (xmax = 0) AS inserted
           )
           ${COUNT_UP}`,
        )),
        issues: [],
      };
    },
  },
  members: {
    key: `household_code || ' ' || identifier_type || ' ' || identifier_value`,
    keyColumn: 'identifier_value',
    columns: [['household_code', 'text'], ['identifier_type', 'text'], ['identifier_value', 'text'], ['role', 'text'], ['start_date', 'date']],
    // The living household and person each row names (null: none).
    resolved: [['group_id', 'uuid'], ['individual_id', 'uuid']],
    resolve: `UPDATE ${STAGE} s SET
                group_id = (SELECT g.id FROM groups g WHERE g.code = s.household_code AND g.deleted_at IS NULL),
                individual_id = (SELECT d.individual_id FROM identifiers d JOIN individuals i ON i.id = d.individual_id
                                 WHERE d.type = s.identifier_type AND d.value = s.identifier_value AND i.deleted_at IS NULL)`,
    rejects: () => [
      sql.raw(`SELECT line, 'household_code' AS "column", 'no household with code ' || household_code AS reason FROM ${STAGE} s
               WHERE group_id IS NULL`),
      sql.raw(`SELECT line, 'identifier_value' AS "column", 'no individual with ' || identifier_type || ' ' || identifier_value AS reason FROM ${STAGE} s
               WHERE individual_id IS NULL`),
      // A scalar subquery is probed per row through the one-head index; as EXISTS, the planner (on statistics a
      // bulk load has outgrown) sometimes joined the whole of group_members instead, for seconds per batch.
      sql.raw(`SELECT s.line, 'role' AS "column", 'household ' || s.household_code || ' already has another head' AS reason
               FROM ${STAGE} s
               WHERE s.role = 'head' AND (SELECT m.individual_id FROM group_members m
                                          WHERE m.group_id = s.group_id AND m.role = 'head' AND m.end_date IS NULL) <> s.individual_id`),
    ],
    merge: async (tx, present) => {
      const u = updates(present, { role: 'role', start_date: 'start_date' });
      return {
        ...(await counts(
          tx,
          `WITH up AS (
             INSERT INTO group_members AS t (group_id, individual_id, role, start_date)
             SELECT s.group_id, s.individual_id, s.role, s.start_date
             FROM ${STAGE} s
             ON CONFLICT (group_id, individual_id) WHERE end_date IS NULL DO UPDATE SET ${u.set.join(', ')}
             WHERE ${u.differs}
             RETURNING t.group_id, (xmax = 0) AS inserted
           ), bump AS (
             UPDATE groups SET version = version + 1, updated_at = now() WHERE id IN (SELECT group_id FROM up)
           )
           ${COUNT_UP}`,
        )),
        issues: [],
      };
    },
  },
  locations: {
    key: 'code',
    keyColumn: 'code',
    columns: [['code', 'text'], ['name', 'text'], ['kind', 'text'], ['parent_code', 'text']],
    rejects: () => [
      sql.raw(`SELECT line, 'parent_code' AS "column", 'no location with code ' || parent_code AS reason FROM ${STAGE} s
               WHERE parent_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM locations l WHERE l.code = s.parent_code)
               AND NOT EXISTS (SELECT 1 FROM ${STAGE} o WHERE o.code = s.parent_code)`),
      sql.raw(`SELECT s.line, 'parent_code' AS "column", 'location ' || s.code || ' has another parent; import does not move areas' AS reason
               FROM ${STAGE} s JOIN locations t ON t.code = s.code LEFT JOIN locations p ON p.code = s.parent_code
               WHERE t.parent_id IS DISTINCT FROM p.id`),
    ],
    merge: async (tx, present) => {
      const u = updates(present, { name: 'name', kind: 'kind' });
      const [changed] = await queryRows<{ n: string }>(
        tx.db,
        sql.raw(`WITH up AS (UPDATE locations t SET ${newVersion(u.set)}
                 FROM ${STAGE} excluded WHERE t.code = excluded.code AND ${u.differs} RETURNING 1) SELECT count(*) AS n FROM up`),
      );
      // Parents may come later in the same batch: insert level by level until nothing more can be placed.
      let inserted = 0;
      for (;;) {
        const [step] = await queryRows<{ n: string }>(
          tx.db,
          sql.raw(`WITH ins AS (
                     INSERT INTO locations (id, code, name, kind, level, parent_id, path)
                     SELECT s.new_id, s.code, s.name, s.kind, coalesce(p.level + 1, 1), p.id,
                            CASE WHEN p.id IS NULL THEN text2ltree(replace(s.new_id::text, '-', ''))
                                 ELSE p.path || text2ltree(replace(s.new_id::text, '-', '')) END
                     FROM ${STAGE} s LEFT JOIN locations p ON p.code = s.parent_code
                     WHERE NOT EXISTS (SELECT 1 FROM locations x WHERE x.code = s.code) AND (s.parent_code IS NULL OR p.id IS NOT NULL)
                     RETURNING 1)
                   SELECT count(*) AS n FROM ins`),
        );
        const n = Number(step?.n ?? 0);
        if (n === 0) break;
        inserted += n;
      }
      const stuck = await queryRows<RowIssue>(
        tx.db,
        sql.raw(`SELECT line, 'parent_code' AS "column", 'parent ' || parent_code || ' could not be placed (a cycle?)' AS reason
                 FROM ${STAGE} s WHERE NOT EXISTS (SELECT 1 FROM locations x WHERE x.code = s.code)`),
      );
      return { inserted, updated: Number(changed?.n ?? 0), issues: stuck };
    },
  },
};

/** Tables each import type looks rows up in (statistics refreshed once at the start). */
const TABLES: Record<ImportType, string[]> = {
  locations: ['locations'],
  individuals: ['individuals', 'identifiers', 'locations'],
  households: ['groups', 'locations'],
  members: ['group_members', 'groups', 'individuals', 'identifiers'],
  'civil-events': ['civil_events', 'individuals', 'identifiers', 'locations'],
};

/**
 * Tables each import type fills, with the columns batches look rows up by: statistics refreshed as its inserts
 * double (those columns only: the row count and the join keys are what the lookups are planned on, and sampling
 * names and attributes every time cost seconds at a million rows), and in full once the load ends.
 */
const WRITTEN: Record<ImportType, Record<string, string[]>> = {
  locations: { locations: ['id', 'code'] },
  individuals: { individuals: ['id'], identifiers: ['individual_id', 'type', 'value'] },
  households: { groups: ['id', 'code'] },
  // Every household a member joins gets a new version: groups are rewritten too.
  members: { group_members: ['group_id', 'individual_id'], groups: ['id', 'code'] },
  'civil-events': { civil_events: ['source', 'event_type', 'registration_number', 'subject_id'], individuals: ['id'] },
};

/**
 * A bulk load outruns autovacuum: planned on statistics of a table a hundred times smaller, the lookups of a batch
 * turn into hash joins over whole tables. The importer refreshes all the tables it reads at the start and the join
 * keys of the ones it fills as its inserts double. At the end of a bulk load the tables it filled are vacuumed as
 * well as analysed (outside any transaction): until then every page of fresh rows is marked neither all-visible
 * (so index-only scans, such as a fuzzy name search's, visit the rows anyway) nor hinted (so the first searches to
 * read each row write its page).
 */
export async function refreshStatistics(db: Db, type: ImportType, tables: 'read' | 'growing' | 'loaded'): Promise<void> {
  const written = Object.entries(WRITTEN[type]);
  const statement =
    tables === 'read'
      ? `ANALYZE ${TABLES[type].join(', ')}`
      : tables === 'growing'
        ? `ANALYZE ${written.map(([table, keys]) => `${table} (${keys.join(', ')})`).join(', ')}`
        : `VACUUM (ANALYZE) ${written.map(([table]) => table).join(', ')}`;
  await db.execute(sql.raw(statement));
}

/**
 * A table of the keys (and first line) of every row an import has staged, so that a key seen again — in this batch
 * or an earlier one — is refused as a duplicate of that line. Kept in the database, not in the importer's memory:
 * at a million rows a key map costs hundreds of megabytes. UNLOGGED: it only lives as long as the import.
 */
export async function createKeyTable(db: Db, importId: string): Promise<string> {
  const name = `import_keys_${importId.replaceAll('-', '')}`;
  // Keys compare bytewise (COLLATE "C"): equality is all the table is for, and a locale-aware comparison costs more.
  await db.execute(sql.raw(`CREATE UNLOGGED TABLE ${name} (key text COLLATE "C" PRIMARY KEY, line integer NOT NULL)`));
  return name;
}

export async function dropKeyTable(db: Db, name: string): Promise<void> {
  await db.execute(sql.raw(`DROP TABLE IF EXISTS ${name}`));
}

async function refuse(tx: BulkTransaction, found: RowIssue[], issues: RowIssue[]) {
  if (found.length === 0) return;
  issues.push(...found);
  const lines = [...new Set(found.map((i) => i.line))];
  await tx.db.execute(sql`DELETE FROM import_stage WHERE line = ANY(${`{${lines.join(',')}}`}::int[])`);
}

/** Rows whose key an earlier row of the file had (that row's line is named); the first of each key is recorded. */
async function refuseRepeatedKeys(tx: BulkTransaction, type: PlannedType, keys: string, issues: RowIssue[]) {
  const { key, keyColumn } = PLANS[type];
  const repeated = (expression: string, column: string, reason: string, where = 'true') =>
    queryRows<RowIssue>(
      tx.db,
      // A key the INSERT did not record was recorded by an earlier batch; that batch's line is looked up for those
      // rows alone (the subquery sees the table as it was before this statement), not joined for every row.
      sql.raw(`WITH k AS (SELECT line, ${expression} AS key FROM ${STAGE} WHERE ${where}),
                    first AS (SELECT key, min(line) AS line FROM k GROUP BY key),
                    recorded AS (INSERT INTO ${keys} SELECT key, line FROM first ON CONFLICT (key) DO NOTHING RETURNING key)
               SELECT k.line, '${column}' AS "column",
                      ${reason} || coalesce((SELECT seen.line FROM ${keys} seen WHERE seen.key = k.key AND r.key IS NULL), f.line) AS reason
               FROM k JOIN first f ON f.key = k.key LEFT JOIN recorded r ON r.key = k.key
               WHERE r.key IS NULL OR k.line > f.line`),
    );
  await refuse(tx, await repeated(key, keyColumn, `'duplicate of line '`), issues);
  if (type === 'members') {
    await refuse(
      tx,
      await repeated(`'head:' || household_code`, 'role', `'household ' || substr(k.key, 6) || ' already has a head on line '`, `role = 'head'`),
      issues,
    );
  }
}

/**
 * Stages and merges one batch inside the caller's transaction; `keys` is the import's createKeyTable table. With
 * `flagLater` (a bulk load), probable duplicates are left to one pass over the registry at the end.
 */
export async function mergeBatch(
  tx: BulkTransaction,
  type: PlannedType,
  rows: StagedRow[],
  present: Set<string>,
  keys: string,
  flagLater = false,
): Promise<BatchResult> {
  const plan = PLANS[type];
  const columns = [['line', 'integer'], ['new_id', 'uuid'], ...plan.columns] as const;
  const table = [...columns, ...(plan.resolved ?? [])];
  await tx.db.execute(sql.raw(`DROP TABLE IF EXISTS ${STAGE}`));
  await tx.db.execute(sql.raw(`CREATE TEMP TABLE ${STAGE} (${table.map(([n, t]) => `"${n}" ${t}`).join(', ')}) ON COMMIT DROP`));
  await tx.copyIn(
    STAGE,
    columns.map(([n]) => n),
    rows.map(({ line, row }) => copyLine([line, randomUUID(), ...plan.columns.map(([n]) => row[n] as never)])),
  );
  // Without statistics the planner takes the staging table for a big one and hash-joins it against whole
  // registry tables (a full scan per batch); with them it looks each row up through the indexes. Only the columns
  // rows are joined on: sampling names and attributes too costs more than the lookups it plans.
  const joined = columns.map(([n]) => n).filter((n) => JOIN_COLUMNS.has(n));
  await tx.db.execute(sql.raw(`ANALYZE ${STAGE} (${joined.join(', ')})`));
  const issues: RowIssue[] = [];
  await refuseRepeatedKeys(tx, type, keys, issues);
  // How many staged rows the lookups matched (for individuals: people already registered).
  const [resolved] = plan.resolve ? await queryRows<{ n: string }>(tx.db, sql.raw(`WITH r AS (${plan.resolve} RETURNING 1) SELECT count(*) AS n FROM r`)) : [];
  const found: RowIssue[] = [];
  for (const query of plan.rejects(present)) found.push(...(await queryRows<RowIssue>(tx.db, query)));
  await refuse(tx, found, issues);
  let flagged = 0;
  // A batch of people none of whom is registered yet holds no identifier conflict: not looked for (planned on a
  // staging table analysed before the lookups, the search joined the whole registry).
  if (type === 'individuals' && Number(resolved?.n ?? 0) > 0) {
    const held = await holdIdentifierConflicts(tx.db, STAGE);
    flagged += held.filter((h) => h.candidate_id !== null).length;
    await refuse(
      tx,
      held.map((h) => ({
        line: h.line,
        column: 'identifier_value',
        reason: `this identifier belongs to individual ${h.individual_id}, whose name or birth year differ: held for review as a duplicate candidate (dismiss it to apply the row)`,
      })),
      issues,
    );
  }
  const result = await plan.merge(tx, present);
  if (type === 'individuals' && !flagLater) flagged += await flagProbableDuplicates(tx.db, stagedIndividuals);
  return { ...result, flagged, issues: [...issues, ...result.issues] };
}
